import { fromJsonString } from "@bufbuild/protobuf";
import { type Execution, ExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";

/** A run of parsed executions, with the line each came from so server answers can point back at it. */
export interface ExecutionChunk {
  executions: Execution[];
  /** lineNumbers[i] is the 1-based line of executions[i]. */
  lineNumbers: number[];
}

/** A line that is not an Execution in the proto's JSON form. */
export interface UnparseableLine {
  /** 1-based line number. */
  line: number;
  /** Why it could not be read. */
  error: string;
}

/**
 * Parses JSON Lines into executions, in chunks, as the lines arrive: the input is never held in
 * memory as a whole. Blank lines are skipped; a line that does not parse is handed to
 * `onUnparseable` and the rest go on, so one bad line does not cost a whole import.
 */
export async function* executionChunks(
  lines: AsyncIterable<string>,
  chunkSize: number,
  onUnparseable: (problem: UnparseableLine) => void,
): AsyncGenerator<ExecutionChunk> {
  let chunk: ExecutionChunk = { executions: [], lineNumbers: [] };
  let line = 0;
  for await (const raw of lines) {
    line++;
    // Editors on Windows may start the file with a byte order mark; it is not part of the JSON.
    const text = line === 1 ? raw.replace(/^\uFEFF/, "") : raw;
    if (text.trim() === "") continue;
    let execution: Execution;
    try {
      execution = fromJsonString(ExecutionSchema, text);
    } catch (error) {
      onUnparseable({ line, error: error instanceof Error ? error.message : String(error) });
      continue;
    }
    chunk.executions.push(execution);
    chunk.lineNumbers.push(line);
    if (chunk.executions.length >= chunkSize) {
      yield chunk;
      chunk = { executions: [], lineNumbers: [] };
    }
  }
  if (chunk.executions.length > 0) yield chunk;
}
