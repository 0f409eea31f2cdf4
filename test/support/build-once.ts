import { execFileSync } from "node:child_process";
import { cpSync } from "node:fs";
import { mkdir, readdir, readFile, rename, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { inject } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** What `npm run build` said. */
interface BuildOutcome {
  ok: boolean;
  output: string;
}

/**
 * `npm run build` at most once per test run, whichever test files (in whichever workers) ask
 * for it: a whole-project tsc is the slowest step a file can take, and four files need dist/.
 * The first caller builds; the others wait for its outcome, kept in a folder named for the run.
 *
 * Others' work in progress elsewhere in the tree may fail the type check while tsc still emits,
 * so the caller says which diagnostics are fatal to it: a failure that is not a type error, or a
 * type error in a path matching `fatal`, throws.
 */
export async function requireBuild(fatal: RegExp): Promise<void> {
  const outcome = await buildOnce();
  if (!outcome.ok && (!outcome.output.includes("error TS") || fatal.test(outcome.output))) {
    throw new Error(`the build failed:\n${outcome.output}`);
  }
}

async function buildOnce(): Promise<BuildOutcome> {
  const dir = path.join(tmpdir(), `agent-learning-build-${inject("runId")}`);
  const result = path.join(dir, "outcome.json");
  try {
    await mkdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return awaitOutcome(result);
  }
  const outcome = (await upToDate())
    ? { ok: true, output: "dist/ is newer than every input of the build: not rebuilt" }
    : await stampedBuild();
  await writeFile(`${result}.partial`, JSON.stringify(outcome));
  await rename(`${result}.partial`, result);
  return outcome;
}

/**
 * Written after a build without errors. While it is newer than every input, dist/ is what a build
 * would make, and the build is skipped: a run of one test file, or a run after `npm run build`,
 * need not wait for tsc to find nothing to do (seconds of CPU even when incremental). A build
 * that reported errors writes no stamp, so its errors are reported again by the next run.
 */
const STAMP = path.join(ROOT, "dist/.test-build-ok");
const INPUTS = ["src", "gen", "bench", "test", "scripts", "tsconfig.json", "package.json", "package-lock.json"];

/** Builds; when it succeeds, stamps dist/ with the time it started (an input saved during the build is newer). */
async function stampedBuild(): Promise<BuildOutcome> {
  const started = new Date();
  const outcome = build();
  if (outcome.ok) {
    await writeFile(STAMP, "");
    await utimes(STAMP, started, started);
  }
  return outcome;
}

async function upToDate(): Promise<boolean> {
  const built = await stat(STAMP).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
  if (built === undefined) return false;
  for (const input of INPUTS.map((name) => path.join(ROOT, name))) {
    const top = await stat(input).catch(() => undefined);
    if (top === undefined) continue;
    if (top.mtimeMs > built) return false;
    if (!top.isDirectory()) continue;
    // Directories too: a deleted or renamed file changes its directory's mtime.
    for (const entry of await readdir(input, { recursive: true, withFileTypes: true })) {
      const mtime = (await stat(path.join(entry.parentPath, entry.name))).mtimeMs;
      if (mtime > built) return false;
    }
  }
  return true;
}

async function awaitOutcome(file: string): Promise<BuildOutcome> {
  for (const deadline = Date.now() + 300_000; Date.now() < deadline; await sleep(200)) {
    try {
      return JSON.parse(await readFile(file, "utf8")) as BuildOutcome;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  throw new Error(`no build outcome in ${file} after 300 s`);
}

function build(): BuildOutcome {
  try {
    const output = execFileSync("npm", ["run", "build"], { cwd: ROOT, encoding: "utf8", stdio: "pipe" });
    return { ok: true, output };
  } catch (error) {
    const output = `${String((error as { stdout?: unknown }).stdout ?? "")}${String((error as { stderr?: unknown }).stderr ?? "")}`;
    // tsc emitted but exited non-zero, so the build's second step did not run: do it as package.json does.
    if (output.includes("error TS"))
      cpSync(path.join(ROOT, "src/store/migrations"), path.join(ROOT, "dist/src/store/migrations"), { recursive: true });
    return { ok: false, output: output || String(error) };
  }
}
