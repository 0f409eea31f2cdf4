import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { type DatabasePool, sql } from "slonik";
import { z } from "zod";

/** Key of the advisory lock that serialises migrations across replicas starting together. */
const MIGRATION_LOCK_KEY = 7_461_239_001;

/** The numbered SQL files shipped with the service, oldest first. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

const migrationsDir = fileURLToPath(new URL("./migrations/", import.meta.url));

/** Reads the migration files (`NNN_name.sql`) that ship beside this module. */
export async function loadMigrations(dir: string = migrationsDir): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(`${dir}/${file}`, "utf8");
      return {
        version: Number(file.slice(0, 3)),
        name: file.slice(4, -4),
        sql: text,
        checksum: createHash("sha256").update(text).digest("hex"),
      };
    }),
  );
}

const AppliedRow = z.object({ version: z.number().int(), name: z.string(), checksum: z.string() });

/**
 * Applies every pending migration, each in its own transaction, under an advisory lock so that
 * replicas starting at once neither race nor fail. An applied migration whose file has since
 * changed is an error: the schema would silently differ between databases.
 *
 * Migration files hold several statements, which slonik deliberately refuses to send as one
 * query; they are trusted files shipped with the service, so they run on a plain `pg` client
 * through the simple query protocol. Everything else goes through slonik.
 */
export async function migrate(databaseUrl: string, migrations?: Migration[]): Promise<{ applied: number[]; current: number }> {
  const all = migrations ?? (await loadMigrations());
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "agent-learning-migrate" });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const rows = AppliedRow.array().parse((await client.query("SELECT version, name, checksum FROM schema_migrations")).rows);
    const byVersion = new Map(rows.map((row) => [row.version, row]));
    const done: number[] = [];
    for (const migration of all) {
      const previous = byVersion.get(migration.version);
      if (previous) {
        if (previous.checksum !== migration.checksum) {
          throw new Error(`migration ${migration.version}_${migration.name} was changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await client.query("BEGIN");
      try {
        await client.query(migration.sql);
        await client.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      done.push(migration.version);
    }
    return { applied: done, current: Math.max(0, ...all.map((m) => m.version)) };
  } finally {
    // Closing the session releases the advisory lock too, even if the unlock is never reached.
    await client.end();
  }
}

const VersionRow = z.object({ version: z.number().int().nullable() });

/** The newest applied migration, or 0 when none: health is SERVING only once it is current. */
export async function schemaVersion(pool: DatabasePool): Promise<number> {
  const row = await pool.maybeOne(sql.type(VersionRow)`
    SELECT max(version) AS version FROM schema_migrations`);
  return row?.version ?? 0;
}
