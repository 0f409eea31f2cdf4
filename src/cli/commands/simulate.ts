import { type Command, InvalidArgumentError } from "commander";
import { randomSeed } from "../../sim/random.js";
import { DEFAULT_FOLLOW_SHARE, simulate, type SimulationSummary, WORLD_SEED } from "../../sim/simulate.js";
import { createWorld } from "../../sim/world.js";
import { CliFailure } from "../failure.js";
import { integerIn, numberIn } from "../option-parsers.js";
import { type ClientOptions, withClientOptions } from "../options.js";
import { percent, plural, printResult } from "../output.js";
import { createProgress } from "../progress.js";
import { withClient } from "../with-client.js";

interface SimulateOptions extends ClientOptions {
  seed?: number;
  followShare: number;
}

/** The most executions one run simulates: enough for any demo, small enough to finish. */
const MAX_COUNT = 1_000_000;

/**
 * Registers `simulate TASK_TYPE N`: fills a service with executions of the synthetic world
 * (src/sim/world.ts), half of them following its recommendations, so its learning can be watched
 * and checked against a known truth.
 */
export function registerSimulate(program: Command): void {
  const world = createWorld(WORLD_SEED);
  const taskTypes = ["all", ...world.taskTypes];
  withClientOptions(
    program
      .command("simulate")
      .description("record COUNT executions of a synthetic world whose best teams and clashing pairs are known (see README)")
      .argument("<task-type>", `one of ${taskTypes.join(", ")}`, (value: string) => {
        if (!taskTypes.includes(value)) throw new InvalidArgumentError(`expected one of ${taskTypes.join(", ")}`);
        return value;
      })
      .argument("<count>", "how many executions to simulate", integerIn(1, MAX_COUNT))
      .option("--seed <n>", "seed of the run's draws, to replay it (default: a random one, printed)", integerIn(0, 4_294_967_295))
      .option(
        "--follow-share <share>",
        "share of executions that ask PredictAgents and follow its top answer",
        numberIn(0, 1),
        DEFAULT_FOLLOW_SHARE,
      ),
  ).action((taskType: string, count: number, options: SimulateOptions) =>
    withClient(options.address, async ({ learning }) => {
      const seed = options.seed ?? randomSeed();
      const progress = createProgress(`simulating ${taskType}`);
      const summary = await simulate(
        { learning },
        {
          taskType,
          count,
          seed,
          followShare: options.followShare,
          world,
          onProgress: (done, total) => progress.update(done, total),
          onNotice: (message) => progress.note(`note: ${message}`),
        },
      );
      progress.finish();
      printResult(
        options,
        () => formatSummary(summary, options.followShare),
        () => summary,
      );
      if (summary.rejected > 0) {
        throw new CliFailure(
          `${plural(summary.rejected, "execution")} not stored` +
            (summary.rejections.some((r) => r.code === "ALREADY_EXISTS")
              ? " (a replayed --seed reuses execution ids: choose another seed)"
              : ""),
        );
      }
    }),
  );
}

/** The human summary of a run: what was stored, and how followed and own teams fared. */
export function formatSummary(summary: SimulationSummary, followShare: number): string {
  const rate = (value: number | null) => (value === null ? "n/a" : percent(value));
  const lines = [
    `simulated ${plural(summary.simulated, "execution")} of ${summary.taskType} (seed ${summary.seed}): ` +
      `${summary.stored} stored, ${plural(summary.duplicates, "duplicate")}, ${summary.rejected} rejected`,
    `  success rate     ${percent(summary.successRate)}`,
    `  followed advice  ${summary.followed} (${summary.followedApplied} applied by the service), success ${rate(summary.followedSuccessRate)}`,
    `  own teams        ${summary.simulated - summary.followed}, success ${rate(summary.ownSuccessRate)}`,
  ];
  if (summary.recommendationsUnavailable !== null) lines.push(`  recommendations  unavailable: ${summary.recommendationsUnavailable}`);
  for (const r of summary.rejections) lines.push(`  rejected ${r.executionId} (${r.code}): ${r.reason}`);
  if (summary.rejected > summary.rejections.length) lines.push(`  … and ${summary.rejected - summary.rejections.length} more rejected`);
  lines.push(
    `replay on a fresh service: agent-learning simulate ${summary.taskType} ${summary.simulated} --seed ${summary.seed} --follow-share ${followShare}`,
  );
  return lines.join("\n");
}
