import { type MessageInitShape, toJsonString } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import type { ExportDataRequestSchema } from "../../../gen/agentlearning/v1/admin_service_pb.js";
import { ExecutionSchema } from "../../../gen/agentlearning/v1/execution_pb.js";
import { writeLines } from "../line-sink.js";
import { parseTime } from "../option-parsers.js";
import { type ClientOptions, withClientOptions } from "../options.js";
import { plural, printResult } from "../output.js";
import { withClient } from "../with-client.js";

interface ExportOptions extends ClientOptions {
  taskType?: string;
  recordedAfter?: Date;
  recordedBefore?: Date;
}

/** Registers `export FILE`: every stored execution as JSON Lines, the format `import` reads back. */
export function registerExport(program: Command): void {
  withClientOptions(
    program
      .command("export")
      .description("write stored executions to FILE as JSON Lines, one execution per line, oldest first")
      .argument("<file>", 'where to write; "-" writes to stdout')
      .option("--task-type <type>", "only executions of this task type")
      .option("--recorded-after <time>", "only executions recorded at or after this ISO 8601 time", parseTime)
      .option("--recorded-before <time>", "only executions recorded before this ISO 8601 time", parseTime),
  ).action((file: string, options: ExportOptions) =>
    withClient(options.address, async ({ admin }) => {
      const request: MessageInitShape<typeof ExportDataRequestSchema> = {
        taskType: options.taskType ?? "",
        recordedAfter: options.recordedAfter && timestampFromDate(options.recordedAfter),
        recordedBefore: options.recordedBefore && timestampFromDate(options.recordedBefore),
      };
      let count = 0;
      async function* lines(): AsyncGenerator<string> {
        for await (const response of admin.exportData(request)) {
          if (!response.execution) continue;
          count++;
          yield `${toJsonString(ExecutionSchema, response.execution)}\n`;
        }
      }
      const outcome = await writeLines(file, lines());
      const complete = outcome === "complete";
      // With `-` stdout carries the data, so the report goes to stderr either way there.
      printResult(
        options,
        () =>
          complete
            ? `exported ${plural(count, "execution")} to ${file === "-" ? "stdout" : file}`
            : `stopped after ${plural(count, "execution")}: the reader closed stdout`,
        () => ({ file, exported: count, complete }),
        file === "-" || !options.json ? "stderr" : "stdout",
      );
    }),
  );
}
