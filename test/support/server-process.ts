// The service as operators run it: `node dist/src/cli/main.js serve` in a child process of its
// own, so a test can kill it outright (SIGKILL: no shutdown code runs) and start it again on the
// same port and database, the way a crashed replica is restarted by its supervisor; and so the
// bench's soak can read its memory from /proc without the bench's own heap mixed in.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { loadConfig } from "../../src/config.js";

/** The project root, the nearest folder up with a package.json: run from test/support (vitest) or dist/test/support (the bench). */
function projectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

const ROOT = projectRoot(import.meta.dirname);
const CLI = path.join(ROOT, "dist/src/cli/main.js");

/**
 * Settings of the service that must not leak from the caller's environment into the child: every
 * variable loadConfig reads (found by letting it read an empty environment, so the list cannot
 * drift from src/config.ts), and the CLI's own AGENT_LEARNING_* ones.
 */
function leakingVariables(env: NodeJS.ProcessEnv): string[] {
  const read = new Set<string>();
  const probe = new Proxy<NodeJS.ProcessEnv>(
    {},
    {
      get(_target, name) {
        if (typeof name === "string") read.add(name);
        return undefined;
      },
    },
  );
  loadConfig(probe, {});
  return [...read, ...Object.keys(env).filter((name) => name.startsWith("AGENT_LEARNING_"))];
}

/** A TCP port that is free on the loopback interface right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** How to run the child. */
export interface ServerProcessOptions {
  /** PostgreSQL the service uses (DATABASE_URL). */
  databaseUrl: string;
  /** Port (PORT); a free one when absent. It stays the same across restarts. */
  port?: number;
  /** LOG_LEVEL; "warn" by default, so the output kept for failure messages is the interesting part. */
  logLevel?: string;
  /** Further environment, e.g. { RETRAIN_EVERY_EXECUTIONS: "1000000" }. */
  env?: Record<string, string>;
  /** How long a start may take to reach SERVING. */
  readyTimeoutMs?: number;
}

/** A service running in a child process. */
export interface ServerProcess {
  /** Base URL, e.g. http://127.0.0.1:41234; the same after a restart. */
  readonly url: string;
  readonly port: number;
  /** Pid of the current child; undefined while none runs. */
  readonly pid: number | undefined;
  /** How many times the service was started (1 after the first start). */
  readonly starts: number;
  /** SIGKILL: no shutdown code runs, in-flight calls die with their connections. Resolves once it is gone. */
  kill(): Promise<void>;
  /** Starts the service again (after kill), resolving once health reports SERVING. */
  restart(): Promise<void>;
  /**
   * Graceful stop (SIGTERM), SIGKILL after `graceMs`; safe to call when already stopped. Resolves
   * with how the child ended, e.g. "exited with code 0".
   */
  stop(graceMs?: number): Promise<string | undefined>;
  /** How the last child ended ("exited with code 0", "exited with SIGKILL"); undefined while it runs. */
  exitReason(): string | undefined;
  /** Lines the children printed (with LOG_LEVEL=warn only warnings and errors, each worth reading). */
  logLines(): number;
  /** The newest output of the child(ren), for failure messages. */
  output(): string;
}

const OUTPUT_KEEP = 64 * 1024;

/** Starts `agent-learning serve` in a child process and resolves once health reports SERVING. */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let starts = 0;
  let output = "";
  let lines = 0;
  let lastExit: string | undefined;
  const keep = (chunk: string) => {
    output = (output + chunk).slice(-OUTPUT_KEEP);
  };
  const print = (chunk: string) => {
    lines += chunk.split("\n").length - 1;
    keep(chunk);
  };

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of leakingVariables(env)) delete env[name];
  // Models it trains go to a temporary directory, never the repository's models/.
  const modelsDir = mkdtempSync(path.join(tmpdir(), "agent-learning-test-models-"));
  process.once("exit", () => rmSync(modelsDir, { recursive: true, force: true }));
  Object.assign(env, {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: options.databaseUrl,
    LOG_LEVEL: options.logLevel ?? "warn",
    MODELS_DIR: modelsDir,
    ...options.env,
  });

  const start = async () => {
    starts++;
    keep(`\n--- start ${starts} ---\n`);
    const current = spawn(process.execPath, [CLI, "serve"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    child = current;
    // Should the test process die first, the server must not outlive it.
    const orphanGuard = () => current.kill("SIGKILL");
    process.once("exit", orphanGuard);
    current.stdout?.setEncoding("utf8").on("data", print);
    current.stderr?.setEncoding("utf8").on("data", print);
    let exitReason: string | undefined;
    lastExit = undefined;
    exited = new Promise((resolve) => {
      current.once("exit", (code, signal) => {
        process.off("exit", orphanGuard);
        exitReason = `exited with ${signal ?? `code ${code}`}`;
        lastExit = exitReason;
        keep(`\n--- ${exitReason} ---\n`);
        if (child === current) child = undefined;
        resolve();
      });
    });
    await waitServing(url, readyTimeoutMs, () => exitReason).catch((error: unknown) => {
      current.kill("SIGKILL");
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${output.slice(-4_000)}`);
    });
  };

  const kill = async () => {
    child?.kill("SIGKILL");
    await exited;
  };

  await start();
  return {
    url,
    port,
    get pid() {
      return child?.pid;
    },
    get starts() {
      return starts;
    },
    kill,
    async restart() {
      await kill();
      await start();
    },
    async stop(graceMs = 10_000) {
      const current = child;
      if (!current) return lastExit;
      current.kill("SIGTERM");
      const timer = setTimeout(() => current.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      return lastExit;
    },
    exitReason: () => lastExit,
    logLines: () => lines,
    output: () => output,
  };
}

/** Polls grpc.health.v1 Check until SERVING; fails early if the child exits. */
async function waitServing(url: string, timeoutMs: number, exitReason: () => string | undefined): Promise<void> {
  const health = createClient(Health, createGrpcTransport({ baseUrl: url }));
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  for (;;) {
    const reason = exitReason();
    if (reason !== undefined) throw new Error(`agent-learning serve ${reason} before it was SERVING`);
    try {
      const { status } = await health.check({ service: "" }, { timeoutMs: 1_000 });
      if (status === ServingStatus.SERVING) return;
      last = `health ${ServingStatus[status]}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) throw new Error(`agent-learning serve was not SERVING within ${timeoutMs} ms (${last})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
