import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { RetrainResponseSchema } from "../../../gen/agentlearning/v1/admin_service_pb.js";
import { formatModels } from "../model-table.js";
import { type ClientOptions, withClientOptions } from "../options.js";
import { printResult } from "../output.js";
import { withClient } from "../with-client.js";

/** Registers `retrain`: trains new model versions now instead of waiting for the schedule. */
export function registerRetrain(program: Command): void {
  withClientOptions(
    program.command("retrain").description("train new success and duration models now; versions that pass the quality gate become active"),
  ).action((options: ClientOptions) =>
    withClient(options.address, async ({ admin }) => {
      const response = await admin.retrain({ force: true });
      printResult(
        options,
        () => formatModels(response.models, process.stdout.columns),
        () => toJson(RetrainResponseSchema, response, { alwaysEmitImplicit: true }),
      );
    }),
  );
}
