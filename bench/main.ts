import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.js";
import { measureBulk } from "./bulk-ingest.js";
import { type EvaluatePlan, measureEvaluate } from "./evaluate-policies.js";
import { measureCopy } from "./copy-baseline.js";
import { type BenchPostgres, openBenchPostgres } from "./database.js";
import { type InferencePlan, measureInference } from "./inference.js";
import { measurePredict, type PredictPlan } from "./predict.js";
import { measurePropensity, type PropensityPlan } from "./propensity.js";
import { type AnalyzePlan, measureAnalyzeScaling } from "./analyze-scaling.js";
import { type BenchResults, ratiosOf, renderReport } from "./report.js";
import { measureShadow, type ShadowPlan } from "./shadow.js";
import { measureSoak, type SoakPlan } from "./soak.js";
import { measureTrain, type TrainPlan } from "./train.js";
import { measureUnary, type UnaryPlan } from "./unary-ingest.js";
import { measureQuality, type QualityPlan } from "./learning-quality.js";
import { worldExecutions } from "./world.js";

/** What one run does: the full plan takes ~5 minutes here, --quick about one and a half. */
interface Plan {
  unary: UnaryPlan;
  bulkRows: number;
  messageSize: number;
  rounds: number;
  train: TrainPlan;
  inference: InferencePlan;
  predict: PredictPlan;
  analyze: AnalyzePlan;
  soak: SoakPlan;
  quality: QualityPlan;
  propensity: PropensityPlan;
  evaluate: EvaluatePlan;
  shadow: ShadowPlan;
}

const SEED = 20_250_106;

/** The soak's mix is the same in both plans; only its length changes. */
function soakPlan(durationMs: number, warmupMs: number, noopMs: number): SoakPlan {
  return {
    durationMs,
    warmupMs,
    noopMs,
    recordCallers: 8,
    predictCallers: 2,
    bulkEveryMs: 1_000,
    bulkSize: 48,
    bulkMessageSize: 12,
    subscribers: 2,
    rssEveryMs: 1_000,
    seed: SEED,
  };
}

const FULL: Plan = {
  unary: { concurrencies: [1, 8, 32], rounds: 5, noopMs: 1_000, recordMs: 2_000, warmupMs: 1_000, seed: SEED },
  bulkRows: 50_000,
  messageSize: 500,
  rounds: 3,
  train: { sizes: [10_000, 100_000, 1_000_000], timeoutMs: 90_000, seed: SEED },
  inference: { trainingRows: 100_000, runs: 1_000, warmup: 100, seed: SEED },
  predict: {
    concurrencies: [1, 8],
    rounds: 3,
    noopMs: 1_000,
    predictMs: 1_200,
    warmupMs: 1_000,
    executions: 5_000,
    extraExecutions: 5_000,
    retrainWindowMs: 3_000,
    retrainRounds: 2,
    seed: SEED,
  },
  analyze: { sizes: [10_000, 100_000, 1_000_000], rounds: 3, seed: SEED },
  soak: soakPlan(60_000, 3_000, 2_000),
  quality: {
    sizes: [1_000, 5_000, 20_000, 100_000],
    testRows: 2_000,
    complexities: [1, 2, 4],
    mix: { rareShare: 0.3 },
    seed: SEED,
    follower: { habits: 1_000, tasks: 3_000, window: 500 },
  },
  propensity: {
    contenders: [8, 32],
    quadratureRuns: 50,
    explorations: [0, 0.3],
    executions: 5_000,
    rounds: 3,
    noopMs: 1_000,
    predictMs: 1_200,
    warmupMs: 1_000,
    seed: SEED,
  },
  evaluate: { sizes: [10_000, 100_000], rounds: 3, seed: SEED },
  shadow: { executions: 5_000, rounds: 6, predictMs: 1_200, warmupMs: 1_000, seed: SEED },
};

const QUICK: Plan = {
  unary: { concurrencies: [1, 8, 32], rounds: 3, noopMs: 400, recordMs: 700, warmupMs: 400, seed: SEED },
  bulkRows: 10_000,
  messageSize: 500,
  rounds: 3,
  train: { sizes: [10_000, 100_000], timeoutMs: 60_000, seed: SEED },
  inference: { trainingRows: 10_000, runs: 500, warmup: 50, seed: SEED },
  predict: {
    concurrencies: [1, 8],
    rounds: 2,
    noopMs: 400,
    predictMs: 600,
    warmupMs: 400,
    executions: 5_000,
    extraExecutions: 5_000,
    retrainWindowMs: 2_000,
    retrainRounds: 1,
    seed: SEED,
  },
  analyze: { sizes: [10_000, 100_000], rounds: 3, seed: SEED },
  soak: soakPlan(10_000, 1_500, 1_000),
  quality: {
    sizes: [1_000, 5_000, 20_000],
    testRows: 2_000,
    complexities: [1, 2, 4],
    mix: { rareShare: 0.3 },
    seed: SEED,
    follower: { habits: 1_000, tasks: 0, window: 500 },
  },
  propensity: {
    contenders: [8, 32],
    quadratureRuns: 20,
    explorations: [0, 0.3],
    executions: 5_000,
    rounds: 2,
    noopMs: 400,
    predictMs: 600,
    warmupMs: 400,
    seed: SEED,
  },
  evaluate: { sizes: [10_000], rounds: 3, seed: SEED },
  shadow: { executions: 5_000, rounds: 2, predictMs: 600, warmupMs: 400, seed: SEED },
};

const SECTIONS = [
  "unary",
  "bulk",
  "copy",
  "train",
  "inference",
  "predict",
  "propensity",
  "shadow",
  "analyze",
  "soak",
  "quality",
  "evaluate",
] as const;
type Section = (typeof SECTIONS)[number];

const USAGE = `usage: node dist/bench/main.js [--quick] [--json] [--only unary,bulk,copy,train,inference,predict,propensity,shadow,analyze,soak,quality,evaluate]
  --quick   shorter rounds, 10,000 bulk rows, training at 10^4 and 10^5 only, a 10 s soak instead of 60 s, learning quality up to 2·10^4 executions (a smoke run; figures are noisier)
  --json    the table goes to stderr, a JSON summary to stdout
  --only    run only the named sections
The soak fails the run (exit code 1, after the report) on any RPC error, a lost or doubly counted
execution, or a server that does not drain cleanly.
Database: BENCH_DATABASE_URL or DATABASE_URL (a role that may CREATE/DROP DATABASE), else an
embedded PostgreSQL in a fresh temporary directory, removed at the end.`;

function parseOptions(argv: string[]): { quick: boolean; json: boolean; sections: Set<Section> } {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      only: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const only = values.only
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean) ?? [...SECTIONS];
  for (const name of only) {
    if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`unknown section ${name}\n${USAGE}`);
  }
  return { quick: values.quick ?? false, json: values.json ?? false, sections: new Set(only as Section[]) };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const plan = options.quick ? QUICK : FULL;
  const progress = (message: string) => process.stderr.write(`[bench] ${message}\n`);
  const startedAt = new Date();
  progress(
    `starting PostgreSQL (${process.env.BENCH_DATABASE_URL ? "BENCH_DATABASE_URL" : process.env.DATABASE_URL ? "DATABASE_URL" : "embedded"})`,
  );
  const postgres = await openBenchPostgres(process.env);
  // Ctrl-C still removes the embedded server's temporary directory.
  const interrupted = () => void postgres.close().finally(() => process.exit(130));
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    const settings = await postgres.describe();
    // The service runs with its defaults (an empty environment): these shape the figures.
    const defaults = loadConfig({}, {});
    const results: Omit<BenchResults, "ratios"> = {
      meta: {
        startedAt: startedAt.toISOString(),
        mode: options.quick ? "quick" : "full",
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? "unknown",
        // Other work on the machine skews every figure: the 1-minute load average says how much there was.
        loadAverageStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
        database: postgres.source,
        pgVersion: settings.server_version ?? "?",
        fsync: settings.fsync ?? "?",
        synchronousCommit: settings.synchronous_commit ?? "?",
        sharedBuffers: settings.shared_buffers ?? "?",
        unaryRounds: plan.unary.rounds,
        bulkRounds: plan.rounds,
        copyRounds: Math.max(plan.rounds, 5),
        poolSize: defaults.poolSize,
        bulkBatchSize: defaults.bulkBatchSize,
        noopMs: plan.unary.noopMs,
        recordMs: plan.unary.recordMs,
        bulkRows: plan.bulkRows,
        predictRounds: plan.predict.rounds,
        predictNoopMs: plan.predict.noopMs,
        predictMs: plan.predict.predictMs,
        retrainWindowMs: plan.predict.retrainWindowMs,
        retrainRounds: plan.predict.retrainRounds,
        inferenceRuns: plan.inference.runs,
        soakMs: plan.soak.durationMs,
        seed: SEED,
      },
    };
    await runSections(postgres, plan, options.sections, results, progress);
    const full: BenchResults = { ...results, ratios: ratiosOf(results) };
    full.meta.seconds = Math.round((Date.now() - startedAt.getTime()) / 100) / 10;
    full.meta.loadAverageEnd = Math.round((loadavg()[0] ?? 0) * 100) / 100;
    const report = renderReport(full);
    if (options.json) {
      process.stderr.write(`${report}\n`);
      process.stdout.write(`${JSON.stringify(full, null, 2)}\n`);
    } else {
      process.stdout.write(`${report}\n`);
    }
    progress(`done in ${full.meta.seconds} s`);
    // Only now, with the whole report printed: a failed soak fails the run.
    for (const failure of full.soak?.failures ?? []) process.stderr.write(`[bench] SOAK FAILED: ${failure}\n`);
    if ((full.soak?.failures.length ?? 0) > 0) process.exitCode = 1;
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    await postgres.close();
  }
}

async function runSections(
  postgres: BenchPostgres,
  plan: Plan,
  sections: Set<Section>,
  results: Omit<BenchResults, "ratios">,
  progress: (message: string) => void,
): Promise<void> {
  if (sections.has("unary")) {
    progress(`unary: no-op and RecordExecution at concurrencies ${plan.unary.concurrencies.join(", ")}`);
    results.unary = await measureUnary(postgres, plan.unary);
  }
  if (sections.has("bulk") || sections.has("copy")) await runIngest(postgres, plan, sections, results, progress);
  if (sections.has("train")) {
    results.train = await measureTrain(plan.train, progress);
  }
  if (sections.has("inference")) {
    progress(`inference: success model trained on ${plan.inference.trainingRows} examples, ${plan.inference.runs} runs per case`);
    results.inference = await measureInference(plan.inference);
  }
  if (sections.has("predict")) {
    results.predict = await measurePredict(postgres, plan.predict, progress);
  }
  if (sections.has("propensity")) {
    results.propensity = await measurePropensity(postgres, plan.propensity, progress);
  }
  if (sections.has("shadow")) {
    results.shadow = await measureShadow(postgres, plan.shadow, progress);
  }
  if (sections.has("analyze")) {
    progress(`analyze: Analyze time at ${plan.analyze.sizes.join(", ")} recorded executions`);
    results.analyze = await measureAnalyzeScaling(postgres, plan.analyze);
  }
  if (sections.has("quality")) {
    results.quality = await measureQuality(postgres, plan.quality, progress);
  }
  if (sections.has("evaluate")) {
    progress(`evaluate: EvaluatePolicies time at ${plan.evaluate.sizes.join(", ")} credited decisions`);
    results.evaluate = await measureEvaluate(postgres, plan.evaluate, progress);
  }
  if (sections.has("soak")) {
    results.soak = await measureSoak(postgres, plan.soak, progress);
  }
}

async function runIngest(
  postgres: BenchPostgres,
  plan: Plan,
  sections: Set<Section>,
  results: Omit<BenchResults, "ratios">,
  progress: (message: string) => void,
): Promise<void> {
  // The same rows for the stream and for COPY, generated before any clock starts.
  const executions = worldExecutions(SEED, "bulk", plan.bulkRows);
  if (sections.has("bulk")) {
    progress(`bulk: RecordExecutions of ${plan.bulkRows} executions, ${plan.rounds} rounds`);
    results.bulk = await measureBulk(postgres, executions, { rounds: plan.rounds, messageSize: plan.messageSize });
  }
  if (sections.has("copy")) {
    progress(`copy: COPY FROM STDIN of the same rows, ${Math.max(plan.rounds, 5)} rounds`);
    // COPY rounds are short (well under a second each): more of them steady the median.
    const copy = await measureCopy(postgres, executions, Math.max(plan.rounds, 5));
    results.copy = copy.targets;
    results.csvEncoding = copy.encoding;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
