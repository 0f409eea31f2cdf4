import type { Command } from "commander";
import type { BulkResult } from "../../../gen/agentlearning/v1/execution_pb.js";
import type { ImportDataRequestSchema } from "../../../gen/agentlearning/v1/admin_service_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { executionChunks, type UnparseableLine } from "../execution-lines.js";
import { CliFailure } from "../failure.js";
import { openLines } from "../line-source.js";
import { type ClientOptions, withClientOptions } from "../options.js";
import { plural, printResult } from "../output.js";
import { withClient } from "../with-client.js";

/** Executions per ImportData message: well under the server's limit of 1,000 and its message size cap. */
const CHUNK_SIZE = 500;

/** Registers `import FILE`: loads JSON Lines (as `export` writes them) through ImportData. */
export function registerImport(program: Command): void {
  withClientOptions(
    program
      .command("import")
      .description("store the executions in FILE (JSON Lines, as export writes them); ids already stored count as duplicates")
      .argument("<file>", 'what to read; "-" reads stdin'),
  ).action((file: string, options: ClientOptions) =>
    withClient(options.address, async ({ admin }) => {
      const source = await openLines(file);
      const unparseable: UnparseableLine[] = [];
      // lineOf[i] is the line of the i-th execution sent: rejections name the upload index.
      const lineOf: number[] = [];
      async function* requests(): AsyncGenerator<MessageInitShape<typeof ImportDataRequestSchema>> {
        for await (const chunk of executionChunks(source.lines, CHUNK_SIZE, (problem) => unparseable.push(problem))) {
          for (const line of chunk.lineNumbers) lineOf.push(line);
          yield { executions: chunk.executions };
        }
      }
      let result: BulkResult | undefined;
      try {
        result = (await admin.importData(requests())).result;
      } finally {
        source.close();
      }
      const report = importReport(file, result, unparseable, lineOf);
      printResult(
        options,
        () => formatReport(report),
        () => report,
      );
      const failed = report.unparseable.length + report.rejected.length;
      if (failed > 0) {
        throw new CliFailure(
          `${plural(failed, "line")} of ${file === "-" ? "stdin" : file} not imported (${report.unparseable.length} unparseable, ${report.rejected.length} rejected)`,
        );
      }
    }),
  );
}

/** What an import did, in the shape `--json` prints. */
type ImportReport = {
  file: string;
  sent: number;
  stored: number;
  duplicates: number;
  rejected: { line: number | null; index: number; executionId: string; code: string; field: string; reason: string }[];
  unparseable: { line: number; error: string }[];
};

function importReport(file: string, result: BulkResult | undefined, unparseable: UnparseableLine[], lineOf: number[]): ImportReport {
  return {
    file,
    sent: lineOf.length,
    stored: result?.storedCount ?? 0,
    duplicates: result?.duplicateIds.length ?? 0,
    rejected: (result?.rejected ?? []).map((r) => ({
      line: lineOf[r.index] ?? null,
      index: r.index,
      executionId: r.executionId,
      code: r.code,
      field: r.field,
      reason: r.reason,
    })),
    unparseable: unparseable.map((u) => ({ line: u.line, error: u.error })),
  };
}

function formatReport(report: ImportReport): string {
  const summary =
    `imported ${report.file === "-" ? "stdin" : report.file}: ${report.stored} stored, ` +
    `${plural(report.duplicates, "duplicate")}, ${report.rejected.length} rejected, ` +
    `${plural(report.unparseable.length, "unparseable line")} (${plural(report.sent, "execution")} sent)`;
  const problems = [
    ...report.unparseable.map((u) => ({ line: u.line, text: `cannot parse: ${u.error}` })),
    ...report.rejected.map((r) => ({
      line: r.line ?? Number.POSITIVE_INFINITY,
      text: `rejected ${JSON.stringify(r.executionId)} (item ${r.index}, ${r.code})${r.field ? ` ${r.field}` : ""}: ${r.reason}`,
    })),
  ].sort((a, b) => a.line - b.line);
  return [summary, ...problems.map((p) => `  line ${Number.isFinite(p.line) ? p.line : "?"}: ${p.text}`)].join("\n");
}
