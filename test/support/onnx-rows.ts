// Scoring with an exported model as a caller in another language would: rows built from the
// model card alone, run by a fresh onnxruntime session.
import * as ort from "onnxruntime-node";
import { FeatureColumnKind, type ModelCard } from "../../gen/agentlearning/v1/admin_service_pb.js";

/** Builds one input row from the card alone, as a caller in another language would. */
export function handBuiltRow(card: ModelCard, taskType: string, agents: readonly string[], complexity: number): Float32Array {
  const row = new Float32Array(card.columns.length);
  for (const column of card.columns) {
    if (column.kind === FeatureColumnKind.COMPLEXITY) row[column.index] = complexity;
    else if (column.kind === FeatureColumnKind.TEAM_SIZE) row[column.index] = agents.length;
    else if (column.kind === FeatureColumnKind.TASK_TYPE) row[column.index] = column.value === taskType ? 1 : 0;
    else if (column.kind === FeatureColumnKind.AGENT) row[column.index] = agents.includes(column.value) ? 1 : 0;
  }
  return row;
}

/** Runs an ONNX file on rows with a fresh onnxruntime session, reading the names from the card. */
export async function runOnnx(bytes: Uint8Array, card: ModelCard, rows: Float32Array, count: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run({ [card.inputName]: new ort.Tensor("float32", rows, [count, card.columns.length]) });
    const data = result[card.outputName]?.data;
    if (!(data instanceof Float32Array)) throw new Error(`output ${card.outputName} is not a float tensor`);
    return data;
  } finally {
    await session.release();
  }
}
