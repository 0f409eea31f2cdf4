// Errors of the embedded PostgreSQL, and the reading of Node.js system errors they are built on.
import { stat } from "node:fs/promises";

/** The configured port is held by another process; callers may pick another port or a DATABASE_URL. */
export class EmbeddedPostgresPortInUseError extends Error {
  constructor(readonly port: number) {
    super(`embedded PostgreSQL could not start: port ${port} is already in use (set EMBEDDED_PG_PORT or DATABASE_URL)`);
    this.name = "EmbeddedPostgresPortInUseError";
  }
}

/** The `code` of a Node.js system error (ENOENT, EPERM…), if it has one. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined;
}

/** Whether `file` exists (any other failure to stat it is an error). */
export async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return false;
    throw error;
  }
}
