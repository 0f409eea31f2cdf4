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

/** Gives an example's taskTeamKey. */
export type TeamKeyOf = (e: TrainingExample) => string;

/**
 * taskTeamKey computed once per example: one training reads each example's team in four places,
 * and building the key (dedupe, sort, join) costs more than any of them at 10^6 rows.
 */
export function memoTeamKeys(examples: readonly TrainingExample[]): TeamKeyOf {
  const keys = new Map<TrainingExample, string>();
  for (const e of examples) keys.set(e, taskTeamKey(e));
  return (e) => keys.get(e) ?? taskTeamKey(e);
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
export function splitChronologically(examples: readonly TrainingExample[]): TrainingSplit {
  const cut = Math.floor(examples.length * (1 - VALIDATION_SHARE - HOLDOUT_SHARE));
  const holdoutCut = Math.floor(examples.length * (1 - HOLDOUT_SHARE));
  const trainExamples = examples.slice(0, cut);
  const holdoutExamples = examples.slice(holdoutCut);
  const featureMap = buildFeatureMap(trainExamples);
  return {
    featureMap,
    train: encodeExamples(featureMap, trainExamples),
    validation: encodeExamples(featureMap, examples.slice(cut, holdoutCut)),
    holdout: encodeExamples(featureMap, holdoutExamples),
    holdoutExamples,
    windowStartUs: examples[0]?.recordedAtUs ?? 0n,
    windowEndUs: examples.at(-1)?.recordedAtUs ?? 0n,
  };
}
