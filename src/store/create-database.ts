import { createPool, sql, UniqueIntegrityConstraintViolationError } from "slonik";

/** PostgreSQL truncates longer identifiers silently, which would hand back the URL of another name. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Creates database `name` on the server behind `adminUrl` unless it exists, and returns its URL:
 * the embedded server needs the service's database before migrations run, and each test file
 * gets a database of its own.
 */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  if (name.length === 0 || Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
    throw new Error(`database name must be 1 to ${MAX_IDENTIFIER_BYTES} bytes long: ${JSON.stringify(name)}`);
  }
  const pool = await createPool(adminUrl, { maximumPoolSize: 1 });
  try {
    const present = await pool.exists(sql.unsafe`select 1 from pg_database where datname = ${name}`);
    if (!present) {
      try {
        // CREATE DATABASE takes no parameters; sql.identifier quotes the name safely.
        await pool.query(sql.unsafe`create database ${sql.identifier([name])}`);
      } catch (error) {
        // Someone else created it between our check and our create: the outcome we wanted.
        if (!isDuplicateDatabase(error)) throw error;
      }
    }
  } finally {
    await pool.end();
  }
  return databaseUrl(adminUrl, name);
}

/** The URL of database `name` on the same server, with the same credentials, as `serverUrl`. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/**
 * A concurrent CREATE DATABASE fails either with duplicate_database (42P04) or, when both passed
 * the catalog check, with a unique violation on pg_database's name index (23505).
 */
function isDuplicateDatabase(error: unknown): boolean {
  if (error instanceof UniqueIntegrityConstraintViolationError) return true;
  return typeof error === "object" && error !== null && "code" in error && error.code === "42P04";
}
