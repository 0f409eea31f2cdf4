import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { createPool, sql } from "slonik";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createDatabase } from "../../src/store/create-database.js";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../src/store/embedded-postgres.js";

// Real initdb and postmaster processes: every test gets its own directory and port.
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freshDir(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), "agent-learning-pg-test-"));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  return path.join(root, "data");
}

/** The file's one initialised (and cleanly stopped) cluster, made by the first test that needs it. */
let initialised: Promise<{ root: string; dataDir: string }> | undefined;
afterAll(async () => {
  if (initialised) await rm((await initialised).root, { recursive: true, force: true });
});

/**
 * A fresh directory holding a copy of a cluster initialised once for this file, for tests of what
 * happens to an initialised directory (restarts, crashes, leftovers): initdb is the slowest step
 * of a start, and the tests of initialisation itself (the first three) still run it each.
 */
async function initialisedDir(): Promise<string> {
  initialised ??= (async () => {
    const root = await mkdtemp(path.join(tmpdir(), "agent-learning-pg-template-"));
    const dataDir = path.join(root, "data");
    await (await startEmbeddedPostgres({ dataDir, port: 0, log: () => {} })).stop();
    return { root, dataDir };
  })();
  const dataDir = await freshDir();
  // cp -a keeps the owner (the postgres user) and the modes PostgreSQL insists on.
  await promisify(execFile)("cp", ["-a", (await initialised).dataDir, dataDir]);
  return dataDir;
}

async function start(dataDir: string, port = 0): Promise<EmbeddedPostgres> {
  const server = await startEmbeddedPostgres({ dataDir, port, log: () => {} });
  cleanups.push(() => server.stop());
  return server;
}

async function query<T>(url: string, run: (pool: Awaited<ReturnType<typeof createPool>>) => Promise<T>): Promise<T> {
  const pool = await createPool(url, { maximumPoolSize: 1 });
  try {
    return await run(pool);
  } finally {
    await pool.end();
  }
}

async function postmasterPid(dataDir: string): Promise<number> {
  return Number((await readFile(path.join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
}

/** Gone, or a zombie waiting for pid 1 to reap it: either way no longer serving. */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 15_000; !(await condition()); await sleep(25)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
  }
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

describe("startEmbeddedPostgres", () => {
  it("initialises an empty directory and answers select 1", async () => {
    const dataDir = await freshDir();
    const server = await start(dataDir);
    expect(await query(server.url, (pool) => pool.oneFirst(sql.unsafe`select 1`))).toBe(1);
    expect((await readFile(path.join(dataDir, "PG_VERSION"), "utf8")).trim()).toBe("17");
  });

  it("connects as superuser postgres over 127.0.0.1 with a random password kept in a 0600 file", async () => {
    const dataDir = await freshDir();
    const server = await start(dataDir);
    const url = new URL(server.url);
    const passwordFile = path.join(dataDir, "superuser.password");
    expect(url.hostname).toBe("127.0.0.1");
    expect(url.username).toBe("postgres");
    expect(url.pathname).toBe("/postgres");
    expect(decodeURIComponent(url.password)).toBe((await readFile(passwordFile, "utf8")).trim());
    expect(url.password.length).toBeGreaterThanOrEqual(32);
    expect((await stat(passwordFile)).mode & 0o777).toBe(0o600);
  });

  it("keeps the data and the password across a clean stop and a new start", async () => {
    const dataDir = await freshDir();
    const first = await start(dataDir);
    await query(first.url, async (pool) => {
      await pool.query(sql.unsafe`create table kept (v text)`);
      await pool.query(sql.unsafe`insert into kept values ('x')`);
    });
    await first.stop();
    const second = await start(dataDir, portOf(first.url));
    expect(second.url).toBe(first.url);
    expect(await query(second.url, (pool) => pool.oneFirst(sql.unsafe`select v from kept`))).toBe("x");
  });

  it("recovers committed data after the postmaster was killed with SIGKILL", async () => {
    const dataDir = await initialisedDir();
    const first = await start(dataDir);
    await query(first.url, async (pool) => {
      await pool.query(sql.unsafe`create table kept (v int)`);
      await pool.query(sql.unsafe`insert into kept values (42)`);
    });
    process.kill(await postmasterPid(dataDir), "SIGKILL");
    await first.stop(); // returns once the dead postmaster is reaped instead of waiting forever
    const second = await start(dataDir);
    expect(await query(second.url, (pool) => pool.oneFirst(sql.unsafe`select v from kept`))).toBe(42);
  });

  it("starts although postmaster.pid names a live process of the postgres user that is not PostgreSQL", async () => {
    const dataDir = await initialisedDir();
    const first = await start(dataDir);
    await first.stop();
    // A killed postmaster's pid reused by another process of the same user: PostgreSQL alone refuses.
    const owner = await stat(dataDir);
    const impostor = spawn("sleep", ["60"], { uid: owner.uid, gid: owner.gid, stdio: "ignore" });
    cleanups.push(async () => void impostor.kill());
    const lockFile = path.join(dataDir, "postmaster.pid");
    await writeFile(lockFile, `${impostor.pid}\n${dataDir}\n0\n${portOf(first.url)}\n\n127.0.0.1\n  0  0\nready\n`);
    const second = await start(dataDir);
    expect(await query(second.url, (pool) => pool.oneFirst(sql.unsafe`select 1`))).toBe(1);
  });

  it("shuts down a postmaster orphaned by a killed parent and starts on its directory", async () => {
    const dataDir = await initialisedDir();
    const first = await start(dataDir);
    const port = portOf(first.url);
    await query(first.url, async (pool) => {
      await pool.query(sql.unsafe`create table kept (v int)`);
      await pool.query(sql.unsafe`insert into kept values (7)`);
    });
    await first.stop();
    // What a SIGKILLed service leaves: a postmaster whose parent is gone (reparented to pid 1).
    const binaries = createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
    const postgres = path.resolve(path.dirname(binaries), "..", "native", "bin", "postgres");
    const owner = await stat(dataDir);
    const flags = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=`;
    const launcher = spawn("sh", ["-c", `"$0" -D "$1" ${flags} >/dev/null 2>&1 &`, postgres, dataDir], {
      uid: owner.uid,
      gid: owner.gid,
      stdio: "ignore",
    });
    await new Promise((resolve) => launcher.once("exit", resolve));
    await until(
      () =>
        query(first.url, (pool) => pool.oneFirst(sql.unsafe`select 1`)).then(
          () => true,
          () => false,
        ),
      "the orphan serves",
    );
    const orphan = await postmasterPid(dataDir);
    const second = await start(dataDir, port);
    expect(await isRunning(orphan)).toBe(false);
    expect(await query(second.url, (pool) => pool.oneFirst(sql.unsafe`select v from kept`))).toBe(7);
  });

  it("refuses a directory whose server is still running under a live parent", async () => {
    const dataDir = await initialisedDir();
    const running = await start(dataDir);
    await expect(start(dataDir)).rejects.toThrow(/is in use by the running PostgreSQL pid \d+/);
    expect(await query(running.url, (pool) => pool.oneFirst(sql.unsafe`select 1`))).toBe(1);
  });

  it("rejects a taken port with a message naming the port and the settings to change", async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen({ port: 0, host: "127.0.0.1" }, resolve));
    cleanups.push(() => new Promise((resolve) => holder.close(() => resolve())));
    const address = holder.address();
    if (typeof address !== "object" || address === null) throw new Error("holder has no port");
    await expect(start(await freshDir(), address.port)).rejects.toThrow(
      `embedded PostgreSQL could not start: port ${address.port} is already in use (set EMBEDDED_PG_PORT or DATABASE_URL)`,
    );
  });

  it("stops idempotently and frees the port", async () => {
    const server = await start(await initialisedDir());
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.listen({ port: portOf(server.url), host: "127.0.0.1" }, resolve);
    });
    await new Promise((resolve) => probe.close(resolve));
  });
});

describe("createDatabase", () => {
  it("creates the database once and returns its URL on every call", async () => {
    const server = await start(await initialisedDir());
    const urls = await Promise.all([createDatabase(server.url, "agent_learning"), createDatabase(server.url, "agent_learning")]);
    const again = await createDatabase(server.url, "agent_learning");
    expect(new Set([...urls, again]).size).toBe(1);
    expect(new URL(again).pathname).toBe("/agent_learning");
    expect(await query(again, (pool) => pool.oneFirst(sql.unsafe`select current_database()`))).toBe("agent_learning");
    const count = await query(server.url, (pool) =>
      pool.oneFirst(sql.unsafe`select count(*)::int from pg_database where datname = 'agent_learning'`),
    );
    expect(count).toBe(1);
  });
});
