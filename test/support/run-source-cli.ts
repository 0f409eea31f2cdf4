import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";

/** What one run of the command printed and how it exited. */
export interface SourceCliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * Runs `agent-learning` from its TypeScript sources (through tsx) in a child process, so tests of
 * the commands that work on the database directly (migrate, retention) need no build of dist/.
 * The environment is this process's minus the database settings, plus `env`.
 */
export async function runSourceCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<SourceCliRun> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src/cli/main.ts"), ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
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
