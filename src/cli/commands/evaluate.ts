import { toJson } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import {
  type EvaluatePoliciesResponse,
  EvaluatePoliciesResponseSchema,
  type PolicyValueEstimate,
  PolicyVerdict,
} from "../../../gen/agentlearning/v1/evaluation_pb.js";
import { parseTime } from "../option-parsers.js";
import { type ClientOptions, withClientOptions } from "../options.js";
import { percent, plural, printResult } from "../output.js";
import { formatTable } from "../table.js";
import { withClient } from "../with-client.js";

interface EvaluateOptions extends ClientOptions {
  since?: Date;
  taskType?: string;
}

/** Registers `evaluate`: what other policies would have achieved on the credited decisions. */
export function registerEvaluate(program: Command): void {
  withClientOptions(
    program
      .command("evaluate")
      .description("estimate off-policy what each policy's success rate and mean duration would have been on the credited decisions")
      .option("--since <time>", "only decisions made at or after this ISO 8601 time", parseTime)
      .option("--task-type <type>", "only decisions of this task type"),
  ).action((options: EvaluateOptions) =>
    withClient(options.address, async ({ admin }) => {
      const response = await admin.evaluatePolicies({
        taskType: options.taskType ?? "",
        ...(options.since ? { since: timestampFromDate(options.since) } : {}),
      });
      printResult(
        options,
        () => formatEvaluation(response, process.stdout.columns),
        () => toJson(EvaluatePoliciesResponseSchema, response, { alwaysEmitImplicit: true }),
      );
    }),
  );
}

const interval = (e: PolicyValueEstimate | undefined, show: (x: number) => string) =>
  e ? `${show(e.value)} [${show(e.interval?.lower ?? 0)}, ${show(e.interval?.upper ?? 0)}]` : "—";
const seconds = (x: number) => `${x.toFixed(0)}s`;

/** The human report: counts, one row per policy, then each policy's verdict in words. */
export function formatEvaluation(r: EvaluatePoliciesResponse, width?: number): string {
  const head = `${plural(r.creditedCount, "credited decision")}: ${r.followedCount} followed (evaluated), ${r.notFollowedCount} where the caller ran another team (left out)`;
  const table = formatTable(
    [
      { header: "policy" },
      { header: "success (doubly robust, 95%)" },
      { header: "success (IPS)" },
      { header: "duration (doubly robust)" },
      { header: "ESS", align: "right" },
      { header: "support", align: "right" },
      { header: "verdict" },
    ],
    r.policies.map((p) => [
      p.name,
      interval(p.success?.doublyRobust, percent),
      interval(p.success?.ips, percent),
      interval(p.durationSeconds?.doublyRobust, seconds),
      p.effectiveSampleSize.toFixed(0),
      percent(p.supportedShare),
      (PolicyVerdict[p.verdict] ?? "?").toLowerCase().replace("_", " "),
    ]),
    { indent: "  ", ...(width ? { width } : {}) },
  );
  const words = r.policies.map((p) => `  ${p.name}: ${p.explanation}`);
  return [head, table, "", ...words, "", `computed in ${r.elapsedSeconds.toFixed(2)} s`].join("\n");
}
