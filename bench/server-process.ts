// The service as operators run it, `agent-learning serve` in a process of its own, so that what
// it holds in memory can be read from /proc without the bench's own heap mixed in.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { loadConfig } from "../src/config.js";
import { connectBenchClients } from "./service.js";

/** The CLI of the same build as this bench (dist/bench → dist/src/cli). */
const CLI = path.resolve(import.meta.dirname, "../src/cli/main.js");
const ROOT = path.resolve(import.meta.dirname, "../..");
/** Output kept from the child: its first lines say most about what went wrong. */
const OUTPUT_KEEP = 16 * 1024;

/** How to start the child. */
export interface ServerProcessOptions {
  /** PostgreSQL the service uses (its DATABASE_URL). */
  databaseUrl: string;
  /** How long the start may take to reach SERVING. */
  readyTimeoutMs?: number;
}

/** A service running in a child process. */
export interface ServerProcess {
  /** Base URL on loopback, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  readonly pid: number;
  /** Why the child ended ("exited with code 0", "exited with SIGKILL"); undefined while it runs. */
  exitReason(): string | undefined;
  /** Lines the child printed: with LOG_LEVEL=warn only warnings and errors, so any is worth reading. */
  logLines(): number;
  /** The first of those lines (up to 16 KiB). */
  output(): string;
  /** Graceful stop (SIGTERM: the service drains), SIGKILL after `graceMs`; resolves with exitReason. */
  stop(graceMs?: number): Promise<string>;
}

/**
 * Every environment variable the service's config reads, found by letting loadConfig read an
 * empty environment, so the list cannot drift from src/config.ts. None may leak from the shell
 * that runs the bench: the child must run with the service's defaults, as the other sections do.
 */
function serviceVariables(): string[] {
  const read = new Set<string>();
  const probe = new Proxy<NodeJS.ProcessEnv>({}, {
    get(_target, name) {
      if (typeof name === "string") read.add(name);
      return undefined;
    },
  });
  loadConfig(probe, {});
  return [...read];
}

/** A TCP port free on the loopback interface right now (the child binds it a moment later). */
async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no free loopback port");
  return address.port;
}

/**
 * Starts `node dist/src/cli/main.js serve` on a free loopback port with DATABASE_URL and
 * LOG_LEVEL=warn, and resolves once grpc.health.v1 reports SERVING. The child is killed should
 * the bench exit first, so an interrupted run leaves no server behind.
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [...serviceVariables(), "BENCH_DATABASE_URL"]) delete env[name];
  for (const name of Object.keys(env)) if (name.startsWith("AGENT_LEARNING_")) delete env[name];
  Object.assign(env, { HOST: "127.0.0.1", PORT: String(port), DATABASE_URL: options.databaseUrl, LOG_LEVEL: "warn" });

  const child = spawn(process.execPath, [CLI, "serve"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${CLI}`);
  const orphanGuard = () => child.kill("SIGKILL");
  process.once("exit", orphanGuard);

  let output = "";
  let lines = 0;
  const keep = (chunk: string) => {
    lines += chunk.split("\n").length - 1;
    if (output.length < OUTPUT_KEEP) output = (output + chunk).slice(0, OUTPUT_KEEP);
  };
  child.stdout.setEncoding("utf8").on("data", keep);
  child.stderr.setEncoding("utf8").on("data", keep);
  let exitReason: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => {
      process.off("exit", orphanGuard);
      exitReason = `exited with ${signal ?? `code ${code}`}`;
      resolve(exitReason);
    });
  });

  try {
    await waitServing(url, options.readyTimeoutMs ?? 30_000, () => exitReason);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${output.slice(0, 4_000)}`);
  }
  return {
    url,
    pid,
    exitReason: () => exitReason,
    logLines: () => lines,
    output: () => output,
    async stop(graceMs = 15_000) {
      if (exitReason !== undefined) return exitReason;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const reason = await exited;
      clearTimeout(timer);
      return reason;
    },
  };
}

/** Polls health Check until SERVING; fails at once if the child exits first. */
async function waitServing(url: string, timeoutMs: number, exitReason: () => string | undefined): Promise<void> {
  const clients = connectBenchClients(url);
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  try {
    for (;;) {
      const reason = exitReason();
      if (reason !== undefined) throw new Error(`agent-learning serve ${reason} before it was SERVING`);
      try {
        const { status } = await clients.health.check({ service: "" }, { timeoutMs: 1_000 });
        if (status === ServingStatus.SERVING) return;
        last = `health ${ServingStatus[status]}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > deadline) throw new Error(`agent-learning serve was not SERVING within ${timeoutMs} ms (${last})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    clients.close();
  }
}
