import { Worker } from "node:worker_threads";

/**
 * Starts a worker thread running the module `entry` (a URL relative to the caller), whether the
 * service runs compiled (.js) or from its TypeScript sources under the tests (.ts, through tsx).
 */
export function spawnWorker(entry: URL, workerData: Record<string, unknown>): Worker {
  if (entry.pathname.endsWith(".ts")) {
    return new Worker(new URL("./ts-worker-boot.mjs", import.meta.url), { workerData: { ...workerData, entry: entry.href } });
  }
  return new Worker(entry, { workerData });
}
