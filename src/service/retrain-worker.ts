// Child-process entry of a retraining: reads the training window from PostgreSQL over its own
// connection, trains both models and sends them back. Everything heavy (parsing rows, building the
// matrix, growing trees, writing ONNX) happens here, in a process the parent runs at the lowest
// CPU priority, so on a small machine the server's event loop keeps its core.
import type { ActiveModel, TrainedModel } from "../ml/train-models.js";
import { trainModels } from "../ml/train-models.js";
import type { TrainingExample } from "../ml/training-set.js";
import { createStorePool } from "../store/pool.js";
import { readTrainingPage, trainingWindowStart } from "../store/models.js";

/** What the service process sends the training child. */
export interface RetrainJob {
  databaseUrl: string;
  maxRows: number;
  versionStamp: string;
  active: { success?: ActiveModel; duration?: ActiveModel };
}

/** What the training child answers. */
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

function reply(message: RetrainReply): void {
  // Exit only once the reply is handed over; the parent reads it before the exit.
  process.send?.(message, () => process.exit(0));
}

process.once("message", (job: RetrainJob) => {
  run(job).then(reply, (error: unknown) =>
    reply({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
