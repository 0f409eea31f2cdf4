import { toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import {
  type ArmStatus,
  ChallengerMode,
  ClearChallengerResponseSchema,
  GetRolloutResponseSchema,
  PromoteChallengerResponseSchema,
  type PromotionDecision,
  PromotionOutcome,
  type Rollout,
  SetChallengerResponseSchema,
} from "../../../gen/agentlearning/v1/rollout_pb.js";
import { numberIn } from "../option-parsers.js";
import { type ClientOptions, withClientOptions } from "../options.js";
import { percent, printResult } from "../output.js";
import { withClient } from "../with-client.js";

/** One line describing a rollout. */
function rolloutLine(r: Rollout): string {
  const how = r.mode === ChallengerMode.CANARY ? `canary serving ${percent(r.canaryShare)} of calls` : "shadow (scored, never returned)";
  return `rollout ${r.id}: ${r.version} (${r.kind}) as ${how}; champion ${r.championVersion || "none"}`;
}

function armLine(a: ArmStatus): string {
  return `  ${a.arm.padEnd(10)} ${a.version}  success ${percent(a.successRate)} [${percent(a.lower)}, ${percent(a.upper)}]  credited ${a.creditedCount} of ${a.decisionCount}`;
}

function decisionLine(d: PromotionDecision): string {
  return `  ${PromotionOutcome[d.outcome].toLowerCase()} ${d.challengerVersion} (rollout ${d.rolloutId}): ${d.reason}`;
}

/** Runs `command`'s action with its options and those of `models` (commander gives the shared ones to the parent). */
function action<A extends unknown[]>(run: (options: ClientOptions & Record<string, unknown>, ...args: A) => Promise<void>) {
  return (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    return run(command.optsWithGlobals(), ...(args.slice(0, -2) as A));
  };
}

/**
 * Registers the challenger subcommands of `models`: `shadow VERSION`, `canary VERSION --share S`,
 * `rollout` (the state, the arms, the promotion decisions), `promote [--confidence C] [--margin M]`
 * and `clear-challenger`.
 */
export function registerChallenger(models: Command): void {
  const set = (mode: ChallengerMode) =>
    action<[string]>((options, version) =>
      withClient(options.address, async ({ admin }) => {
        const share = typeof options.share === "number" ? options.share : 0;
        const response = await admin.setChallenger({ version, mode, canaryShare: share });
        printResult(
          options,
          () => (response.rollout ? rolloutLine(response.rollout) : "no rollout"),
          () => toJson(SetChallengerResponseSchema, response, { alwaysEmitImplicit: true }),
        );
      }),
    );
  withClientOptions(
    models.command("shadow <version>").description("score VERSION on every prediction beside the active model, logged, never returned"),
  ).action(set(ChallengerMode.SHADOW));
  withClientOptions(
    models
      .command("canary <version>")
      .description("let VERSION serve a share of predictions (sticky per routing key), the active model the rest")
      .requiredOption("--share <share>", "the share of calls VERSION serves, strictly between 0 and 1", numberIn(0, 1)),
  ).action(set(ChallengerMode.CANARY));
  withClientOptions(models.command("clear-challenger").description("end the shadow or canary rollout under way")).action(
    action<[]>((options) =>
      withClient(options.address, async ({ admin }) => {
        const response = await admin.clearChallenger({});
        printResult(
          options,
          () => (response.ended ? `ended ${rolloutLine(response.ended)}` : "no rollout was under way"),
          () => toJson(ClearChallengerResponseSchema, response, { alwaysEmitImplicit: true }),
        );
      }),
    ),
  );
  withClientOptions(
    models.command("rollout").description("the challenger under way, each arm's credited success, the latest promotion decisions"),
  ).action(
    action<[]>((options) =>
      withClient(options.address, async ({ admin }) => {
        const response = await admin.getRollout({});
        printResult(
          options,
          () =>
            [
              response.rollout ? rolloutLine(response.rollout) : "no rollout under way",
              ...response.arms.map(armLine),
              ...(response.decisions.length > 0 ? ["promotion decisions, newest first:", ...response.decisions.map(decisionLine)] : []),
            ].join("\n"),
          () => toJson(GetRolloutResponseSchema, response, { alwaysEmitImplicit: true }),
        );
      }),
    ),
  );
  withClientOptions(
    models
      .command("promote")
      .description("activate the challenger if the evidence shows it at least as good as the active model; records the decision")
      .option("--confidence <level>", "confidence of the one-sided bound, in (0.5, 1); default 0.95", numberIn(0.5, 1))
      .option("--margin <m>", "shortfall tolerated, in [0, 0.5); default 0", numberIn(0, 0.5)),
  ).action(
    action<[]>((options) =>
      withClient(options.address, async ({ admin }) => {
        const response = await admin.promoteChallenger({
          confidence: typeof options.confidence === "number" ? options.confidence : 0,
          margin: typeof options.margin === "number" ? options.margin : 0,
        });
        printResult(
          options,
          () => (response.decision ? decisionLine(response.decision).trim() : "no decision"),
          () => toJson(PromoteChallengerResponseSchema, response, { alwaysEmitImplicit: true }),
        );
      }),
    ),
  );
}
