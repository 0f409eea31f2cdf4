import { randomBytes } from "node:crypto";
import { createPool, sql } from "slonik";
import { inject } from "vitest";
import { createDatabase, databaseUrl } from "../../src/store/create-database.js";
import { dropDatabase } from "./database-template.js";

/** A database name no other test file will pick; the pid says which worker made it, should one be left behind by a crashed run. */
function uniqueName(): string {
  return `test_${process.pid}_${randomBytes(6).toString("hex")}`;
}

/**
 * Creates a fresh, EMPTY, uniquely named database on the run's PostgreSQL and returns its URL, so
 * a test file (call it in beforeAll) works on data no other file can see or disturb. For tests
 * of migrating and of starting on a new database; the others want `createMigratedTestDatabase`.
 */
export async function createTestDatabase(): Promise<string> {
  return createDatabase(inject("pgAdminUrl"), uniqueName());
}

/**
 * Like `createTestDatabase`, but holding every migration already: a clone of the run's template,
 * which takes a fraction of the time applying the migrations takes.
 */
export async function createMigratedTestDatabase(): Promise<string> {
  const adminUrl = inject("pgAdminUrl");
  const name = uniqueName();
  const pool = await createPool(adminUrl, { maximumPoolSize: 1 });
  try {
    await pool.query(sql.unsafe`create database ${sql.identifier([name])} template ${sql.identifier([inject("pgTemplate")])}`);
  } finally {
    await pool.end();
  }
  return databaseUrl(adminUrl, name);
}

/** Drops a database made by createTestDatabase, closing whatever connections a test left open. */
export async function dropTestDatabase(url: string): Promise<void> {
  await dropDatabase(inject("pgAdminUrl"), decodeURIComponent(new URL(url).pathname.slice(1)));
}
