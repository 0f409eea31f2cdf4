// The feature map shared by training and serving. Every model carries its own map (stored with
// it and in its ONNX metadata), and rows are always encoded with the map of the model that will
// read them: a model never sees columns it was not trained with, whatever the catalog has become.
//
// Columns, in order:
//   0  complexity (the Execution.complexity scale, 0–10)
//   1  team size (number of agents)
//   2… one column per task type known at training time (1 for the row's task type, else 0)
//   …  one column per agent known at training time (1 when the agent is on the team, else 0)
// An agent or task type the model never saw contributes no column: the row is encoded without it,
// and serving reports that the model does not know the task type (and falls back).

/** A model's own column layout. */
export interface FeatureMap {
  version: 1;
  taskTypes: string[];
  agents: string[];
  /** Training rows per task type: serving falls back to statistics below a minimum. */
  taskTypeRows: Record<string, number>;
}

/** Fixed leading columns. */
export const NUMERIC_FEATURES = ["complexity", "team_size"] as const;

/** Number of columns a map produces. */
export function featureCount(map: FeatureMap): number {
  return NUMERIC_FEATURES.length + map.taskTypes.length + map.agents.length;
}

/** The column names, for metadata and debugging. */
export function featureNames(map: FeatureMap): string[] {
  return [...NUMERIC_FEATURES, ...map.taskTypes.map((t) => `task_type=${t}`), ...map.agents.map((a) => `agent=${a}`)];
}

/** Fast lookup of a map's columns; build once per model. */
export interface FeatureEncoder {
  map: FeatureMap;
  width: number;
  taskColumn: Map<string, number>;
  agentColumn: Map<string, number>;
}

/** Prepares a map for encoding many rows. */
export function featureEncoder(map: FeatureMap): FeatureEncoder {
  const base = NUMERIC_FEATURES.length;
  return {
    map,
    width: featureCount(map),
    taskColumn: new Map(map.taskTypes.map((t, i) => [t, base + i])),
    agentColumn: new Map(map.agents.map((a, i) => [a, base + map.taskTypes.length + i])),
  };
}

/** Writes one row's features at `row` of a row-major matrix (already zeroed). */
export function encodeRow(
  encoder: FeatureEncoder,
  out: Float32Array,
  row: number,
  taskType: string,
  agents: readonly string[],
  complexity: number,
): void {
  const offset = row * encoder.width;
  out[offset] = complexity;
  out[offset + 1] = agents.length;
  const taskColumn = encoder.taskColumn.get(taskType);
  if (taskColumn !== undefined) out[offset + taskColumn] = 1;
  for (const agent of agents) {
    const column = encoder.agentColumn.get(agent);
    if (column !== undefined) out[offset + column] = 1;
  }
}
