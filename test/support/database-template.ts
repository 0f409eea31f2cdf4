import { createPool, sql } from "slonik";
import { createDatabase } from "../../src/store/create-database.js";
import { migrate } from "../../src/store/migrate.js";

/**
 * Creates database `name` on the server behind `adminUrl`, applies every migration to it once,
 * and closes it to connections, so that test files clone it (CREATE DATABASE … TEMPLATE, a file
 * copy) instead of each running the migrations. Returns the name.
 */
export async function createTemplateDatabase(adminUrl: string, name: string): Promise<string> {
  const url = await createDatabase(adminUrl, name);
  await migrate(url);
  // A connection to a template makes every clone of it fail; none is needed after this.
  await adminQuery(adminUrl, sql.unsafe`alter database ${sql.identifier([name])} allow_connections false`);
  return name;
}

/** Drops database `name`, closing whatever connections are open on it. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await adminQuery(adminUrl, sql.unsafe`drop database if exists ${sql.identifier([name])} with (force)`);
}

async function adminQuery(adminUrl: string, query: ReturnType<typeof sql.unsafe>): Promise<void> {
  const pool = await createPool(adminUrl, { maximumPoolSize: 1 });
  try {
    await pool.query(query);
  } finally {
    await pool.end();
  }
}
