import { randomBytes } from "node:crypto";
import { createPool, sql } from "slonik";
import { inject } from "vitest";
import { createDatabase } from "../../src/store/create-database.js";

/**
 * Creates a fresh, uniquely named database on the run's PostgreSQL and returns its URL, so each
 * test file (call it in beforeAll) works on data no other file can see or disturb.
 */
export async function createTestDatabase(): Promise<string> {
  // The pid says which test worker made it, should one be left behind by a crashed run.
  const name = `test_${process.pid}_${randomBytes(6).toString("hex")}`;
  return createDatabase(inject("pgAdminUrl"), name);
}

/** Drops a database made by createTestDatabase, closing whatever connections a test left open. */
export async function dropTestDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const pool = await createPool(inject("pgAdminUrl"), { maximumPoolSize: 1 });
  try {
    await pool.query(sql.unsafe`drop database if exists ${sql.identifier([name])} with (force)`);
  } finally {
    await pool.end();
  }
}
