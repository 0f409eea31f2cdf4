import { create, fromBinary, toJsonString } from "@bufbuild/protobuf";
import { FeatureColumnKind, type ModelCard, ModelCardSchema, ModelKind } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { ModelProtoSchema } from "../../gen/onnx/onnx_pb.js";
import { featureNames, NUMERIC_FEATURES } from "../ml/features.js";
import { FeatureMapSchema } from "../ml/model-schemas.js";
import type { ModelRecord } from "../store/models.js";
import { timestampFromMicros } from "./execution-mapping.js";

const OUTPUT_MEANING = {
  success: "probability of success in [0, 1]",
  duration: "ln(1 + duration seconds): the median duration is exp(output) - 1",
} as const;

const numericKinds: Record<(typeof NUMERIC_FEATURES)[number], FeatureColumnKind> = {
  complexity: FeatureColumnKind.COMPLEXITY,
  team_size: FeatureColumnKind.TEAM_SIZE,
};

/**
 * The card of a stored version: everything a caller outside the service needs to build input rows
 * by hand and read the output, with the version's figures and training window. Derived from the
 * stored feature map and the ONNX file itself (its graph's input and output names), so it cannot
 * drift from what the file does.
 */
export function modelCard(record: ModelRecord, activatedAtUs: bigint | null): ModelCard {
  const map = FeatureMapSchema.parse(record.feature_map);
  const names = featureNames(map);
  const graph = fromBinary(ModelProtoSchema, new Uint8Array(record.onnx)).graph;
  const columns = names.map((name, index) => {
    if (index < NUMERIC_FEATURES.length) return { index, name, kind: numericKinds[NUMERIC_FEATURES[index]!], value: "" };
    const isTask = index < NUMERIC_FEATURES.length + map.taskTypes.length;
    const value = isTask
      ? map.taskTypes[index - NUMERIC_FEATURES.length]!
      : map.agents[index - NUMERIC_FEATURES.length - map.taskTypes.length]!;
    return { index, name, kind: isTask ? FeatureColumnKind.TASK_TYPE : FeatureColumnKind.AGENT, value };
  });
  return create(ModelCardSchema, {
    version: record.version,
    kind: record.kind === "success" ? ModelKind.SUCCESS : ModelKind.DURATION,
    outputMeaning: OUTPUT_MEANING[record.kind],
    inputName: graph?.input[0]?.name ?? "",
    outputName: graph?.output[0]?.name ?? "",
    columns,
    // Sorted keys: the card file's bytes depend only on the version's content.
    taskTypeRows: Object.fromEntries(
      Object.entries(map.taskTypeRows)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([t, n]) => [t, BigInt(n)]),
    ),
    metrics: Object.fromEntries(Object.entries(record.metrics).sort(([a], [b]) => (a < b ? -1 : 1))),
    trainingRows: record.training_rows,
    windowStart: record.window_start_us === null ? undefined : timestampFromMicros(record.window_start_us),
    windowEnd: record.window_end_us === null ? undefined : timestampFromMicros(record.window_end_us),
    createdAt: timestampFromMicros(record.created_at_us),
    activatedAt: activatedAtUs === null ? undefined : timestampFromMicros(activatedAtUs),
  });
}

/** The card as the `<version>.json` file holds it: proto JSON, 2-space indentation, a final newline. */
export function cardFileText(card: ModelCard): string {
  return `${toJsonString(ModelCardSchema, card, { prettySpaces: 2 })}\n`;
}
