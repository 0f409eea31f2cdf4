// The bearer tokens this server accepts, configured as SHA-256 hashes so that the configuration
// (environment, files, process listings, config dumps) never holds a usable secret.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";

/** The permissions a token can carry; `admin` implies every other one. */
export const SCOPES = ["record", "predict", "read", "admin"] as const;

/** One permission a token can carry. */
export type Scope = (typeof SCOPES)[number];

/** One configured token: a name that is safe to log, the hash of its secret, and its scopes. */
export interface TokenEntry {
  /** Identifies the caller in logs and error messages; never the secret. */
  name: string;
  /** SHA-256 of the secret (32 bytes). */
  sha256: Buffer;
  /** What the token may do. */
  scopes: ReadonlySet<Scope>;
}

/** Where the token configuration comes from: AUTH_TOKENS and AUTH_TOKENS_FILE. */
export interface TokenSources {
  /** A JSON array, or `;`-separated `name:sha256hex:scope,scope` entries. */
  authTokens?: string | undefined;
  /** A file with one `name:sha256hex:scope,scope` entry per line (`#` starts a comment). */
  authTokensFile?: string | undefined;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** The JSON form of one entry: the same three fields as the text form, or that text itself. */
const JsonEntry = z.union([
  z.string(),
  z.object({ name: z.string(), sha256: z.string(), scopes: z.union([z.array(z.string()), z.string()]) }).strict(),
]);

/**
 * Reads and checks every configured token, so that a typo stops the server at start instead of
 * locking callers out later. Error messages name the source and the entry's position (and its
 * name once it is valid) but never echo a hash or scope field, in case someone pasted a raw
 * token there.
 */
export function loadTokens(sources: TokenSources): TokenEntry[] {
  const entries: TokenEntry[] = [];
  if (sources.authTokens !== undefined && sources.authTokens.trim() !== "") {
    entries.push(...parseTokenList(sources.authTokens, "AUTH_TOKENS"));
  }
  if (sources.authTokensFile !== undefined && sources.authTokensFile !== "") {
    let text: string;
    try {
      text = readFileSync(sources.authTokensFile, "utf8");
    } catch (error) {
      const reason = (error as { code?: unknown }).code ?? (error instanceof Error ? error.message : String(error));
      throw new Error(`AUTH_TOKENS_FILE: cannot read ${sources.authTokensFile} (${String(reason)})`);
    }
    entries.push(...parseTokenLines(text, `AUTH_TOKENS_FILE ${sources.authTokensFile}`));
  }
  rejectDuplicates(entries);
  return entries;
}

/** Parses AUTH_TOKENS: a JSON array (of entry strings or `{name, sha256, scopes}`), else `;`-separated entries. */
export function parseTokenList(text: string, source: string): TokenEntry[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      throw new Error(`${source}: not valid JSON (expected an array of "name:sha256hex:scope,scope" entries)`);
    }
    const parsed = z.array(JsonEntry).safeParse(json);
    if (!parsed.success)
      throw new Error(`${source}: expected an array of "name:sha256hex:scope,scope" strings or {name, sha256, scopes} objects`);
    return parsed.data.map((item, i) => {
      const where = `${source} entry ${i + 1}`;
      if (typeof item === "string") return parseTokenSpec(item, where);
      const scopes = typeof item.scopes === "string" ? item.scopes.split(",") : item.scopes;
      return tokenEntry(item.name, item.sha256, scopes, where);
    });
  }
  return trimmed
    .split(";")
    .map((spec) => spec.trim())
    .filter((spec) => spec !== "")
    .map((spec, i) => parseTokenSpec(spec, `${source} entry ${i + 1}`));
}

/** Parses a token file: one entry per line; blank lines and `#` comments are skipped. */
export function parseTokenLines(text: string, source: string): TokenEntry[] {
  const entries: TokenEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line !== "") entries.push(parseTokenSpec(line, `${source} line ${i + 1}`));
  });
  return entries;
}

/** Parses one `name:sha256hex:scope,scope` entry. */
export function parseTokenSpec(spec: string, where: string): TokenEntry {
  const fields = spec.split(":");
  if (fields.length !== 3) throw new Error(`${where}: expected name:sha256hex:scope,scope (three fields separated by ":")`);
  const [name = "", hash = "", scopes = ""] = fields.map((field) => field.trim());
  return tokenEntry(name, hash, scopes.split(","), where);
}

function tokenEntry(name: string, hash: string, scopes: readonly string[], where: string): TokenEntry {
  if (!NAME.test(name)) throw new Error(`${where}: the name must be 1-64 letters, digits or . _ @ - (it appears in logs)`);
  if (!SHA256_HEX.test(hash)) {
    throw new Error(
      `${where} ("${name}"): the second field must be the token's SHA-256 in hex (64 characters), ` +
        `as printed by: printf %s "$TOKEN" | sha256sum`,
    );
  }
  const granted = new Set<Scope>();
  for (const scope of scopes.map((s) => s.trim()).filter((s) => s !== "")) {
    if (!isScope(scope)) throw new Error(`${where} ("${name}"): unknown scope; the scopes are ${SCOPES.join(", ")}`);
    granted.add(scope);
  }
  if (granted.size === 0) throw new Error(`${where} ("${name}"): no scope given; the scopes are ${SCOPES.join(", ")}`);
  return { name, sha256: Buffer.from(hash, "hex"), scopes: granted };
}

function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Two entries with one name would make the logged principal ambiguous; one hash twice, its scopes. */
function rejectDuplicates(entries: readonly TokenEntry[]): void {
  const names = new Set<string>();
  const hashes = new Set<string>();
  for (const entry of entries) {
    if (names.has(entry.name)) throw new Error(`auth tokens: the name "${entry.name}" is configured twice`);
    const hex = entry.sha256.toString("hex");
    if (hashes.has(hex)) throw new Error(`auth tokens: "${entry.name}" has the same hash as another token`);
    names.add(entry.name);
    hashes.add(hex);
  }
}

/** SHA-256 of a presented secret, the form in which tokens are configured. */
export function hashToken(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

/** The configured tokens, answering "which token is this secret?" without a timing side channel. */
export class TokenTable {
  readonly #entries: readonly TokenEntry[];

  constructor(entries: readonly TokenEntry[]) {
    this.#entries = entries;
  }

  /** How many tokens are configured. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * The entry whose hash matches the secret's, or undefined. Every entry is compared, each in
   * constant time, so neither the position of a match nor a shared prefix shows in the timing.
   */
  verify(secret: string): TokenEntry | undefined {
    const presented = hashToken(secret);
    let match: TokenEntry | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.sha256, presented) && match === undefined) match = entry;
    }
    return match;
  }
}

/** Whether a token may call an RPC needing `scope`: it holds that scope, or admin. */
export function grants(entry: TokenEntry, scope: Scope): boolean {
  return entry.scopes.has(scope) || entry.scopes.has("admin");
}
