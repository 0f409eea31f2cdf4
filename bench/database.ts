import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { createDatabase } from "../src/store/create-database.js";
import { startEmbeddedPostgres } from "../src/store/embedded-postgres.js";

/** Where the bench's databases live, and a fresh one per measurement on demand. */
export interface BenchPostgres {
  /** Which PostgreSQL: the variable that named it, or "embedded". */
  source: string;
  /** Creates an empty database for one measurement and returns its URL. */
  freshDatabase(label: string): Promise<string>;
  /** Drops a database made by freshDatabase (closing any connection left on it). */
  dropDatabase(url: string): Promise<void>;
  /** Settings that shape the figures (version, fsync, synchronous_commit, ...), for the report header. */
  describe(): Promise<Record<string, string>>;
  /** Drops what is left, stops the embedded server and removes its directory. */
  close(): Promise<void>;
}

/**
 * BENCH_DATABASE_URL (or DATABASE_URL) when set: a server on which the bench may create and drop
 * databases; otherwise an embedded PostgreSQL in a fresh temporary directory on a free port.
 */
export async function openBenchPostgres(env: NodeJS.ProcessEnv): Promise<BenchPostgres> {
  const configured = env.BENCH_DATABASE_URL ? "BENCH_DATABASE_URL" : env.DATABASE_URL ? "DATABASE_URL" : undefined;
  if (configured) return benchPostgres(configured, env[configured] as string, async () => {});
  const dir = await mkdtemp(path.join(tmpdir(), "agent-learning-bench-"));
  try {
    const embedded = await startEmbeddedPostgres({ dataDir: path.join(dir, "pg"), port: 0, log: () => {} });
    return benchPostgres("embedded", embedded.url, async () => {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Runs `work` on a connection of its own to `databaseUrl`, closed afterwards whatever happens. */
export async function withClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function benchPostgres(source: string, adminUrl: string, stop: () => Promise<void>): BenchPostgres {
  const created = new Set<string>();
  const withAdmin = <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => withClient(adminUrl, work);
  const dropDatabase = async (url: string) => {
    const name = decodeURIComponent(new URL(url).pathname.slice(1));
    await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
    created.delete(url);
  };
  return {
    source,
    async freshDatabase(label) {
      const url = await createDatabase(adminUrl, `bench_${label}_${process.pid}_${randomBytes(4).toString("hex")}`);
      created.add(url);
      return url;
    },
    dropDatabase,
    describe: () =>
      withAdmin(async (c) => {
        const settings = ["server_version", "fsync", "synchronous_commit", "wal_level", "shared_buffers", "max_connections"];
        const { rows } = await c.query<{ name: string; setting: string }>(
          "SELECT name, current_setting(name) AS setting FROM unnest($1::text[]) AS s(name)",
          [settings],
        );
        return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
      }),
    async close() {
      try {
        for (const url of [...created]) await dropDatabase(url);
      } finally {
        await stop();
      }
    },
  };
}
