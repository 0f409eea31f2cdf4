import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { requireBuild } from "./build-once.js";

/** What one run of the command printed and how it exited. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(ROOT, "dist/src/cli/main.js");

/**
 * The compiled CLI, built once per run: call in beforeAll (with a timeout for a whole build,
 * e.g. 300 s) so that a test's own timeout never has to cover the build.
 */
export function requireCli(): Promise<void> {
  // Type errors elsewhere in the tree (others' work in progress) do not stop tsc emitting, so
  // only errors in the CLI's own files fail the caller.
  return requireBuild(/src\/cli\//);
}

/**
 * Runs `agent-learning` as users run it, the compiled dist/src/cli/main.js, in a child process,
 * for tests of the commands that work on the database directly (migrate, retention) or print what
 * a server answered. dist/ comes from the run's one build (`requireBuild`, shared by every file
 * that needs it, see `requireCli`); a start from the sources through tsx took several seconds a
 * command on a loaded machine, twice a start of the compiled command, and a file runs up to nine.
 * The environment is this process's minus the address, token and database settings, plus `env`.
 */
export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  await requireCli();
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      AGENT_LEARNING_ADDRESS: undefined,
      AGENT_LEARNING_TOKEN: undefined,
      DATABASE_URL: undefined,
      APP_DATABASE_URL: undefined,
      RETENTION_DAYS: undefined,
      RETENTION_MAX_ROWS: undefined,
      ...env,
    },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.end();
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}
