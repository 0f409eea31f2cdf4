import { pino } from "pino";
import type { DatabasePool } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvidenceCache } from "../../src/service/evidence-cache.js";
import { createStorePool } from "../../src/store/pool.js";
import { makeExecution } from "../support/executions.js";
import { QUIET_MODELS } from "../support/model-fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";

// The prediction path memoizes rankings, candidate lists and model scores per evidence snapshot
// object, so the cache must hand out the same object for as long as the evidence has not changed,
// and a new one as soon as it has.

describe("EvidenceCache with no staleness allowed (every get reads PostgreSQL)", () => {
  let server: TestServer;
  let pool: DatabasePool;
  let cache: EvidenceCache;

  beforeAll(async () => {
    server = await startTestServer({ config: QUIET_MODELS });
    pool = await createStorePool(server.databaseUrl, { maximumPoolSize: 2 });
    cache = new EvidenceCache(pool, 0, pino({ level: "silent" }));
    await server.learning.recordExecution({ execution: makeExecution({ taskType: "cache_test" }) });
  });

  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  it("hands out the same snapshot object while nothing was recorded for the task type", async () => {
    const first = await cache.get("cache_test");
    await server.learning.recordExecution({ execution: makeExecution({ taskType: "another_task" }) });

    const second = await cache.get("cache_test");

    expect(second).toBe(first);
    expect(second.task.executions).toBe(1);
  });

  it("hands out a new snapshot with the new execution once one is recorded", async () => {
    const before = await cache.get("cache_test");
    await server.learning.recordExecution({ execution: makeExecution({ taskType: "cache_test" }) });

    const after = await cache.get("cache_test");

    expect(after).not.toBe(before);
    expect(after.task.executions).toBe(2);
  });

  it("hands out a new snapshot when the catalog grows, even with no new execution of the task type", async () => {
    const before = await cache.get("cache_test");
    await server.learning.recordExecution({ execution: makeExecution({ taskType: "another_task", agents: ["BRAND_NEW_AGENT"] }) });

    const after = await cache.get("cache_test");

    expect(after).not.toBe(before);
    expect(after.catalog.map((a) => a.name)).toContain("BRAND_NEW_AGENT");
  });
});
