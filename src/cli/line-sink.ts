import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileFailure } from "./failure.js";

/** How writing the lines ended. */
export type WriteOutcome = "complete" | "reader-closed";

/**
 * Writes a stream of lines to a file or, for "-", to stdout, with back-pressure (a slow disk or
 * pipe slows the producer instead of filling memory). A file is written under a temporary name
 * and renamed when complete, so a failed export never leaves a truncated file that looks whole.
 */
export async function writeLines(target: string, lines: AsyncIterable<string>): Promise<WriteOutcome> {
  if (target === "-") {
    try {
      // stdout is not ours to close.
      await pipeline(Readable.from(lines), process.stdout, { end: false });
      return "complete";
    } catch (error) {
      // `export - | head` closing the pipe is the reader's choice, not a failure.
      if ((error as { code?: unknown }).code === "EPIPE") return "reader-closed";
      throw error;
    }
  }
  const partial = `${target}.partial-${process.pid}`;
  try {
    await pipeline(Readable.from(lines), createWriteStream(partial));
    await rename(partial, target);
    return "complete";
  } catch (error) {
    await rm(partial, { force: true });
    // Errors of the source (the RPC) pass through; only the file's own are put in file terms.
    if (typeof (error as { syscall?: unknown }).syscall === "string") throw fileFailure("write", target, error);
    throw error;
  }
}
