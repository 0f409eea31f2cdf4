import { randomBytes } from "node:crypto";
import { chmod, chown, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { applicationUrl, DEFAULT_APP_ROLE, ensureApplicationRole } from "./roles.js";

/** The application role's password, kept in the cluster's directory beside the superuser's. */
const APP_PASSWORD_FILE = "app-role.password";

/**
 * Gives the embedded default the same least privilege an operator sets up by hand: after the
 * migrations, the role `agent_learning_app` (random password in a 0600 file inside the data
 * directory, so restarts reuse it) is created or refreshed and granted the service's tables.
 * Returns the URL the service's pools use.
 */
export async function provisionEmbeddedAppRole(ownerUrl: string, dataDir: string): Promise<string> {
  const password = await readOrCreatePassword(path.resolve(dataDir));
  await ensureApplicationRole(ownerUrl, DEFAULT_APP_ROLE, password);
  return applicationUrl(ownerUrl, DEFAULT_APP_ROLE, password);
}

async function readOrCreatePassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, APP_PASSWORD_FILE);
  const existing = await readPassword(file);
  if (existing !== undefined) return existing;
  // One postmaster per data directory, and it is ours: nobody writes the file meanwhile.
  const password = randomBytes(24).toString("base64url");
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  await chmod(file, 0o600); // an empty file left behind keeps its mode otherwise
  // Owned like the rest of the cluster, so it travels with a copy or backup made as `postgres`.
  const owner = await stat(dataDir);
  await chown(file, owner.uid, owner.gid);
  return password;
}

/** The stored password, or undefined when the file is absent or empty (a new one is then made). */
async function readPassword(file: string): Promise<string | undefined> {
  try {
    const text = (await readFile(file, "utf8")).trim();
    return text === "" ? undefined : text;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined;
}
