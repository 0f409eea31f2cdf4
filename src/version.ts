import { readFileSync } from "node:fs";

/** The running service's version, from package.json, reported by GetStatus and `--version`. */
export const SERVICE_VERSION: string = (
  JSON.parse(readFileSync(new URL(findPackageJson(), import.meta.url), "utf8")) as { version: string }
).version;

// Compiled code runs from dist/src/, sources from src/: package.json is two or three levels up.
function findPackageJson(): string {
  return import.meta.url.includes("/dist/src/") ? "../../package.json" : "../package.json";
}
