import { teamKey } from "../domain/team.js";
import { encodeRow, type FeatureMap, featureEncoder } from "./features.js";

/** One execution as training sees it. */
export interface TrainingExample {
  taskType: string;
  agents: readonly string[];
  complexity: number;
  success: boolean;
  durationSeconds: number;
  recordedAtUs: bigint;
}

/** The identity of an example's team within its task type (agent order and repeats aside). */
export function taskTeamKey(e: Pick<TrainingExample, "taskType" | "agents">): string {
  return `${e.taskType}\u0000${teamKey(e.agents)}`;
}

/**
 * Each example's team within its task type (taskTeamKey) as a dense integer, 0 … count − 1, so
 * per-team sums live in typed arrays: one training reads each example's team in several places,
 * and building a key (dedupe, sort, join) or looking one up in a map of 10^5 teams cost seconds at
 * 10^6 rows. Ids are shared across the sets given, in one id space.
 */
export interface TeamIds {
  /** Per set given, its examples' team ids, in order. */
  sets: Int32Array[];
  /** Teams across all sets. */
  count: number;
}

/** Writes the distinct names of `agents`, sorted, into `out` (reused: no allocation per row). */
function sortedDistinct(agents: readonly string[], out: string[]): void {
  out.length = 0;
  for (const agent of agents) {
    let j = out.length;
    while (j > 0 && out[j - 1]! > agent) j--;
    if (j > 0 && out[j - 1] === agent) continue;
    out.splice(j, 0, agent);
  }
}

/** A node of teamIds' trie: a task type and the agents after it, sorted. */
interface FormNode {
  /** The team's id when a form ends here, else -1. */
  id: number;
  next: Map<string, FormNode> | undefined;
}

/** Numbers the teams of the examples of every set, in one id space. */
export function teamIds(...sets: (readonly TrainingExample[])[]): TeamIds {
  // A trie over (task type, distinct agents in sorted order), which is exactly taskTeamKey's
  // identity: the id is found with a map lookup per agent and no string built (building and
  // hashing a key per row cost 1.6 µs at 10^6 rows); a team's id is its node's, given when first seen.
  const root: FormNode = { id: -1, next: undefined };
  let count = 0;
  const step = (node: FormNode, name: string): FormNode => {
    node.next ??= new Map();
    let child = node.next.get(name);
    if (!child) {
      child = { id: -1, next: undefined };
      node.next.set(name, child);
    }
    return child;
  };
  const sorted: string[] = [];
  const out = sets.map((examples) => {
    const ids = new Int32Array(examples.length);
    for (let i = 0; i < examples.length; i++) {
      const e = examples[i]!;
      sortedDistinct(e.agents, sorted);
      let node = step(root, e.taskType);
      for (const agent of sorted) node = step(node, agent);
      if (node.id < 0) node.id = count++;
      ids[i] = node.id;
    }
    return ids;
  });
  return { sets: out, count };
}

/** A matrix of examples with both targets. */
export interface EncodedSet {
  features: Float32Array;
  rows: number;
  featureCount: number;
  /** 1 for success, 0 for failure. */
  success: Float64Array;
  /** ln(1 + duration_seconds). */
  logDuration: Float64Array;
}

/**
 * Training, early-stopping validation and gate holdout sets, each later in time than the one before:
 * the rows that choose the number of trees never judge the model.
 */
export interface TrainingSplit {
  featureMap: FeatureMap;
  train: EncodedSet;
  validation: EncodedSet;
  holdout: EncodedSet;
  /** The holdout examples themselves, to encode them with an active model's own map. */
  holdoutExamples: readonly TrainingExample[];
  windowStartUs: bigint;
  windowEndUs: bigint;
}

/** Share of the (chronologically ordered) examples used for early stopping. */
export const VALIDATION_SHARE = 0.15;
/** Share of the newest examples held out for the quality gate alone. */
export const HOLDOUT_SHARE = 0.15;

/** Builds the feature map from the examples a model is trained on. */
export function buildFeatureMap(examples: readonly TrainingExample[]): FeatureMap {
  const taskTypeRows: Record<string, number> = {};
  const agents = new Set<string>();
  for (const e of examples) {
    taskTypeRows[e.taskType] = (taskTypeRows[e.taskType] ?? 0) + 1;
    for (const a of e.agents) agents.add(a);
  }
  return { version: 1, taskTypes: Object.keys(taskTypeRows).sort(), agents: [...agents].sort(), taskTypeRows };
}

/** Encodes examples with a map (any map: the active model's, to evaluate it on the same rows). */
export function encodeExamples(map: FeatureMap, examples: readonly TrainingExample[]): EncodedSet {
  const encoder = featureEncoder(map);
  const features = new Float32Array(examples.length * encoder.width);
  const success = new Float64Array(examples.length);
  const logDuration = new Float64Array(examples.length);
  examples.forEach((e, row) => {
    encodeRow(encoder, features, row, e.taskType, e.agents, e.complexity);
    success[row] = e.success ? 1 : 0;
    logDuration[row] = Math.log1p(e.durationSeconds);
  });
  return { features, rows: examples.length, featureCount: encoder.width, success, logDuration };
}

/**
 * Splits examples (oldest first) into training rows, LATER early-stopping rows and the NEWEST
 * holdout rows, so the quality gate judges a model on executions that happened after everything it
 * learned from and that played no part in choosing it.
 */
export function splitChronologically(examples: readonly TrainingExample[], whole?: EncodedRows): TrainingSplit {
  const cut = Math.floor(examples.length * (1 - VALIDATION_SHARE - HOLDOUT_SHARE));
  const holdoutCut = Math.floor(examples.length * (1 - HOLDOUT_SHARE));
  const trainExamples = examples.slice(0, cut);
  const holdoutExamples = examples.slice(holdoutCut);
  const featureMap = buildFeatureMap(trainExamples);
  // Every column of the training rows' map is usually a column of the whole history's too, in the
  // same place: the rows are then already encoded, and encoding them again cost seconds at 10^6.
  const reuse = whole !== undefined && whole.set.rows === examples.length && sameColumns(featureMap, whole.map);
  const part = (from: number, to: number) =>
    reuse ? encodedRows(whole.set, from, to) : encodeExamples(featureMap, examples.slice(from, to));
  return {
    featureMap,
    train: part(0, cut),
    validation: part(cut, holdoutCut),
    holdout: part(holdoutCut, examples.length),
    holdoutExamples,
    windowStartUs: examples[0]?.recordedAtUs ?? 0n,
    windowEndUs: examples.at(-1)?.recordedAtUs ?? 0n,
  };
}

/** Examples already encoded with a map. */
export interface EncodedRows {
  map: FeatureMap;
  set: EncodedSet;
}

/** Whether two maps encode every example into the same columns. */
function sameColumns(a: FeatureMap, b: FeatureMap): boolean {
  const same = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return same(a.taskTypes, b.taskTypes) && same(a.agents, b.agents);
}

/** Rows [from, to) of an encoded set, sharing its memory (nothing writes to a training set). */
export function encodedRows(set: EncodedSet, from: number, to: number): EncodedSet {
  return {
    features: set.features.subarray(from * set.featureCount, to * set.featureCount),
    rows: to - from,
    featureCount: set.featureCount,
    success: set.success.subarray(from, to),
    logDuration: set.logDuration.subarray(from, to),
  };
}
