// EvaluatePolicies time against the size of the decision log (issue 10): one database grown
// through the sizes; each decision is a PredictAgents-like answer in the synthetic world (a
// greedy habitual team put first with probability 0.8, the task type's other habitual teams share
// the rest), logged in `decisions` and `recommendations`, and credited by an execution recorded
// through the store's own insert (aggregates included) with its recommendation id; one in ten
// callers runs another team. Rows are written in large batches to reach 10^5 quickly; the timed
// part is the RPC through a real server, reading included.
import { randomUUID } from "node:crypto";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { sql } from "slonik";
import { z } from "zod";
import { teamKey } from "../src/domain/team.js";
import { validateExecution } from "../src/service/execution-input.js";
import { createRng } from "../src/sim/random.js";
import { worldExecution } from "../src/sim/world-execution.js";
import { createWorld } from "../src/sim/world.js";
import type { ExecutionRecord } from "../src/store/execution-record.js";
import { insertExecutions } from "../src/store/executions.js";
import { readEvaluationLog } from "../src/store/evaluation-log.js";
import { migrate } from "../src/store/migrate.js";
import { createStorePool } from "../src/store/pool.js";
import type { BenchPostgres } from "./database.js";
import { startBenchService } from "./service.js";
import { median } from "./stats.js";

/** What the section measures. */
export interface EvaluatePlan {
  sizes: number[];
  rounds: number;
  seed: number;
}

/** EvaluatePolicies time at one log size. */
export interface EvaluateFigure {
  decisions: number;
  followed: number;
  medianMs: number;
  roundsMs: number[];
  /** The server's own elapsed_seconds of the median round, in ms (reading and evaluating, no transport). */
  serverMs: number;
  /** The store's read of the log alone (readEvaluationLog, median of the rounds), in ms: the rest of serverMs is evaluation. */
  readMs: number;
  /** Policies evaluated (each stored success model version adds one). */
  policies: number;
}

const BATCH = 2_000;
/** Automatic analysis and retraining off: only the evaluation is measured. */
const QUIET = {
  logLevel: "warn" as const,
  retrainEveryExecutions: 1_000_000_000,
  retrainIntervalMs: 1_000_000_000,
  analysisEveryExecutions: 1_000_000_000,
  analysisIntervalMs: 1_000_000_000,
};
const EXPLORATION = 0.2;

/** Grows one log through the sizes and times EvaluatePolicies over all of it at each. */
export async function measureEvaluate(
  postgres: BenchPostgres,
  plan: EvaluatePlan,
  progress: (message: string) => void,
): Promise<EvaluateFigure[]> {
  const url = await postgres.freshDatabase("evaluate");
  await migrate(url);
  const pool = await createStorePool(url, { maximumPoolSize: 4 });
  const world = createWorld(1);
  const rng = createRng(plan.seed);
  const knownAgents = new Set<string>();
  const figures: EvaluateFigure[] = [];
  let logged = 0;
  try {
    for (const size of [...plan.sizes].sort((a, b) => a - b)) {
      while (logged < size) {
        const count = Math.min(BATCH, size - logged);
        const decisions: Record<string, unknown>[] = [];
        const recommendations: Record<string, unknown>[] = [];
        const records: ExecutionRecord[] = [];
        for (let i = 0; i < count; i++) {
          const n = logged + i;
          const taskType = rng.pick(world.taskTypes);
          const complexity = world.sampleComplexity(rng);
          const teams = world.candidateTeams(taskType).map((t) => [...t].sort());
          const k = teams.length;
          // π: the first habitual team greedily, the others by exploration.
          const pi = teams.map((_, j) => (j === 0 ? 1 - EXPLORATION : 0) + EXPLORATION / k);
          let u = rng.next();
          let j = 0;
          while (j < k - 1 && u >= pi[j]!) u -= pi[j++]!;
          const first = teams[j]!;
          const own = world.randomTeam(taskType, rng);
          const agents = rng.chance(0.1) ? own : first;
          const outcome = world.sampleExecution(taskType, agents, complexity, rng);
          const recommendationId = randomUUID();
          decisions.push({
            decision_id: randomUUID(),
            request_id: randomUUID(),
            task_type: taskType,
            complexity,
            mode: "autonomous",
            policy: "statistical",
            success_weight: 0.8,
            exploration: EXPLORATION,
            candidate_count: k,
            floor_propensity: EXPLORATION / k,
            first_agent_set: teamKey(first),
            first_propensity: pi[j],
            greedy_agent_set: teamKey(teams[0]!),
            top_teams: [{ agent_set: teamKey(teams[0]!), probability: pi[0], success_probability: 0.5, expected_duration_seconds: 100 }],
            recommendation_id: recommendationId,
          });
          recommendations.push({
            recommendation_id: recommendationId,
            task_type: taskType,
            complexity,
            agents: first,
            agent_set: teamKey(first),
            propensity: pi[j],
            caller_agent_set: teamKey(own),
          });
          const validation = validateExecution(
            worldExecution(`evaluate-${n}`, { taskType, complexity, agents }, outcome, {
              recommendationId,
              finishedAt: timestampFromMs(Date.now()),
            }),
          );
          if (!validation.ok)
            throw new Error(`the bench world produced an invalid execution: ${validation.issues[0]?.message ?? "invalid"}`);
          records.push(validation.record);
        }
        await insertLog(pool, decisions, recommendations);
        await insertExecutions(pool, records, knownAgents);
        logged += count;
      }
      const bench = await startBenchService(url, QUIET);
      try {
        const timeRounds = async () => {
          const roundsMs: number[] = [];
          const serverMs: number[] = [];
          let followed = 0;
          let policies = 0;
          for (let r = 0; r < plan.rounds; r++) {
            const started = process.hrtime.bigint();
            const response = await bench.admin.evaluatePolicies({});
            roundsMs.push(Number(process.hrtime.bigint() - started) / 1e6);
            serverMs.push(response.elapsedSeconds * 1000);
            if (Number(response.creditedCount) !== size)
              throw new Error(`EvaluatePolicies read ${response.creditedCount} decisions, expected ${size}`);
            followed = Number(response.followedCount);
            policies = response.policies.length;
          }
          return { roundsMs, serverMs, followed, policies };
        };
        const timed = await timeRounds();
        const readMs: number[] = [];
        for (let r = 0; r < plan.rounds; r++) {
          const started = process.hrtime.bigint();
          const rows = await readEvaluationLog(pool);
          readMs.push(Number(process.hrtime.bigint() - started) / 1e6);
          if (rows.length !== size) throw new Error(`read ${rows.length} decisions, expected ${size}`);
        }
        const figure = (t: typeof timed): EvaluateFigure => ({
          decisions: size,
          followed: t.followed,
          medianMs: median(t.roundsMs),
          roundsMs: t.roundsMs,
          serverMs: median(t.serverMs),
          readMs: median(readMs),
          policies: t.policies,
        });
        figures.push(figure(timed));
        progress(`evaluate at ${size} decisions: ${median(timed.roundsMs).toFixed(0)} ms`);
        // At the largest size, again with a trained success model: each stored version is a policy
        // of its own, scored through its own session per decision context.
        if (size === Math.max(...plan.sizes)) {
          await bench.admin.retrain({});
          const withModel = await timeRounds();
          figures.push(figure(withModel));
          progress(`evaluate at ${size} decisions with a trained model: ${median(withModel.roundsMs).toFixed(0)} ms`);
        }
      } finally {
        await bench.stop();
      }
    }
  } finally {
    await pool.end();
    await postgres.dropDatabase(url);
  }
  return figures;
}

/** Writes a batch of decisions and their first recommendations in one statement each. */
async function insertLog(
  pool: Awaited<ReturnType<typeof createStorePool>>,
  decisions: Record<string, unknown>[],
  recommendations: Record<string, unknown>[],
): Promise<void> {
  await pool.query(sql.type(z.object({}))`
    INSERT INTO decisions (decision_id, request_id, task_type, complexity, mode, policy, success_weight, exploration,
      candidate_count, floor_propensity, first_agent_set, first_propensity, greedy_agent_set, top_teams, recommendation_id)
    SELECT decision_id, request_id, task_type, complexity, mode, policy, success_weight, exploration,
      candidate_count, floor_propensity, first_agent_set, first_propensity, greedy_agent_set, top_teams, recommendation_id
    FROM jsonb_to_recordset(${sql.jsonb(decisions as never)}) AS r(decision_id text, request_id text, task_type text,
      complexity double precision, mode text, policy text, success_weight double precision, exploration double precision,
      candidate_count integer, floor_propensity double precision, first_agent_set text, first_propensity double precision,
      greedy_agent_set text, top_teams jsonb, recommendation_id text)`);
  await pool.query(sql.type(z.object({}))`
    INSERT INTO recommendations (recommendation_id, request_id, rank, task_type, complexity, agents, agent_set,
      success_probability, expected_duration_seconds, confidence, propensity, exploratory, source, mode, applied, caller_agent_set)
    SELECT recommendation_id, recommendation_id, 1, task_type, complexity, agents, agent_set, 0.5, 100, 0.5, propensity,
      false, 'statistical', 'autonomous', true, caller_agent_set
    FROM jsonb_to_recordset(${sql.jsonb(recommendations as never)}) AS r(recommendation_id text, task_type text,
      complexity double precision, agents text[], agent_set text, propensity double precision, caller_agent_set text)`);
}

/** The section's table. */
export function renderEvaluate(figures: readonly EvaluateFigure[]): string {
  const lines = [
    "EvaluatePolicies time against the decision log's size (policies × 2 outcomes; median of rounds, one database grown through the sizes; the last row with a trained success model)",
  ];
  lines.push(" decisions   followed   policies   median ms   server ms   of which read ms   rounds ms");
  for (const f of figures) {
    lines.push(
      `${String(f.decisions).padStart(10)}   ${String(f.followed).padStart(8)}   ${String(f.policies).padStart(8)}   ${f.medianMs.toFixed(0).padStart(9)}   ${f.serverMs.toFixed(0).padStart(9)}   ${f.readMs.toFixed(0).padStart(16)}   ${f.roundsMs.map((ms) => ms.toFixed(0)).join(" / ")}`,
    );
  }
  return lines.join("\n");
}
