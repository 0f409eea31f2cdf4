import pg from "pg";
import { z } from "zod";

// Least privilege: migrations run as the OWNER role (DATABASE_URL); the service's own queries run
// as an APPLICATION role that may read and write the service's tables and nothing else. The
// statements live here once, as text: `migrate --print-grants` prints them for a DBA, and the
// embedded default runs the very same text to provision its own application role.

/** The application role the embedded default creates, and the name `--print-grants` uses unless told otherwise. */
export const DEFAULT_APP_ROLE = "agent_learning_app";

/** The schema the migrations create their tables in (unqualified names, default search_path). */
const SCHEMA = "public";

/** Stands in for a real password in the printed script; a DBA replaces it (or sets one with \password). */
export const PASSWORD_PLACEHOLDER = "change-me-to-a-strong-password";

/** Where the application role's rights apply and who creates the tables it must reach. */
export interface GrantTarget {
  /** The application role. */
  role: string;
  /** The service's database. */
  database: string;
  /**
   * The role that runs migrations: tables it creates later are granted to `role` automatically.
   * Absent: the default privileges are set for whoever runs the statements.
   */
  owner?: string;
}

/** PostgreSQL truncates longer identifiers silently, which would grant rights to another name. */
const Identifier = z
  .string()
  .min(1)
  .refine((name) => Buffer.byteLength(name) <= 63, "must be at most 63 bytes");

/** Checks a role or database name before it is written into SQL (quoted, but never truncated). */
export function checkIdentifier(kind: string, name: string): string {
  const parsed = Identifier.safeParse(name);
  if (!parsed.success) throw new Error(`${kind} name ${JSON.stringify(name)} ${parsed.error.issues[0]?.message ?? "is invalid"}`);
  return name;
}

/** CREATE ROLE for the application role: it may log in and is nothing more (no superuser, no DDL rights). */
export function createRoleStatement(role: string, password: string): string {
  return `CREATE ROLE ${pg.escapeIdentifier(checkIdentifier("role", role))} ${ROLE_ATTRIBUTES} PASSWORD ${pg.escapeLiteral(password)};`;
}

/** Re-asserts the role's attributes and password, for a role that already exists. */
export function alterRoleStatement(role: string, password: string): string {
  return `ALTER ROLE ${pg.escapeIdentifier(checkIdentifier("role", role))} ${ROLE_ATTRIBUTES} PASSWORD ${pg.escapeLiteral(password)};`;
}

const ROLE_ATTRIBUTES = "WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS";

/**
 * The grants that let the application role do exactly what the service's queries do: connect,
 * read and write the service's tables (and use their identity sequences), now and for tables
 * future migrations add, and nothing else: no CREATE on the schema, so no DDL. Every statement is
 * idempotent, so the list may be run again after upgrades. Advisory locks, LISTEN/NOTIFY and
 * pg_notify need no grant.
 */
export function grantStatements(target: GrantTarget): string[] {
  const role = pg.escapeIdentifier(checkIdentifier("role", target.role));
  const database = pg.escapeIdentifier(checkIdentifier("database", target.database));
  const forOwner = target.owner === undefined ? "" : ` FOR ROLE ${pg.escapeIdentifier(checkIdentifier("owner role", target.owner))}`;
  return [
    `GRANT CONNECT ON DATABASE ${database} TO ${role};`,
    `GRANT USAGE ON SCHEMA ${SCHEMA} TO ${role};`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${SCHEMA} TO ${role};`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${SCHEMA} TO ${role};`,
    `ALTER DEFAULT PRIVILEGES${forOwner} IN SCHEMA ${SCHEMA} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${role};`,
    `ALTER DEFAULT PRIVILEGES${forOwner} IN SCHEMA ${SCHEMA} GRANT USAGE, SELECT ON SEQUENCES TO ${role};`,
    // PostgreSQL 15+ already withholds it; older servers let every role create tables in public.
    `REVOKE CREATE ON SCHEMA ${SCHEMA} FROM PUBLIC;`,
  ];
}

/**
 * The script `migrate --print-grants` prints: what a DBA runs (as a superuser, or as the owner
 * with CREATEROLE) to create the application role. It connects nowhere, so it can be reviewed
 * before anything changes.
 */
export function grantScript(target: GrantTarget): string {
  const ownerNote =
    target.owner === undefined
      ? [
          "-- Run it as the role that runs the migrations (DATABASE_URL), or the default privileges below",
          "-- will cover the tables of whoever runs it instead.",
        ]
      : [`-- Tables that later migrations create as ${target.owner} are granted automatically (default privileges).`];
  return [
    `-- Application role for agent-learning: reads and writes the service's tables, no DDL, not superuser.`,
    `-- Run in database ${target.database}, e.g. psql -v ON_ERROR_STOP=1 -d ${target.database} -f grants.sql`,
    ...ownerNote,
    `-- Then start the service with APP_DATABASE_URL=postgres://${target.role}:PASSWORD@HOST/${target.database}`,
    `-- (DATABASE_URL stays the owner's: it runs the migrations).`,
    "",
    `-- Skip this statement if the role exists; replace the placeholder password.`,
    createRoleStatement(target.role, PASSWORD_PLACEHOLDER),
    ...grantStatements(target),
    "",
  ].join("\n");
}

const RoleRow = z.object({ exists: z.boolean(), owner: z.string(), database: z.string() });

/**
 * Creates the application role if absent (or resets its attributes and password if present) and
 * grants it the service's tables, connected as the owner after migrations: how the embedded
 * default runs its pools without superuser rights. The statements are DDL built from
 * `grantStatements`, run on a plain `pg` client like the migrations, in one transaction.
 */
export async function ensureApplicationRole(ownerUrl: string, role: string, password: string): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl, application_name: "agent-learning-roles" });
  await client.connect();
  try {
    await client.query("BEGIN");
    const found = RoleRow.parse(
      (
        await client.query(
          "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists, current_user::text AS owner, current_database()::text AS database",
          [role],
        )
      ).rows[0],
    );
    if (found.owner === role) throw new Error(`the application role ${role} must differ from the owner role that runs migrations`);
    await client.query(found.exists ? alterRoleStatement(role, password) : createRoleStatement(role, password));
    for (const statement of grantStatements({ role, database: found.database, owner: found.owner })) await client.query(statement);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw new Error(`could not set up the application role ${role}: ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end();
  }
}

/** The URL of the same database as `ownerUrl`, logging in as `role` with `password`. */
export function applicationUrl(ownerUrl: string, role: string, password: string): string {
  const url = new URL(ownerUrl);
  url.username = encodeURIComponent(role);
  url.password = encodeURIComponent(password);
  return url.toString();
}
