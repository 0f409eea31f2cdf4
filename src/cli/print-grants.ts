import { loadConfig } from "../config.js";
import { checkIdentifier, grantScript } from "../store/roles.js";
import { CliFailure } from "./failure.js";

/** The database the embedded default creates, and the one a DBA most likely names the same way. */
const DEFAULT_DATABASE = "agent_learning";

/**
 * `migrate --print-grants`: prints the SQL that creates the application role, for a DBA to review
 * and run. It connects nowhere; the database and the owner role (whose future tables the role is
 * granted) are read from DATABASE_URL when it is set.
 */
export function printGrants(appRole: string): void {
  const config = loadConfig({ ...process.env, LOG_LEVEL: "silent" });
  const url = config.databaseUrl === undefined ? undefined : new URL(config.databaseUrl);
  const database = url && url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : DEFAULT_DATABASE;
  const owner = url && url.username !== "" ? decodeURIComponent(url.username) : undefined;
  try {
    checkIdentifier("role", appRole);
    if (owner === appRole) throw new Error(`the application role must differ from the owner role ${owner} in DATABASE_URL`);
    process.stdout.write(grantScript({ role: appRole, database, ...(owner === undefined ? {} : { owner }) }));
  } catch (error) {
    throw new CliFailure(error instanceof Error ? error.message : String(error));
  }
}
