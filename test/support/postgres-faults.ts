// Ways for a test to take its own embedded PostgreSQL away and bring it back, as outages happen:
// a crash (no shutdown, recovery from WAL on the next start) and a restart on the same port.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { type EmbeddedPostgres, EmbeddedPostgresPortInUseError, startEmbeddedPostgres } from "../../src/store/embedded-postgres.js";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a condition, up to a limit; tells whether it came (the scenario goes on either way, the tests judge). */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/** Immediate shutdown, as a crash: SIGQUIT to the postmaster, no checkpoint; the next start recovers from WAL. */
export async function crashPostgres(dataDir: string): Promise<void> {
  const pid = Number.parseInt((await readFile(path.join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0] ?? "", 10);
  process.kill(pid, "SIGQUIT");
  const running = async () => {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    return stat !== "" && stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  };
  if (!(await waitFor(async () => !(await running()), 10_000))) throw new Error(`PostgreSQL pid ${pid} did not exit after SIGQUIT`);
}

/** Starts the embedded PostgreSQL on its data directory and port again, waiting for a crashed one's port to be released. */
export async function restartPostgres(dataDir: string, port: number): Promise<EmbeddedPostgres> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await startEmbeddedPostgres({ dataDir, port, log: () => {} });
    } catch (error) {
      if (!(error instanceof EmbeddedPostgresPortInUseError) || Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}
