import { create, toJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ExecutionSchema } from "../../../gen/agentlearning/v1/execution_pb.js";
import { type ExecutionChunk, executionChunks, type UnparseableLine } from "../../../src/cli/execution-lines.js";

async function* linesOf(...lines: string[]): AsyncGenerator<string> {
  yield* lines;
}

function line(id: string): string {
  return toJsonString(ExecutionSchema, create(ExecutionSchema, { executionId: id, taskType: "t", agents: ["A"] }));
}

async function collect(lines: AsyncIterable<string>, chunkSize: number): Promise<{ chunks: ExecutionChunk[]; bad: UnparseableLine[] }> {
  const bad: UnparseableLine[] = [];
  const chunks: ExecutionChunk[] = [];
  for await (const chunk of executionChunks(lines, chunkSize, (problem) => bad.push(problem))) chunks.push(chunk);
  return { chunks, bad };
}

describe("executionChunks", () => {
  it("groups executions into chunks of the given size, the last one holding the rest", async () => {
    const { chunks } = await collect(linesOf(line("a"), line("b"), line("c")), 2);
    expect(chunks.map((c) => c.executions.map((e) => e.executionId))).toEqual([["a", "b"], ["c"]]);
  });

  it("keeps the 1-based line number of every execution, counting skipped blank lines", async () => {
    const { chunks } = await collect(linesOf(line("a"), "", "   ", line("b")), 10);
    expect(chunks[0]?.lineNumbers).toEqual([1, 4]);
  });

  it("reports a line that is not an execution and goes on with the next", async () => {
    const { chunks, bad } = await collect(linesOf(line("a"), "{nope", '{"unknownField": 1}', line("b")), 10);
    expect(chunks[0]?.executions.map((e) => e.executionId)).toEqual(["a", "b"]);
    expect(bad.map((b) => b.line)).toEqual([2, 3]);
    expect(bad.every((b) => b.error.length > 0)).toBe(true);
  });

  it("ignores a byte order mark at the start of the input", async () => {
    const { chunks, bad } = await collect(linesOf(`\uFEFF${line("a")}`), 10);
    expect(bad).toEqual([]);
    expect(chunks[0]?.executions[0]?.executionId).toBe("a");
  });

  it("yields nothing for an input without executions", async () => {
    const { chunks } = await collect(linesOf("", ""), 10);
    expect(chunks).toEqual([]);
  });
});
