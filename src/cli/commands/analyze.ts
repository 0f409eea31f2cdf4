import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { type AnalyzeResponse, AnalyzeResponseSchema } from "../../../gen/agentlearning/v1/admin_service_pb.js";
import { type ClientOptions, withClientOptions } from "../options.js";
import { plural, printResult } from "../output.js";
import { withClient } from "../with-client.js";

interface AnalyzeOptions extends ClientOptions {
  taskType?: string;
}

/** Registers `analyze`: runs pattern analysis now rather than waiting for the service's schedule. */
export function registerAnalyze(program: Command): void {
  withClientOptions(
    program
      .command("analyze")
      .description("run pattern analysis now and report the insights it created, updated and retired")
      .option("--task-type <type>", "only this task type (default: all)"),
  ).action((options: AnalyzeOptions) =>
    withClient(options.address, async ({ admin }) => {
      const taskType = options.taskType ?? "";
      const response = await admin.analyze({ taskType });
      printResult(
        options,
        () => formatAnalysis(response, taskType),
        () => toJson(AnalyzeResponseSchema, response, { alwaysEmitImplicit: true }),
      );
    }),
  );
}

/** "analysed 1200 executions of all task types: 3 insights created, 1 updated, 0 retired". */
export function formatAnalysis(response: AnalyzeResponse, taskType: string): string {
  return (
    `analysed ${plural(response.executionCount, "execution")} of ${taskType === "" ? "all task types" : taskType}: ` +
    `${plural(response.createdCount, "insight")} created, ${response.updatedCount} updated, ${response.retiredCount} retired`
  );
}
