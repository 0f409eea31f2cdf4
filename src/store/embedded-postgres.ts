// The embedded PostgreSQL the service runs on when no DATABASE_URL is given (and the tests' own):
// the composition of embedded-postgres/ (library, cluster, postmaster, permissions, ports, server).
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { initialise, isInitialised, readPassword } from "./embedded-postgres/cluster.js";
import { EmbeddedPostgresPortInUseError } from "./embedded-postgres/errors.js";
import { loadLibrary } from "./embedded-postgres/library.js";
import { ensureBinariesReadable, grantTraversal } from "./embedded-postgres/permissions.js";
import { findFreePort, isPortFree } from "./embedded-postgres/ports.js";
import { clearLeftoverPostmaster } from "./embedded-postgres/postmaster.js";
import { type EmbeddedPostgres, startServer } from "./embedded-postgres/server.js";

export { EmbeddedPostgresPortInUseError } from "./embedded-postgres/errors.js";
export type { EmbeddedPostgres } from "./embedded-postgres/server.js";

/** Where and how to run the embedded PostgreSQL. */
export interface EmbeddedPostgresOptions {
  /** The cluster's data directory (PGDATA); created and initialised on first use, reused after. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Receives PostgreSQL's own output and our decisions, line by line, instead of stdout. */
  log: (msg: string) => void;
}

const isRoot = process.getuid?.() === 0;

/**
 * Starts PostgreSQL 17 from the embedded-postgres binaries in `dataDir`, initialising the
 * directory on first use and reusing it (also after a crash) afterwards, so the service runs
 * without an external database and the tests get a real one in about a second.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const { log } = options;
  const { EmbeddedPostgresServer, nativeDir } = await loadLibrary(log);
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (isRoot) {
    // PostgreSQL refuses to run as root; embedded-postgres runs it as `postgres`, who must reach
    // the binaries and the data directory through every parent (mkdtemp makes 0700 dirs).
    await grantTraversal(path.dirname(dataDir), log);
    await ensureBinariesReadable(nativeDir, log);
  }
  const initialised = await isInitialised(dataDir);
  // An orphaned postmaster holds the port too, so it goes before the port is probed.
  if (initialised) await clearLeftoverPostmaster(dataDir, log);
  // embedded-postgres rejects with `undefined` when the port is taken; ask the kernel first,
  // before initdb leaves a directory behind.
  if (options.port !== 0 && !(await isPortFree(options.port))) throw new EmbeddedPostgresPortInUseError(options.port);
  const password = initialised ? await readPassword(dataDir) : await initialise(dataDir, EmbeddedPostgresServer, log);
  // Port 0 means "any": a free port can be taken between the probe and the bind, so try again.
  for (let attempt = 1; ; attempt++) {
    const port = options.port === 0 ? await findFreePort() : options.port;
    try {
      return await startServer(EmbeddedPostgresServer, { dataDir, port, password, log });
    } catch (error) {
      if (!(options.port === 0 && error instanceof EmbeddedPostgresPortInUseError && attempt < 3)) throw error;
    }
  }
}
