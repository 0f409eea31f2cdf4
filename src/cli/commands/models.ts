import { writeFile } from "node:fs/promises";
import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { ActivateModelResponseSchema, ListModelsResponseSchema } from "../../../gen/agentlearning/v1/admin_service_pb.js";
import { cardFileText } from "../../service/model-card.js";
import { formatModels } from "../model-table.js";
import { type ClientOptions, withClientOptions } from "../options.js";
import { plural, printResult } from "../output.js";
import { withClient } from "../with-client.js";
import { registerChallenger } from "./challenger.js";

/**
 * Registers `models` (list versions), `models activate VERSION` (roll back or forward, forced),
 * `models export VERSION`, and the challenger subcommands (challenger.ts).
 */
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
    models
      .command("activate <version>")
      .description("make VERSION the active model of its kind on every replica (rollback or roll forward), forced: no evidence judged"),
  ).action((version: string, _local: ClientOptions, command: Command) => {
    // `models` takes the same options as its subcommands, and commander gives them to it.
    const options = command.optsWithGlobals<ClientOptions>();
    return withClient(options.address, async ({ admin }) => {
      const response = await admin.activateModel({ version });
      printResult(
        options,
        () => `active now: ${response.model?.version ?? version}`,
        () => toJson(ActivateModelResponseSchema, response, { alwaysEmitImplicit: true }),
      );
    });
  });
  registerChallenger(models);
  withClientOptions(
    models
      .command("export <version>")
      .description("write VERSION's ONNX file to PATH and its card (inputs, output, figures) beside it as .json")
      .option("--out <path>", "where to write the ONNX file; the card goes to the same name ending in .json", undefined),
  ).action((version: string, _local: ClientOptions, command: Command) => {
    const options = command.optsWithGlobals<ClientOptions & { out?: string }>();
    return withClient(options.address, async ({ admin }) => {
      const response = await admin.getModel({ version });
      if (!response.card) throw new Error(`the server answered without the card of ${version}`);
      const onnxPath = options.out ?? `${version}.onnx`;
      const cardPath = `${onnxPath.replace(/\.onnx$/i, "")}.json`;
      await writeFile(onnxPath, response.onnx);
      await writeFile(cardPath, cardFileText(response.card));
      printResult(
        options,
        () => `wrote ${onnxPath} (${plural(response.onnx.length, "byte")}) and its card ${cardPath}`,
        () => ({ version, onnx: onnxPath, card: cardPath, bytes: response.onnx.length }),
      );
    });
  });
}
