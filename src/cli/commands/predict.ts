import { type MessageInitShape, toJson } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { EstimateSource, type Interval, type Recommendation } from "../../../gen/agentlearning/v1/learning_pb.js";
import {
  type PredictAgentsRequestSchema,
  type PredictAgentsResponse,
  PredictAgentsResponseSchema,
} from "../../../gen/agentlearning/v1/learning_service_pb.js";
import { formatDuration } from "../durations.js";
import { estimateSourceName, learningModeName } from "../enum-names.js";
import { teamText } from "../insight-table.js";
import { integerIn, nameList, numberIn } from "../option-parsers.js";
import { type ClientOptions, withClientOptions } from "../options.js";
import { percent, printResult } from "../output.js";
import { formatTable } from "../table.js";
import { withClient } from "../with-client.js";

interface PredictOptions extends ClientOptions {
  count?: number;
  require?: string[];
  exclude?: string[];
  maxAgents?: number;
  successWeight?: number;
  exploration?: number;
  defaultAgents?: string[];
  deadline?: number;
  deadlineLevel?: number;
}

/** Registers `predict TASK_TYPE COMPLEXITY`: asks PredictAgents which teams to use, and shows why. */
export function registerPredict(program: Command): void {
  withClientOptions(
    program
      .command("predict")
      .description("rank teams of agents for a task (PredictAgents)")
      .argument("<task-type>", "the task type, e.g. web_development")
      .argument("<complexity>", "task complexity from 0 (trivial) through 1 (routine) to 10", numberIn(0, 10))
      .option("--count <n>", "how many recommendations (default 3)", integerIn(1, 20))
      .option("--require <agents>", "agents every team must include (comma-separated; repeatable)", nameList)
      .option("--exclude <agents>", "agents no team may include (comma-separated; repeatable)", nameList)
      .option("--max-agents <n>", "largest team size", integerIn(1, 64))
      .option("--success-weight <w>", "weight of success against speed, 0 to 1 (default 0.8)", numberIn(0, 1))
      .option("--exploration <rate>", "share of answers that may explore under-tested teams, 0 to 1 (default: the mode's)", numberIn(0, 1))
      .option("--default-agents <agents>", "the team you would use yourself (observation mode compares with it)", nameList)
      .option("--deadline <seconds>", "only teams likely to finish within this many seconds", numberIn(0, 366 * 24 * 3600))
      .option("--deadline-level <p>", "how likely, strictly between 0 and 1 (default 0.8)", numberIn(0, 1)),
  ).action((taskType: string, complexity: number, options: PredictOptions) =>
    withClient(options.address, async ({ learning }) => {
      const request: MessageInitShape<typeof PredictAgentsRequestSchema> = {
        taskType,
        complexity,
        maxRecommendations: options.count ?? 0,
        requiredAgents: options.require ?? [],
        excludedAgents: options.exclude ?? [],
        maxAgents: options.maxAgents ?? 0,
        successWeight: options.successWeight,
        explorationRate: options.exploration,
        callerDefaultAgents: options.defaultAgents ?? [],
        deadlineSeconds: options.deadline,
        deadlineLevel: options.deadlineLevel,
      };
      const response = await learning.predictAgents(request);
      printResult(
        options,
        () => formatPrediction(response, process.stdout.isTTY ? process.stdout.columns : undefined),
        () => toJson(PredictAgentsResponseSchema, response, { alwaysEmitImplicit: true }),
      );
    }),
  );
}

/**
 * The human form of a PredictAgents answer: the ranked table, then how the answer came about
 * (mode, applied, cold start, explanation) and, in observation mode, the evidence for promotion.
 */
export function formatPrediction(response: PredictAgentsResponse, width?: number): string {
  const lines: string[] = [];
  const recommendations = response.recommendations;
  // Only an answer to a request with a deadline carries the probability of meeting it.
  const withDeadline = recommendations.some((r) => r.deadlineProbability > 0);
  if (recommendations.length === 0) {
    lines.push("no recommendation");
  } else {
    lines.push(
      formatTable(
        [
          { header: "#", align: "right" },
          { header: "agents", maxWidth: 60 },
          { header: `success${levelNote(recommendations[0]?.successInterval)}` },
          { header: `duration${levelNote(recommendations[0]?.durationInterval)}` },
          { header: "confidence", align: "right" },
          { header: "n", align: "right" },
          { header: "source" },
          { header: "propensity", align: "right" },
          ...(withDeadline ? [{ header: "in time", align: "right" as const }] : []),
          { header: "rationale", flex: true },
        ],
        recommendations.map((r, i) => recommendationRow(r, i + 1, withDeadline)),
        { width },
      ),
    );
  }
  lines.push(
    `mode: ${learningModeName(response.mode)}   applied: ${response.applied ? "yes" : "no"}   cold start: ${response.coldStart ? "yes" : "no"}`,
  );
  if (response.explanation) lines.push(`explanation: ${response.explanation}`);
  const observation = response.observation;
  if (observation) {
    lines.push(
      `observation: the service would pick ${teamText(observation.servicePick)}; it agreed with callers in ` +
        `${percent(observation.agreementRate)} of ${observation.comparedCount} decisions; where they differed, callers succeeded ` +
        `${percent(observation.callerSuccessRate)} and the service's picks are estimated at ${percent(observation.serviceEstimatedSuccessRate)}`,
    );
  }
  return lines.join("\n");
}

function recommendationRow(r: Recommendation, rank: number, withDeadline: boolean): string[] {
  const success = percent(r.successProbability) + (r.successInterval ? ` (${percentRange(r.successInterval)})` : "");
  const duration =
    formatDuration(r.expectedDurationSeconds) +
    (r.durationInterval ? ` (${formatDuration(r.durationInterval.lower)}–${formatDuration(r.durationInterval.upper)})` : "");
  return [
    String(rank),
    teamText(r.agents),
    success,
    duration,
    r.confidence.toFixed(2),
    String(r.sampleSize),
    sourceText(r),
    r.propensity.toFixed(2),
    ...(withDeadline ? [percent(r.deadlineProbability)] : []),
    r.rationale,
  ];
}

/** " [90%]" after a column header, when the answer states its intervals' coverage. */
function levelNote(interval: Interval | undefined): string {
  return interval && interval.level > 0 ? ` [${Math.round(interval.level * 100)}%]` : "";
}

function percentRange(interval: Interval): string {
  return `${(interval.lower * 100).toFixed(1)}–${percent(interval.upper)}`;
}

function sourceText(r: Recommendation): string {
  const source = r.source === EstimateSource.MODEL && r.modelVersion ? `model ${r.modelVersion}` : estimateSourceName(r.source);
  return r.exploratory ? `${source}, exploring` : source;
}
