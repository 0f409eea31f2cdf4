// The models directory: `<version>.onnx` and `<version>.json` (the card) of every version that
// has been active, for Netron, onnxruntime in another language, or a backup. PostgreSQL is the
// source of truth; these files are copies any replica can rebuild, written atomically so a reader
// never sees half a file.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/** A version id that is safe as a file name (versions are ours, but a directory is no place to trust that). */
const SAFE_VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The two files of a version. */
export function modelFilePaths(dir: string, version: string): { onnx: string; card: string } {
  if (!SAFE_VERSION.test(version)) throw new Error(`model version ${JSON.stringify(version)} is not a safe file name`);
  return { onnx: path.join(dir, `${version}.onnx`), card: path.join(dir, `${version}.json`) };
}

/**
 * Writes a version's ONNX bytes and card unless identical files are already there; returns the
 * files it (re)wrote. Each file goes to a temporary name in the same directory first and is then
 * renamed over the target, which POSIX makes atomic.
 */
export async function writeModelFiles(dir: string, version: string, onnx: Uint8Array, card: string): Promise<string[]> {
  const paths = modelFilePaths(dir, version);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [file, bytes] of [
    [paths.onnx, onnx],
    [paths.card, Buffer.from(card, "utf8")],
  ] as const) {
    if (await sameContent(file, bytes)) continue;
    await writeAtomically(file, bytes);
    written.push(file);
  }
  return written;
}

async function sameContent(file: string, bytes: Uint8Array): Promise<boolean> {
  try {
    return Buffer.from(bytes).equals(await readFile(file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, bytes, { flush: true });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
