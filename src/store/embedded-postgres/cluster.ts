// The cluster on disk: initdb with a random superuser password kept inside it, and the options
// every server of it runs with.
import { randomBytes } from "node:crypto";
import { chown, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { exists } from "./errors.js";
import type { ServerClass } from "./library.js";

/** The superuser initdb creates, as which the embedded server is reached. */
export const SUPERUSER = "postgres";
/** Written after initdb succeeds, so it also marks an initialisation that completed. */
const PASSWORD_FILE = "superuser.password";
const isRoot = process.getuid?.() === 0;

/** Whether `dataDir` holds a cluster; it then needs the password file written after initdb. */
export async function isInitialised(dataDir: string): Promise<boolean> {
  if (!(await exists(path.join(dataDir, "PG_VERSION")))) return false;
  if (await exists(path.join(dataDir, PASSWORD_FILE))) return true;
  throw new Error(
    `embedded PostgreSQL could not start: ${dataDir} holds a cluster without ${PASSWORD_FILE}; ` +
      "it was not created here or its initialisation was interrupted; remove the directory to start afresh",
  );
}

/** The superuser password kept in an initialised cluster. */
export async function readPassword(dataDir: string): Promise<string> {
  const password = (await readFile(path.join(dataDir, PASSWORD_FILE), "utf8")).trim();
  if (password === "") throw new Error(`embedded PostgreSQL could not start: ${dataDir}/${PASSWORD_FILE} is empty`);
  return password;
}

/** Runs initdb with a random superuser password, then keeps the password in a 0600 file inside the cluster. */
export async function initialise(dataDir: string, Server: ServerClass, log: (msg: string) => void): Promise<string> {
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

/** The options every instance shares: loopback TCP only, no Unix socket in /tmp to collide or go stale. */
export function serverOptions(dataDir: string, port: number, password: string) {
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

/** Output forwarded line by line, with the recent lines kept for error messages. */
export interface LogCapture {
  logs: { text(): string; tail(): string };
  onLog: (message: unknown) => void;
}

/** Forwards output line by line to `log` and keeps the recent lines for error messages. */
export function captureLog(log: (msg: string) => void): LogCapture {
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
