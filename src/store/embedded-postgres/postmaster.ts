// The postmaster as a process: its pid file, its state in /proc, signalling it and waiting for
// it to go, and clearing one left behind by an earlier run.
import { readFile, readlink, realpath, rm } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { errorCode, exists } from "./errors.js";

/** How long a postmaster gets for a fast shutdown before an immediate one. */
export const SHUTDOWN_TIMEOUT_MS = 30_000;

/**
 * A postmaster.pid outlives a killed postmaster. PostgreSQL ignores it when its pid is gone, but
 * refuses to start when the pid was reused by another process of the `postgres` user; and a
 * postmaster orphaned by a killed service keeps the directory and the port.
 */
export async function clearLeftoverPostmaster(dataDir: string, log: (msg: string) => void): Promise<void> {
  const lockFile = path.join(dataDir, "postmaster.pid");
  const pid = await readPostmasterPid(dataDir);
  if (pid === undefined || !isAlive(pid)) return; // gone: PostgreSQL discards the file itself
  if (!(await exists("/proc/self/stat"))) return; // no /proc to inspect: PostgreSQL's own check decides
  let cwd: string | undefined;
  try {
    cwd = await readlink(`/proc/${pid}/cwd`);
  } catch (error) {
    if (errorCode(error) === "EACCES") return; // not ours to inspect: PostgreSQL's own check decides
    // It exited, maybe into a zombie that PostgreSQL would still take for a live postmaster.
    if (errorCode(error) !== "ENOENT" && errorCode(error) !== "ESRCH") throw error;
  }
  // A postmaster works in its data directory; any other process merely reuses the pid.
  if (cwd !== (await realpath(dataDir))) {
    log(`removing stale postmaster.pid: pid ${pid} is not a running PostgreSQL serving ${dataDir}`);
    await rm(lockFile, { force: true });
    return;
  }
  const parent = (await processStatus(pid))?.parent;
  if (parent === undefined) return; // exited since
  if (parent !== 1) {
    throw new Error(
      `embedded PostgreSQL could not start: ${dataDir} is in use ` + `by the running PostgreSQL pid ${pid} (parent pid ${parent})`,
    );
  }
  log(`stopping PostgreSQL pid ${pid}, orphaned in ${dataDir} by an earlier run`);
  signalIfAlive(pid, "SIGINT", log);
  await waitUntilGone(pid, SHUTDOWN_TIMEOUT_MS);
}

/** The postmaster's pid from the first line of postmaster.pid, if the file exists and holds one. */
export async function readPostmasterPid(dataDir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dataDir, "postmaster.pid"), "utf8");
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
  const pid = Number.parseInt(text.split("\n")[0] ?? "", 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** State and parent pid from /proc/<pid>/stat (fields 3 and 4, after the parenthesised name). */
async function processStatus(pid: number): Promise<{ state: string; parent: number } | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch (error) {
    // ESRCH: it exited between opening and reading the file.
    if (errorCode(error) === "ENOENT" || errorCode(error) === "ESRCH") return undefined;
    throw error;
  }
  const [state = "", parent = ""] = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state, parent: Number.parseInt(parent, 10) };
}

/** Whether a process with that pid exists (ours or not). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return errorCode(error) === "EPERM";
  }
}

/**
 * Alive and not a zombie: an orphan that exited stays a zombie until pid 1 reaps it, which some
 * init processes do only every second or so.
 */
export async function isRunning(pid: number): Promise<boolean> {
  return isAlive(pid) && (await processStatus(pid))?.state !== "Z";
}

/** Sends `signal` to `pid`, logging any failure but its being gone already. */
export function signalIfAlive(pid: number, signal: NodeJS.Signals, log: (msg: string) => void): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if (errorCode(error) !== "ESRCH") log(`could not signal PostgreSQL pid ${pid}: ${String(error)}`);
  }
}

/** Waits for a process to disappear; a postmaster that ignores fast shutdown gets an immediate one. */
export async function waitUntilGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await isRunning(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGQUIT");
      await sleep(1_000);
      if (await isRunning(pid)) throw new Error(`PostgreSQL pid ${pid} did not exit within ${timeoutMs} ms`);
      return;
    }
    await sleep(20);
  }
}
