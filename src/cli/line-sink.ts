import { rename, rm } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/**
 * Writes a stream of lines to a file or, for "-", to stdout, with back-pressure (a slow disk or
 * pipe slows the producer instead of filling memory). A file is written under a temporary name
 * and renamed when complete, so a failed export never leaves a truncated file that looks whole.
 */
export async function writeLines(target: string, lines: AsyncIterable<string>): Promise<void> {
  if (target === "-") {
    // stdout is not ours to close.
    await pipeline(Readable.from(lines), process.stdout, { end: false });
    return;
  }
  const partial = `${target}.partial-${process.pid}`;
  try {
    await pipeline(Readable.from(lines), createWriteStream(partial));
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}
