import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { loadConfig } from "../../src/config.js";
import { type RunningService, startService } from "../../src/main.js";
import { applicationUrl, DEFAULT_APP_ROLE } from "../../src/store/roles.js";
import { createTestDatabase, dropTestDatabase } from "../support/database.js";
import { makeExecution } from "../support/executions.js";
import { QUIET_MODELS } from "../support/model-fixtures.js";
import { requireCli, runCli } from "../support/run-cli.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordWorldHistory, world } from "../support/world-history.js";

// The compiled CLI, from the run's one build (a whole build may take minutes on a loaded machine).
beforeAll(requireCli, 300_000);

// Least privilege: migrations run as the owner (DATABASE_URL), the service's queries as an
// application role created with the SQL that `migrate --print-grants` prints. Roles belong to the
// whole PostgreSQL server, so this file's role has a name no other file (or run) uses.

const ROLE = `al_app_${process.pid}_${randomBytes(4).toString("hex")}`;
const PASSWORD = randomBytes(18).toString("hex");
const EXECUTIONS = 600;

/** Runs SQL text as psql would send a file: several statements in one simple query. */
async function runSql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** The SQLSTATE a statement failed with, or "ok". */
async function sqlStateOf(url: string, text: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
    return "ok";
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.end();
  }
}

async function queryRows(url: string, text: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

describe("the service with APP_DATABASE_URL set to a role made from --print-grants", () => {
  let ownerUrl: string;
  let appUrl: string;
  let script: string;
  let server: TestServer;

  beforeAll(async () => {
    ownerUrl = await createTestDatabase();
    const printed = await runCli(["migrate", "--print-grants", "--app-role", ROLE], { DATABASE_URL: ownerUrl });
    if (printed.code !== 0) throw new Error(`--print-grants failed: ${printed.stderr}`);
    script = printed.stdout;
    // Before the first migration, on purpose: the default privileges must cover the tables the
    // migrations create afterwards.
    await runSql(ownerUrl, script);
    await runSql(ownerUrl, `ALTER ROLE ${pg.escapeIdentifier(ROLE)} PASSWORD ${pg.escapeLiteral(PASSWORD)}`);
    appUrl = applicationUrl(ownerUrl, ROLE, PASSWORD);
    server = await startTestServer({ databaseUrl: ownerUrl, config: { ...QUIET_MODELS, appDatabaseUrl: appUrl } });
    await recordWorldHistory(server.learning, { taskTypes: world.taskTypes, count: EXECUTIONS, seed: 7_301 });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (ownerUrl) await dropTestDatabase(ownerUrl);
    // The database (and with it the role's grants there) is gone; the role itself is server-wide.
    await runSql(inject("pgAdminUrl"), `DROP ROLE IF EXISTS ${pg.escapeIdentifier(ROLE)}`);
  });

  it("prints a script that creates a login role, grants table rights and revokes CREATE on the schema", () => {
    expect(script).toMatch(new RegExp(`^CREATE ROLE "${ROLE}" WITH LOGIN NOSUPERUSER .* PASSWORD '[^']+';$`, "m"));
    expect(script).toContain(`GRANT CONNECT ON DATABASE`);
    expect(script).toContain(`GRANT USAGE ON SCHEMA public TO "${ROLE}";`);
    expect(script).toContain(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "${ROLE}";`);
    expect(script).toContain(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "${ROLE}";`);
    const owner = decodeURIComponent(new URL(ownerUrl).username);
    expect(script).toContain(
      `ALTER DEFAULT PRIVILEGES FOR ROLE "${owner}" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "${ROLE}";`,
    );
    expect(script).toContain("REVOKE CREATE ON SCHEMA public FROM PUBLIC;");
  });

  it("runs every one of its queries as the application role", async () => {
    await server.admin.getStatus({});
    const rows = await queryRows(
      ownerUrl,
      "SELECT DISTINCT usename::text AS usename FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'agent-learning%'",
    );
    expect(rows.map((r) => r.usename)).toEqual([ROLE]);
  });

  it("records, exports, analyses, predicts and reports status", async () => {
    const { execution } = await server.learning.recordExecution({ execution: makeExecution({ taskType: world.taskTypes[0] }) });
    expect(execution?.executionId).toBeTruthy();
    const status = await server.admin.getStatus({});
    expect(status.executionCount).toBe(BigInt(EXECUTIONS + 1));
    expect(status.databaseReady).toBe(true);
    let exported = 0;
    for await (const row of server.admin.exportData({})) if (row.execution) exported += 1;
    expect(exported).toBe(EXECUTIONS + 1);
    const analysis = await server.admin.analyze({});
    expect(analysis.executionCount).toBe(BigInt(EXECUTIONS + 1));
    const prediction = await server.learning.predictAgents({ taskType: world.taskTypes[0], complexity: 2, explorationRate: 0 });
    expect(prediction.recommendations.length).toBeGreaterThan(0);
  });

  it("retrains and stores model versions", async () => {
    const { models } = await server.admin.retrain({ force: true });
    expect(models.length).toBe(2);
  }, 60_000);

  it("lets the application role neither create, drop nor alter tables", async () => {
    expect(await sqlStateOf(appUrl, "CREATE TABLE intruder (id integer)")).toBe("42501");
    expect(await sqlStateOf(appUrl, "DROP TABLE executions")).toBe("42501");
    expect(await sqlStateOf(appUrl, "ALTER TABLE executions ADD COLUMN intruder integer")).toBe("42501");
    expect(await sqlStateOf(appUrl, "TRUNCATE executions")).toBe("42501");
    expect(await sqlStateOf(appUrl, "CREATE SCHEMA intruder")).toBe("42501");
  });

  it("gives the application role no superuser, role or database creation rights", async () => {
    const [role] = await queryRows(appUrl, "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user");
    expect(role).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false });
  });

  it("prints grants that run again cleanly once the tables exist (only CREATE ROLE needs skipping)", async () => {
    const grantsOnly = script
      .split("\n")
      .filter((line) => !line.startsWith("CREATE ROLE"))
      .join("\n");
    await expect(runSql(ownerUrl, grantsOnly)).resolves.toBeUndefined();
  });

  it("prints the grants without connecting anywhere", async () => {
    const run = await runCli(["migrate", "--print-grants"], { DATABASE_URL: "postgres://owner:secret@127.0.0.1:1/agent_db" });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`CREATE ROLE "${DEFAULT_APP_ROLE}"`);
    expect(run.stdout).toContain(`GRANT CONNECT ON DATABASE "agent_db" TO "${DEFAULT_APP_ROLE}";`);
    expect(run.stdout).toContain(`ALTER DEFAULT PRIVILEGES FOR ROLE "owner" IN SCHEMA public`);
  });
});

describe("the embedded default", () => {
  let dataDir: string;
  let service: RunningService | undefined;

  async function start(): Promise<RunningService> {
    return startService(loadConfig({}, { ...QUIET_MODELS, port: 0, embeddedDataDir: dataDir, embeddedPort: 0, logLevel: "silent" }));
  }

  beforeAll(async () => {
    dataDir = path.join(await mkdtemp(path.join(tmpdir(), "agent-learning-roles-")), "pg");
  });

  afterAll(async () => {
    await service?.stop();
    if (dataDir) await rm(path.dirname(dataDir), { recursive: true, force: true });
  });

  it(`runs the service as ${DEFAULT_APP_ROLE}, whose password is kept in a 0600 file, across restarts`, async () => {
    service = await start();
    const learning = createClient(LearningService, createGrpcTransport({ baseUrl: service.url }));
    await learning.recordExecution({ execution: makeExecution() });
    const file = await stat(path.join(dataDir, "app-role.password"));
    expect(file.mode & 0o777).toBe(0o600);
    const sessions = await queryRows(
      service.databaseUrl,
      "SELECT DISTINCT usename::text AS usename FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'agent-learning%'",
    );
    expect(sessions.map((r) => r.usename)).toEqual([DEFAULT_APP_ROLE]);
    const [role] = await queryRows(service.databaseUrl, "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = $1", [
      DEFAULT_APP_ROLE,
    ]);
    expect(role).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false });

    // A restart finds the role and its password file and serves again.
    await service.stop();
    service = await start();
    const again = createClient(LearningService, createGrpcTransport({ baseUrl: service.url }));
    await again.recordExecution({ execution: makeExecution() });
    const password = (await readFile(path.join(dataDir, "app-role.password"), "utf8")).trim();
    const appUrl = applicationUrl(service.databaseUrl, DEFAULT_APP_ROLE, password);
    expect(await sqlStateOf(appUrl, "CREATE TABLE intruder (id integer)")).toBe("42501");
    expect(await sqlStateOf(appUrl, "SELECT count(*) FROM executions")).toBe("ok");
  }, 120_000);
});
