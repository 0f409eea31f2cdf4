import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../src/store/embedded-postgres.js";
import { createTemplateDatabase, dropDatabase } from "./database-template.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the run's one PostgreSQL; test files create their own databases on it. */
    pgAdminUrl: string;
    /** A database on it holding every migration, which test files clone instead of migrating. */
    pgTemplate: string;
    /** Unique to this run: names what the run's files share outside PostgreSQL (the one build). */
    runId: string;
  }
}

/** A PostgreSQL for the whole test run and the way to get rid of it. */
interface TestPostgres {
  url: string;
  stop(): Promise<void>;
}

/** What the run's integration projects share: one PostgreSQL with its template, one run id. */
interface RunResources {
  runId: string;
  adminUrl: string;
  template: string;
  /** Projects still using them; the last one to finish releases them. */
  users: number;
  release(): Promise<void>;
}

/**
 * The run's resources, kept on globalThis: every project that lists this global setup (the
 * parallel and the serial integration projects) calls it, in one process, and they must share
 * one PostgreSQL and one build, not start one each.
 */
const SHARED = Symbol.for("agent-learning.test-run");
type WithShared = typeof globalThis & { [SHARED]?: Promise<RunResources> };

/**
 * Starts ONE PostgreSQL for the whole run, so no test file pays for a server of its own:
 * TEST_DATABASE_URL when given, else a postgres:17 container, else (CI, no container runtime)
 * the embedded PostgreSQL in a fresh temporary directory. On it, one migrated template database.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const holder = globalThis as WithShared;
  holder[SHARED] ??= startRunResources();
  const resources = await holder[SHARED];
  resources.users += 1;
  project.provide("pgAdminUrl", resources.adminUrl);
  project.provide("pgTemplate", resources.template);
  project.provide("runId", resources.runId);
  return async () => {
    resources.users -= 1;
    if (resources.users === 0) {
      delete holder[SHARED];
      await resources.release();
    }
  };
}

async function startRunResources(): Promise<RunResources> {
  const runId = randomBytes(6).toString("hex");
  // A service a test starts some other way (`agent-learning serve` with this environment) writes
  // its models here, never to the repository's models/; the test workers inherit the variable.
  const modelsDir = await mkdtemp(path.join(tmpdir(), "agent-learning-test-models-"));
  process.env.MODELS_DIR = modelsDir;
  const postgres = await startTestPostgres();
  try {
    const template = await createTemplateDatabase(postgres.url, `template_${runId}`);
    return {
      runId,
      adminUrl: postgres.url,
      template,
      users: 0,
      async release() {
        await rm(path.join(tmpdir(), `agent-learning-build-${runId}`), { recursive: true, force: true });
        // A shared server (TEST_DATABASE_URL) outlives the run: leave no template behind on it.
        await dropDatabase(postgres.url, template).finally(() => postgres.stop());
        await rm(modelsDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await postgres.stop();
    await rm(modelsDir, { recursive: true, force: true });
    throw error;
  }
}

async function startTestPostgres(): Promise<TestPostgres> {
  const configured = process.env.TEST_DATABASE_URL;
  if (configured) {
    note("using TEST_DATABASE_URL");
    return { url: configured, stop: async () => {} };
  }
  return (await startContainer()) ?? (await startEmbedded());
}

/** A postgres:17 container, or undefined when no container runtime is usable here. */
async function startContainer(): Promise<TestPostgres | undefined> {
  try {
    // Imported here: it is heavy, and the embedded path must not depend on it loading at all.
    const { GenericContainer, Wait } = await import("testcontainers");
    const password = randomBytes(16).toString("hex");
    const container = await new GenericContainer("postgres:17")
      .withEnvironment({ POSTGRES_PASSWORD: password })
      .withCommand(["postgres", "-c", "fsync=off", "-c", "max_connections=200"])
      .withTmpFs({ "/var/lib/postgresql/data": "rw" })
      .withExposedPorts(5432)
      // The image's entrypoint starts a temporary server first; the second "ready" is the real one.
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    const url = `postgres://postgres:${password}@${container.getHost()}:${container.getMappedPort(5432)}/postgres`;
    note("using a postgres:17 container");
    return { url, stop: async () => void (await container.stop()) };
  } catch (error) {
    note(`no container (${error instanceof Error ? error.message : String(error)}); using embedded PostgreSQL`);
    return undefined;
  }
}

async function startEmbedded(): Promise<TestPostgres> {
  const root = await mkdtemp(path.join(tmpdir(), "agent-learning-test-pg-"));
  // PostgreSQL's chatter stays out of the test output unless asked for; failures carry its tail.
  const log = process.env.TEST_POSTGRES_LOG === "1" ? (message: string) => void process.stderr.write(`[postgres] ${message}\n`) : () => {};
  const started = performance.now();
  try {
    const server = await startEmbeddedPostgres({
      dataDir: path.join(root, "data"),
      port: 0,
      log,
    });
    await withoutFsync(server.url);
    note(`embedded PostgreSQL ready in ${Math.round(performance.now() - started)} ms`);
    return {
      url: server.url,
      stop: async () => {
        await server.stop();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/**
 * fsync off, as the container path runs it: the run's cluster is thrown away afterwards, and a
 * killed PostgreSQL process (what the crash tests do) loses nothing the OS already holds; only
 * the machine's own crash would, and then the run is lost anyway.
 */
async function withoutFsync(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("ALTER SYSTEM SET fsync = off");
    await client.query("SELECT pg_reload_conf()");
  } finally {
    await client.end();
  }
}

function note(message: string): void {
  process.stderr.write(`[test postgres] ${message}\n`);
}
