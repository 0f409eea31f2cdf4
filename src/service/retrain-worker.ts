// Worker thread entry of a retraining: reads the training window from PostgreSQL over its own
// connection, trains both models and posts them back. Everything heavy (parsing rows, building the
// matrix, growing trees, writing ONNX) happens here, off the event loop that answers RPCs.
import { parentPort, workerData } from "node:worker_threads";
import type { ActiveModel, TrainedModel } from "../ml/train-models.js";
import { trainModels } from "../ml/train-models.js";
import type { TrainingExample } from "../ml/training-set.js";
import { createStorePool } from "../store/pool.js";
import { readTrainingPage, trainingWindowStart } from "../store/models.js";

/** What the main thread sends. */
export interface RetrainJob {
  databaseUrl: string;
  maxRows: number;
  versionStamp: string;
  active: { success?: ActiveModel; duration?: ActiveModel };
}

/** What the worker answers. */
export type RetrainReply = { ok: true; models: TrainedModel[]; examples: number } | { ok: false; error: string };

const PAGE = 20_000;

async function run(job: RetrainJob): Promise<RetrainReply> {
  const pool = await createStorePool(job.databaseUrl, { maximumPoolSize: 1, applicationName: "agent-learning-retrain" });
  const examples: TrainingExample[] = [];
  try {
    const from = await trainingWindowStart(pool, job.maxRows);
    let after = 0n;
    for (;;) {
      const page = await readTrainingPage(pool, from, after, PAGE);
      for (const row of page) {
        examples.push({
          taskType: row.task_type,
          agents: row.agents,
          complexity: row.complexity,
          success: row.success,
          durationSeconds: row.duration_seconds,
          recordedAtUs: row.recorded_at_us,
        });
      }
      const last = page.at(-1);
      if (!last || page.length < PAGE) break;
      after = last.seq;
    }
  } finally {
    await pool.end();
  }
  return { ok: true, models: trainModels(examples, job.active, job.versionStamp), examples: examples.length };
}

run(workerData as RetrainJob).then(
  (reply) => parentPort?.postMessage(reply),
  (error: unknown) => parentPort?.postMessage({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
);
