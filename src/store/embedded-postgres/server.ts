// Starting the postmaster on an initialised cluster, and stopping it.
import { captureLog, serverOptions, SUPERUSER } from "./cluster.js";
import { EmbeddedPostgresPortInUseError } from "./errors.js";
import type { ServerClass } from "./library.js";
import { isRunning, readPostmasterPid, SHUTDOWN_TIMEOUT_MS, signalIfAlive, waitUntilGone } from "./postmaster.js";

/** A running embedded PostgreSQL. */
export interface EmbeddedPostgres {
  /** Superuser connection URL to the `postgres` database on 127.0.0.1. */
  url: string;
  /** Shuts the server down cleanly (fast shutdown); safe to call more than once. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

/** Where and as whom to start the postmaster. */
export interface StartRequest {
  dataDir: string;
  port: number;
  password: string;
  log: (msg: string) => void;
}

/** Starts the postmaster on an initialised directory and turns its failures into errors that say why. */
export async function startServer(Server: ServerClass, request: StartRequest): Promise<EmbeddedPostgres> {
  const { dataDir, port, password, log } = request;
  const { logs, onLog } = captureLog(log);
  const server = new Server({ ...serverOptions(dataDir, port, password), onLog, onError: onLog });
  try {
    await withTimeout(server.start(), START_TIMEOUT_MS, () => `did not become ready within ${START_TIMEOUT_MS} ms`);
  } catch (error) {
    // Stops a postmaster that never became ready; the library's stop() never settles for one that
    // already exited, hence not awaited.
    void server.stop();
    // Another process may have taken the port since it was probed.
    if (/could not bind .*Address already in use/.test(logs.text())) throw new EmbeddedPostgresPortInUseError(port);
    const reason = error instanceof Error ? error.message : logs.tail();
    throw new Error(`embedded PostgreSQL could not start in ${dataDir}: ${reason}`, { cause: error });
  }
  const pid = await readPostmasterPid(dataDir);
  if (pid === undefined) throw new Error(`embedded PostgreSQL started but ${dataDir}/postmaster.pid is unreadable`);
  // Without the library's exit hooks, a service that exits without stop() would orphan the server.
  const stopOnExit = (): void => signalIfAlive(pid, "SIGINT", log);
  process.on("exit", stopOnExit);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off("exit", stopOnExit);
      if (!(await isRunning(pid))) return; // killed from outside: the library's stop() would wait forever
      void server.stop();
      await waitUntilGone(pid, SHUTDOWN_TIMEOUT_MS);
      log(`PostgreSQL pid ${pid} stopped`);
    })();
    return stopping;
  };
  const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  return { url, stop };
}

function withTimeout<T>(promise: Promise<T>, ms: number, reason: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(reason())), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
