// Analyze time against the size of the history: analysis reads the running aggregates and a
// bounded window of recent executions, so its cost should stay roughly flat from 10^4 to 10^6
// recorded executions. Executions are written through the store's own insert (the same statement
// RecordExecutions uses, aggregates included) in large batches, to reach 10^6 in reasonable time.
import { runAnalysis } from "../src/service/analysis-runner.js";
import { validateExecution } from "../src/service/execution-input.js";
import type { ExecutionRecord } from "../src/store/execution-record.js";
import { insertExecutions } from "../src/store/executions.js";
import { migrate } from "../src/store/migrate.js";
import { createStorePool } from "../src/store/pool.js";
import type { BenchPostgres } from "./database.js";
import { median } from "./stats.js";
import { toExecutionMessage, worldExecution } from "./world.js";

/** What the section measures. */
export interface AnalyzePlan {
  sizes: number[];
  rounds: number;
  seed: number;
}

/** Analyze time at one history size. */
export interface AnalyzeFigure {
  executions: number;
  medianMs: number;
  roundsMs: number[];
  insights: number;
}

const BATCH = 2_000;

/** Grows one database through the sizes and times a full Analyze at each. */
export async function measureAnalyzeScaling(postgres: BenchPostgres, plan: AnalyzePlan): Promise<AnalyzeFigure[]> {
  const url = await postgres.freshDatabase("analyze");
  await migrate(url);
  const pool = await createStorePool(url, { maximumPoolSize: 4 });
  const figures: AnalyzeFigure[] = [];
  const knownAgents = new Set<string>();
  let recorded = 0;
  try {
    for (const size of [...plan.sizes].sort((a, b) => a - b)) {
      while (recorded < size) {
        const count = Math.min(BATCH, size - recorded);
        const records: ExecutionRecord[] = [];
        for (let i = 0; i < count; i++) {
          const validation = validateExecution(toExecutionMessage(worldExecution(plan.seed, "an", recorded + i)));
          if (!validation.ok)
            throw new Error(`the bench world produced an invalid execution: ${validation.issues[0]?.message ?? "invalid"}`);
          records.push(validation.record);
        }
        await insertExecutions(pool, records, knownAgents);
        recorded += count;
      }
      const roundsMs: number[] = [];
      let insights = 0;
      for (let r = 0; r < plan.rounds; r++) {
        const started = process.hrtime.bigint();
        const outcome = await runAnalysis(pool, { tryOnly: false });
        roundsMs.push(Number(process.hrtime.bigint() - started) / 1e6);
        if (outcome.executions !== BigInt(size)) throw new Error(`Analyze covered ${outcome.executions} executions, expected ${size}`);
        insights = outcome.created + outcome.updated;
      }
      figures.push({ executions: size, medianMs: median(roundsMs), roundsMs, insights });
      process.stderr.write(`[bench] analyze at ${size} executions: ${median(roundsMs).toFixed(1)} ms\n`);
    }
  } finally {
    await pool.end();
    await postgres.dropDatabase(url);
  }
  return figures;
}

/** The section's table and closing line. */
export function renderAnalyzeScaling(figures: readonly AnalyzeFigure[]): string {
  const lines = ["Analyze time against history size (median of rounds; one database grown through the sizes)"];
  lines.push("executions   median ms   rounds ms");
  for (const f of figures) {
    lines.push(
      `${String(f.executions).padStart(10)}   ${f.medianMs.toFixed(1).padStart(9)}   ${f.roundsMs.map((ms) => ms.toFixed(1)).join(" / ")}`,
    );
  }
  const first = figures[0];
  const last = figures.at(-1);
  if (first && last && first !== last) {
    lines.push(`Analyze at ${last.executions} / at ${first.executions} executions: ${(last.medianMs / first.medianMs).toFixed(2)}`);
  }
  return lines.join("\n");
}
