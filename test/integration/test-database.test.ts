import { createPool, sql } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadMigrations } from "../../src/store/migrate.js";
import { createMigratedTestDatabase, createTestDatabase, dropTestDatabase } from "../support/database.js";

type Query = ReturnType<typeof sql.unsafe>;

async function execute(url: string, query: Query): Promise<void> {
  const pool = await createPool(url, { maximumPoolSize: 1 });
  try {
    await pool.query(query);
  } finally {
    await pool.end();
  }
}

async function firstValue(url: string, query: Query): Promise<unknown> {
  const pool = await createPool(url, { maximumPoolSize: 1 });
  try {
    return await pool.oneFirst(query);
  } finally {
    await pool.end();
  }
}

describe("createTestDatabase", () => {
  let first: string;
  let second: string;

  beforeAll(async () => {
    [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });

  afterAll(async () => {
    await Promise.all([first, second].filter(Boolean).map((url) => dropTestDatabase(url)));
  });

  it("gives each call a database of its own", async () => {
    expect(first).not.toBe(second);
    expect(await firstValue(first, sql.unsafe`select current_database()`)).not.toBe(
      await firstValue(second, sql.unsafe`select current_database()`),
    );
  });

  it("keeps what one test database holds out of another", async () => {
    await execute(first, sql.unsafe`create table only_here (v int)`);
    expect(await firstValue(first, sql.unsafe`select to_regclass('only_here') is not null`)).toBe(true);
    expect(await firstValue(second, sql.unsafe`select to_regclass('only_here') is not null`)).toBe(false);
  });

  it("is dropped by dropTestDatabase", async () => {
    const doomed = await createTestDatabase();
    await dropTestDatabase(doomed);
    await expect(firstValue(doomed, sql.unsafe`select 1`)).rejects.toThrow();
  });
});

describe("createMigratedTestDatabase", () => {
  let first: string;
  let second: string;

  beforeAll(async () => {
    [first, second] = await Promise.all([createMigratedTestDatabase(), createMigratedTestDatabase()]);
  });

  afterAll(async () => {
    await Promise.all([first, second].filter(Boolean).map((url) => dropTestDatabase(url)));
  });

  it("holds every migration shipped, with the default agents", async () => {
    const versions = (await loadMigrations()).map((m) => m.version);
    expect(await firstValue(first, sql.unsafe`select array_agg(version order by version) from schema_migrations`)).toEqual(versions);
    expect(await firstValue(first, sql.unsafe`select count(*)::int from agents`)).toBe(40);
  });

  it("keeps what one clone holds out of the other", async () => {
    await execute(first, sql.unsafe`delete from agents`);
    expect(await firstValue(first, sql.unsafe`select count(*)::int from agents`)).toBe(0);
    expect(await firstValue(second, sql.unsafe`select count(*)::int from agents`)).toBe(40);
  });
});
