import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { CliFailure, fileFailure } from "./failure.js";

/** The lines of a file or of stdin, read as they arrive, and a way to let go of the input early. */
export interface LineSource {
  lines: AsyncIterable<string>;
  /** Stops reading and releases the file; safe to call twice. */
  close(): void;
}

/**
 * Opens a file ("-" = stdin) for line-by-line reading. The file is opened before this returns,
 * so "no such file" is reported before any RPC starts rather than in the middle of one.
 */
export async function openLines(source: string): Promise<LineSource> {
  let input: Readable;
  if (source === "-") {
    input = process.stdin;
  } else {
    const handle = await open(source, "r").catch((error: unknown) => {
      throw fileFailure("read", source, error);
    });
    if ((await handle.stat()).isDirectory()) {
      await handle.close();
      throw new CliFailure(`cannot read ${source}: it is a directory`);
    }
    input = handle.createReadStream();
  }
  // crlfDelay: a "\r\n" split across chunks is still one line break.
  const reader = createInterface({ input, crlfDelay: Infinity });
  // readline emits lines as soon as the input flows; lines emitted before anyone iterates are
  // lost. Taking the iterator now makes it buffer them until the RPC starts pulling.
  const iterator = reader[Symbol.asyncIterator]();
  const name = source === "-" ? "stdin" : source;
  return {
    lines: {
      [Symbol.asyncIterator]: () => ({
        // A read error surfaces inside the RPC's request stream; naming the file keeps it recognisable.
        next: () =>
          iterator.next().catch((error: unknown) => {
            throw fileFailure("read", name, error);
          }),
      }),
    },
    close() {
      reader.close();
      input.destroy();
    },
  };
}
