import { pino } from "pino";
import { type DatabasePool, sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SettingsCache } from "../../src/service/settings-cache.js";
import { NotificationListener } from "../../src/store/listener.js";
import { createStorePool } from "../../src/store/pool.js";
import { SETTINGS_CHANNEL, updateSettings } from "../../src/store/settings.js";
import { createMigratedTestDatabase, dropTestDatabase } from "../support/database.js";

// Another replica is played by a second pool writing through the store, as SetLearningMode does.
// The cache's periodic re-read is set to an hour, so only the announcement can bring the change.

const silent = pino({ level: "silent" });

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("SettingsCache across replicas", () => {
  let databaseUrl: string;
  let pool: DatabasePool;
  let otherReplica: DatabasePool;
  let listener: NotificationListener;
  let cache: SettingsCache;

  beforeAll(async () => {
    databaseUrl = await createMigratedTestDatabase();
    pool = await createStorePool(databaseUrl, { maximumPoolSize: 2 });
    otherReplica = await createStorePool(databaseUrl, { maximumPoolSize: 1 });
    listener = new NotificationListener(databaseUrl, [SETTINGS_CHANNEL], silent);
    await listener.start();
    cache = new SettingsCache(pool, listener, silent, { refreshAfterMs: 3_600_000, maxStaleMs: 3_600_000 });
  });

  afterAll(async () => {
    await listener?.stop();
    await pool?.end();
    await otherReplica?.end();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  it("sees a mode written by another replica as soon as it is announced, without waiting for a periodic re-read", async () => {
    await updateSettings(otherReplica, { mode: "advisory" });
    expect((await cache.get()).learning_mode).toBe("advisory");

    await updateSettings(otherReplica, { mode: "autonomous" });
    const seen = await eventually(
      () => cache.get(),
      (s) => s.learning_mode === "autonomous",
      2_000,
    );

    expect(seen.learning_mode).toBe("autonomous");
  });

  it("keeps serving the held settings, without a read, while nothing is announced", async () => {
    const before = await cache.get();
    // Written behind the store's back: no announcement, so this replica does not know yet.
    await otherReplica.query(sql.unsafe`UPDATE service_settings SET learning_enabled = NOT learning_enabled`);
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(await cache.get()).toEqual(before);
  });
});
