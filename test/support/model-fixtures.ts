import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { sql } from "slonik";
import { z } from "zod";
import { ModelKind, ModelStatus, type ModelVersion } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { type Execution, ExecutionSchema } from "../../gen/agentlearning/v1/execution_pb.js";
import type { ConfigInput } from "../../src/config.js";
import { createRng } from "../../src/sim/random.js";
import type { TestServer } from "./server.js";
import { world } from "./world-history.js";

/**
 * Server configuration for model tests: automatic retraining and analysis never run on their own
 * (every threshold far beyond what a test records or waits), so every model a test sees is one it
 * trained itself; predictions read fresh evidence.
 */
export const QUIET_MODELS: ConfigInput = {
  retrainEveryExecutions: 1_000_000_000,
  retrainIntervalMs: 1_000_000_000,
  analysisEveryExecutions: 1_000_000_000,
  analysisIntervalMs: 1_000_000_000,
  evidenceCacheMs: 0,
};

/**
 * QUIET_MODELS with the evidence cache as in production (1 s, refreshed in the background), for
 * tests none of whose predictions depends on executions recorded just before it: their calls
 * share a task type's snapshot and its ranking instead of rereading both per call (with
 * evidenceCacheMs 0 every call reads the task type's aggregates, hundreds of rows, and ranks again).
 */
export const CACHED_EVIDENCE: ConfigInput = { ...QUIET_MODELS, evidenceCacheMs: 1_000 };

/** The success and the duration version of one Retrain, failing loudly when either is missing. */
export function byKind(models: readonly ModelVersion[]): { success: ModelVersion; duration: ModelVersion } {
  const success = models.find((m) => m.kind === ModelKind.SUCCESS);
  const duration = models.find((m) => m.kind === ModelKind.DURATION);
  if (!success || !duration)
    throw new Error(`expected one success and one duration version, got ${models.map((m) => m.version).join(", ")}`);
  return { success, duration };
}

/** A metric of a version, failing loudly when the server did not report it. */
export function metric(model: ModelVersion, name: string): number {
  const value = model.metrics[name];
  if (value === undefined) throw new Error(`${model.version} has no metric ${name} (has ${Object.keys(model.metrics).join(", ")})`);
  return value;
}

/** Rows of model_versions with status 'active', per kind, read in SQL (not through the API). */
export async function activeVersionsInSql(server: TestServer): Promise<{ kind: string; version: string }[]> {
  const rows = await server.db.any(
    sql.type(
      z.object({ kind: z.string(), version: z.string() }),
    )`SELECT kind, version FROM model_versions WHERE status = 'active' ORDER BY kind, version`,
  );
  return [...rows];
}

/** The activation history (model_activations), oldest first. */
export async function activationHistory(server: TestServer): Promise<{ version: string; kind: string; reason: string }[]> {
  const rows = await server.db.any(
    sql.type(z.object({ version: z.string(), kind: z.string(), reason: z.string() }))`
      SELECT version, kind, reason FROM model_activations ORDER BY activated_at, id`,
  );
  return [...rows];
}

/**
 * Executions whose outcome is independent of everything a model can see: random candidate teams
 * of random task types at random complexities, success a fair coin and duration log-normal around
 * a fixed median, all from a seeded generator. Nothing is learnable: any model that beats the base
 * rate on later rows does so by chance.
 */
export function coinFlipExecutions(count: number, seed: number, idPrefix = "coin"): Execution[] {
  const rng = createRng(seed);
  const taskTypes = world.taskTypes;
  return Array.from({ length: count }, (_, n) => {
    const taskType = rng.pick(taskTypes);
    const agents = world.randomTeam(taskType, rng);
    const complexity = world.sampleComplexity(rng);
    const success = rng.next() < 0.5;
    return create(ExecutionSchema, {
      executionId: `${idPrefix}-${seed}-${n}`,
      taskType,
      complexity,
      agents,
      durationSeconds: Math.round(120 * Math.exp(0.35 * rng.normal()) * 10) / 10,
      success,
      errorMessage: success ? "" : "tests failed after the change",
    });
  });
}

/** Polls `read` until `accept` holds or `timeoutMs` passes; returns the last value and the time it took. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs: number,
  everyMs = 20,
): Promise<{ value: T; ms: number; ok: boolean }> {
  const started = performance.now();
  for (;;) {
    const value = await read();
    const ms = performance.now() - started;
    if (accept(value)) return { value, ms, ok: true };
    if (ms > timeoutMs) return { value, ms, ok: false };
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** The ConnectError a call fails with; fails the test when the call succeeds or fails otherwise. */
export async function rejectionOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ConnectError) return error;
    throw error;
  }
  throw new Error("the call succeeded; an error was expected");
}

/**
 * Prints measured figures (AUC, parity, regret, load) when MODEL_TEST_FIGURES=1, so a run can
 * report them without every run being noisy.
 */
export function reportFigures(label: string, figures: Record<string, unknown>): void {
  if (process.env.MODEL_TEST_FIGURES === "1") process.stderr.write(`[figures] ${label} ${JSON.stringify(figures)}\n`);
}

export { ModelKind, ModelStatus };
