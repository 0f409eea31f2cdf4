import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type DatabasePool, sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { isDatabaseUnavailable } from "../../src/service/errors.js";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../src/store/embedded-postgres.js";
import { createStorePool } from "../../src/store/pool.js";
import { crashPostgres, restartPostgres, sleep } from "../support/postgres-faults.js";
import { freePort } from "../support/server-process.js";

// The store's pool when PostgreSQL crashes while every connection is running a query: each
// caller gets an error that says the database is unavailable, the pool keeps no dead connection,
// callers arriving while it is down fail at once, and once PostgreSQL is back it serves again and
// can still be ended. slonik 47 alone wedges here twice: connections stuck PENDING_DESTROY fill
// the pool, and callers queued behind connection attempts that fail are never woken (see
// src/store/driver/). The file runs a PostgreSQL of its own, since it crashes it.

const POOL_SIZE = 4;

describe("when PostgreSQL crashes while every pool connection is mid-query", () => {
  let dataDir: string;
  let port: number;
  let postgres: EmbeddedPostgres | undefined;
  let pool: DatabasePool;
  let outcomes: unknown[];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "al-pool-lost-"));
    port = await freePort();
    postgres = await startEmbeddedPostgres({ dataDir, port, log: () => {} });
    pool = await createStorePool(postgres.url, { maximumPoolSize: POOL_SIZE });
    // The pool reports each lost connection here too; without a listener that would throw.
    pool.on("error", () => {});
    const busy = Array.from({ length: POOL_SIZE }, () =>
      pool.query(sql.unsafe`SELECT pg_sleep(30)`).then(
        () => "ok",
        (error: unknown) => error,
      ),
    );
    // Every slot taken: the crash hits queries in flight, not idle connections.
    for (let i = 0; i < 100 && pool.state().acquiredConnections < POOL_SIZE; i++) await sleep(20);
    await crashPostgres(dataDir);
    await postgres.stop(); // already gone: only forgets it
    outcomes = await Promise.all(busy);
  });

  afterAll(async () => {
    await postgres?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("fails every query in flight with an error that means the database is unavailable", () => {
    expect(outcomes).toHaveLength(POOL_SIZE);
    for (const outcome of outcomes) expect(isDatabaseUnavailable(outcome), String(outcome)).toBe(true);
  });

  it("keeps no connection stuck being destroyed, so no slot is lost", () => {
    const state = pool.state();

    expect(state.pendingDestroyConnections).toBe(0);
    expect(state.acquiredConnections + state.idleConnections + state.pendingReleaseConnections).toBe(0);
  });

  it("fails at once every caller while PostgreSQL is down, those queued behind failing connection attempts too", async () => {
    const callers = POOL_SIZE * 3;
    const started = Date.now();

    const settled = await Promise.race([
      Promise.all(
        Array.from({ length: callers }, () =>
          pool.query(sql.unsafe`SELECT 1`).then(
            () => "ok",
            (error: unknown) => error,
          ),
        ),
      ),
      sleep(10_000).then(() => "still waiting after 10 s"),
    ]);

    expect(Array.isArray(settled), String(settled)).toBe(true);
    for (const outcome of settled as unknown[]) expect(isDatabaseUnavailable(outcome), String(outcome)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(pool.state()).toMatchObject({ waitingClients: 0, pendingConnections: 0, pendingDestroyConnections: 0 });
  });

  it("answers queries again once PostgreSQL is back, on every slot at once", async () => {
    postgres = await restartPostgres(dataDir, port);
    const Row = z.object({ n: z.number() });

    const answers = await Promise.all(Array.from({ length: POOL_SIZE * 2 }, (_, i) => pool.oneFirst(sql.type(Row)`SELECT ${i}::int AS n`)));

    expect(answers).toEqual(Array.from({ length: POOL_SIZE * 2 }, (_, i) => i));
  });

  it("ends without waiting on the connections lost in the crash", async () => {
    const ended = await Promise.race([pool.end().then(() => true), sleep(10_000).then(() => false)]);

    expect(ended).toBe(true);
  });
});
