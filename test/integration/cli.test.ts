import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { create, fromJsonString, type JsonObject, type MessageInitShape, toJson, toJsonString } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Execution, ExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { loadConfig } from "../../src/config.js";
import { type RunningService, startService } from "../../src/main.js";
import { SERVICE_VERSION } from "../../src/version.js";
import { requireBuild } from "../support/build-once.js";
import { createTestDatabase, dropTestDatabase } from "../support/database.js";

// The CLI is tested as users run it: the compiled command in a child process, against a real
// server (in this process) on a real database.

const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(ROOT, "dist/src/cli/main.js");

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI without blocking this process, whose event loop serves the calls. */
async function runCli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, AGENT_LEARNING_ADDRESS: undefined, ...options.env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? "");
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

/** The proto JSON of an execution without recorded_at, which the server sets at commit. */
function contentOf(execution: Execution): JsonObject {
  const json = toJson(ExecutionSchema, execution) as JsonObject;
  delete json.recordedAt;
  return json;
}

function parseLines(jsonl: string): Execution[] {
  return jsonl
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => fromJsonString(ExecutionSchema, line));
}

/** An execution as the server stores it: names already normalised, so what comes back is equal. */
function execution(id: string, taskType: string, init: Exclude<MessageInitShape<typeof ExecutionSchema>, Execution> = {}): Execution {
  return create(ExecutionSchema, {
    executionId: id,
    taskType,
    complexity: 2.5,
    agents: ["ARCHITECT", "CODER"],
    durationSeconds: 42,
    success: true,
    ...init,
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("the agent-learning command", () => {
  let workDir: string;
  let databaseUrl: string;
  let service: RunningService;
  const databases: string[] = [];
  const services: RunningService[] = [];

  async function startFreshService(): Promise<RunningService> {
    const url = await createTestDatabase();
    databases.push(url);
    const started = await startService(loadConfig({}, { port: 0, databaseUrl: url, logLevel: "silent" }));
    services.push(started);
    return started;
  }

  async function record(target: RunningService, executions: Execution[]): Promise<void> {
    const learning = createClient(LearningService, createGrpcTransport({ baseUrl: target.url }));
    for (const e of executions) await learning.recordExecution({ execution: e });
  }

  beforeAll(async () => {
    // Errors elsewhere in the tree (others' work in progress) do not stop tsc emitting, so only
    // diagnostics in the CLI's own files fail this suite.
    await requireBuild(/src\/cli\//);
    workDir = await mkdtemp(path.join(tmpdir(), "agent-learning-cli-"));
    service = await startFreshService();
    databaseUrl = databases[0] ?? "";
  }, 180_000);

  afterAll(async () => {
    for (const s of services) await s.stop();
    for (const url of databases) await dropTestDatabase(url);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it("lists its commands in --help", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    for (const command of ["serve", "migrate", "status", "export", "import"]) {
      expect(run.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    }
  });

  it("prints the package version with --version", async () => {
    const run = await runCli(["--version"]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(SERVICE_VERSION);
  });

  it("reports an empty, ready database with status --json in the proto's JSON form", async () => {
    const run = await runCli(["status", "--json", "--address", service.url]);
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(status).toMatchObject({
      serviceVersion: SERVICE_VERSION,
      databaseReady: true,
      executionCount: "0",
      successRate: 0,
      learningMode: expect.stringMatching(/^LEARNING_MODE_[A-Z]+$/),
    });
    expect(Number(status.schemaVersion)).toBeGreaterThan(0);
    expect(status).not.toHaveProperty("lastRecordedAt");
  });

  it("prints a readable status summary without --json", async () => {
    const run = await runCli(["status", "--address", service.url]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`agent-learning ${SERVICE_VERSION} at ${service.url}`);
    expect(run.stdout).toMatch(/database\s+ready \(schema version \d+\)/);
  });

  it("says plainly that nothing is listening when the server is not running, and exits 1", async () => {
    const address = `http://127.0.0.1:${await freePort()}`;
    const run = await runCli(["status", "--address", address]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`error: cannot reach agent-learning at ${address}: is it running?`);
  });

  it("imports the good lines of a file, reports the unparseable line and the rejected execution by line number, and exits 1", async () => {
    const file = path.join(workDir, "mixed.jsonl");
    const lines = [
      toJsonString(ExecutionSchema, execution("mixed-1", "cli_mixed")),
      toJsonString(ExecutionSchema, execution("mixed-2", "cli_mixed")),
      "{ this is not json",
      toJsonString(ExecutionSchema, execution("mixed-3", "cli_mixed")),
      toJsonString(ExecutionSchema, execution("mixed-bad", "cli_mixed", { complexity: -1 })),
    ];
    await writeFile(file, `${lines.join("\n")}\n`);

    const run = await runCli(["import", file, "--json", "--address", service.url]);

    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as {
      stored: number;
      duplicates: number;
      sent: number;
      unparseable: unknown[];
      rejected: unknown[];
    };
    expect(report).toMatchObject({ stored: 3, duplicates: 0, sent: 4 });
    expect(report.unparseable).toEqual([{ line: 3, error: expect.any(String) }]);
    expect(report.rejected).toEqual([
      { line: 5, index: 3, executionId: "mixed-bad", code: "INVALID_ARGUMENT", field: "complexity", reason: expect.any(String) },
    ]);
    expect(run.stderr).toContain("2 lines of");
  });

  it("prints each problem of an import with its line number in the human report", async () => {
    const file = path.join(workDir, "human.jsonl");
    await writeFile(
      file,
      [
        toJsonString(ExecutionSchema, execution("human-1", "cli_human")),
        "",
        "[1, 2]",
        toJsonString(ExecutionSchema, execution("human-bad", "cli_human", { agents: [] })),
      ].join("\n"),
    );

    const run = await runCli(["import", file, "--address", service.url]);

    expect(run.code).toBe(1);
    expect(run.stdout).toContain("1 stored, 0 duplicates, 1 rejected, 1 unparseable line");
    expect(run.stdout).toMatch(/line 3: cannot parse: /);
    expect(run.stdout).toMatch(/line 4: rejected "human-bad" \(item 1, INVALID_ARGUMENT\) agents: /);
  });

  it("reports duplicates on a re-import and stores nothing twice", async () => {
    const file = path.join(workDir, "again.jsonl");
    const executions = ["again-1", "again-2", "again-3"].map((id) => execution(id, "cli_again"));
    await writeFile(file, executions.map((e) => toJsonString(ExecutionSchema, e)).join("\n"));

    const first = await runCli(["import", file, "--json", "--address", service.url]);
    const second = await runCli(["import", file, "--json", "--address", service.url]);

    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ stored: 3, duplicates: 0, rejected: [] });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ stored: 0, duplicates: 3, rejected: [] });
    const exported = await runCli(["export", "-", "--task-type", "cli_again", "--address", service.url]);
    expect(parseLines(exported.stdout).map((e) => e.executionId)).toEqual(["again-1", "again-2", "again-3"]);
  });

  it("imports JSON Lines read from stdin with -", async () => {
    const input = toJsonString(ExecutionSchema, execution("stdin-1", "cli_stdin"));
    const run = await runCli(["import", "-", "--address", service.url], { input });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("imported stdin: 1 stored");
  });

  it("exports to stdout JSON Lines that parse back to the recorded executions", async () => {
    const recorded = [
      execution("stdout-1", "cli_stdout", { success: false, errorMessage: "timed out" }),
      execution("stdout-2", "cli_stdout", {
        userSatisfaction: 7,
        resourceUsage: { cpuPercent: 120, memoryMb: 512, metrics: { tokens_in: 1200 } },
      }),
    ];
    await record(service, recorded);

    const run = await runCli(["export", "-", "--task-type", "cli_stdout", "--address", service.url]);

    expect(run.code).toBe(0);
    const exported = parseLines(run.stdout);
    expect(exported.map(contentOf)).toEqual(recorded.map(contentOf));
    expect(exported.every((e) => e.recordedAt !== undefined)).toBe(true);
    expect(run.stderr).toContain("exported 2 executions to stdout");
  });

  it("exports to a file that, imported into another database, reproduces the same executions", async () => {
    const startedAt = new Date("2025-03-01T10:00:00.123456Z");
    const recorded = [
      execution("trip-1", "cli_trip", {
        taskDescription: "build the landing page",
        startedAt: timestampFromDate(startedAt),
        finishedAt: timestampFromDate(new Date(startedAt.getTime() + 42_000)),
        recommendationId: "rec-1",
        modelVersion: "m-1",
      }),
      execution("trip-2", "cli_trip", { agents: ["TESTER"], resourceUsage: { cpuPercent: 5, memoryMb: 64, metrics: { cost_usd: 0.03 } } }),
      execution("trip-3", "cli_trip", { success: false, userSatisfaction: 2, errorMessage: "flaky test" }),
    ];
    await record(service, recorded);
    const file = path.join(workDir, "trip.jsonl");

    const exported = await runCli(["export", file, "--task-type", "cli_trip", "--json", "--address", service.url]);
    const other = await startFreshService();
    const imported = await runCli(["import", file, "--json", "--address", other.url]);
    const reExported = await runCli(["export", "-", "--address", other.url]);

    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toEqual({ file, exported: 3, complete: true });
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ stored: 3, duplicates: 0, rejected: [], unparseable: [] });
    const original = parseLines(await readFile(file, "utf8"));
    expect(parseLines(reExported.stdout).map(contentOf)).toEqual(original.map(contentOf));
    expect(original.map(contentOf)).toEqual(recorded.map(contentOf));
  });

  it("prints an RPC error with its code name and exits 1", async () => {
    const run = await runCli(["export", "-", "--task-type", "Not A Task Type!", "--address", service.url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: INVALID_ARGUMENT: /);
    expect(run.stderr).toMatch(/^ {2}task_type: /m);
  });

  it("applies pending migrations with migrate and reports nothing to do the second time", async () => {
    const url = await createTestDatabase();
    databases.push(url);
    const env = { DATABASE_URL: url };

    const first = await runCli(["migrate", "--json"], { env });
    const second = await runCli(["migrate", "--json"], { env });

    expect(first.code).toBe(0);
    const applied = JSON.parse(first.stdout) as { applied: number[]; current: number };
    expect(applied.applied.length).toBeGreaterThan(0);
    expect(applied.current).toBe(applied.applied.at(-1));
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({ applied: [], current: applied.current });
  });

  it("serves until SIGTERM, then stops and exits 0", async () => {
    const child = spawn(process.execPath, [CLI, "serve", "--port", "0"], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: "info" },
    });
    const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    let log = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        log += chunk;
        const match = /"url":"(http:\/\/[^"]+)"[^\n]*serving/.exec(log);
        if (match?.[1]) resolve(match[1]);
      });
      void exited.then(() => reject(new Error(`serve exited before serving:\n${log}`)));
    });

    const status = await runCli(["status", "--json", "--address", url]);
    child.kill("SIGTERM");
    const [code] = await exited;

    expect(status.code).toBe(0);
    expect(code).toBe(0);
    expect(log).toContain('"msg":"stopped"');
  });

  it("fails to serve on a port already in use with a one-line message and exit code 1", async () => {
    const port = new URL(service.url).port;
    const run = await runCli(["serve", "--port", port], { env: { DATABASE_URL: databaseUrl, LOG_LEVEL: "silent" } });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: cannot start agent-learning: port ${port} on 127.0.0.1 is already in use\n`);
  });
});
