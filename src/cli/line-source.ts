import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

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
    const handle = await open(source, "r");
    input = handle.createReadStream();
  }
  // crlfDelay: a "\r\n" split across chunks is still one line break.
  const reader = createInterface({ input, crlfDelay: Infinity });
  return {
    lines: reader,
    close() {
      reader.close();
      input.destroy();
    },
  };
}
