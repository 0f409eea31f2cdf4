import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { ActivateModelResponseSchema, ListModelsResponseSchema } from "../../../gen/agentlearning/v1/admin_service_pb.js";
import { formatModels } from "../model-table.js";
import { type ClientOptions, withClientOptions } from "../options.js";
import { printResult } from "../output.js";
import { withClient } from "../with-client.js";

/** Registers `models` (list versions) and `models activate VERSION` (roll back or forward). */
export function registerModels(program: Command): void {
  const models = withClientOptions(program.command("models").description("list model versions with their held-out figures")).action(
    (options: ClientOptions) =>
      withClient(options.address, async ({ admin }) => {
        const response = await admin.listModels({});
        printResult(
          options,
          () => formatModels(response.models, process.stdout.columns),
          () => toJson(ListModelsResponseSchema, response, { alwaysEmitImplicit: true }),
        );
      }),
  );
  withClientOptions(
    models.command("activate <version>").description("make VERSION the active model of its kind on every replica (rollback or roll forward)"),
  ).action((version: string, options: ClientOptions) =>
    withClient(options.address, async ({ admin }) => {
      const response = await admin.activateModel({ version });
      printResult(
        options,
        () => `active now: ${response.model?.version ?? version}`,
        () => toJson(ActivateModelResponseSchema, response, { alwaysEmitImplicit: true }),
      );
    }),
  );
}
