// Runs a command against a fresh agent-learning service: an embedded PostgreSQL in a temporary
// data directory, both on free ports, torn down afterwards. CI uses it to run the examples against
// a real server; a developer can use it the same way (`npm run with-server -- <command> [args]`).
// The command gets AGENT_LEARNING_ADDRESS; its exit status becomes this script's.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../src/config.js";
import { startService } from "../src/main.js";

/** Starts the service, runs the command, stops the service; returns the command's exit code. */
async function withServer(command: string, args: readonly string[]): Promise<number> {
  const root = await mkdtemp(path.join(tmpdir(), "agent-learning-example-"));
  try {
    const config = loadConfig(process.env, {
      host: "127.0.0.1",
      port: 0,
      embeddedPort: 0,
      embeddedDataDir: path.join(root, "pg"),
      logLevel: process.env.LOG_LEVEL === undefined ? "warn" : undefined,
    });
    // A DATABASE_URL in the caller's environment would send the example's writes elsewhere.
    if (config.databaseUrl) throw new Error("unset DATABASE_URL: this script always uses a fresh embedded PostgreSQL");
    const service = await startService(config);
    process.stderr.write(`[with-server] agent-learning serving at ${service.url} (data in ${root})\n`);
    try {
      return await run(command, args, { ...process.env, AGENT_LEARNING_ADDRESS: service.url });
    } finally {
      await service.stop();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: "inherit", env });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

const [command, ...args] = process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === "--"));
if (command === undefined) {
  process.stderr.write("usage: with-server <command> [args...]\n");
  process.exit(2);
}
withServer(command, args).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[with-server] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
