import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { z } from "zod";
import { ModelKind } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { type Interval, IntervalSchema } from "../../gen/agentlearning/v1/learning_pb.js";
import {
  type RateEstimate,
  RateEstimateSchema,
  type ReportService,
  type SuccessBucket,
  SuccessBucketSchema,
} from "../../gen/agentlearning/v1/report_service_pb.js";
import { betaInterval } from "../learning/beta.js";
import { listModelVersions } from "../store/models.js";
import { readActivations, readCalibration, readDurationPoints } from "../store/reports/model-report.js";
import { readSuccessOverTime } from "../store/reports/success-over-time.js";
import { readPairFailures, readTaskTypeTotals, readTeamStandings } from "../store/reports/team-report.js";
import type { ServiceDependencies } from "./dependencies.js";
import { timestampFromMicros } from "./execution-mapping.js";
import { modelToProto } from "./model-service.js";
import { parseRequest, taskTypeSchema } from "./validation.js";

/** Level of every interval the reports give. */
const LEVEL = 0.9;

const optionalTaskType = z.union([z.literal(""), taskTypeSchema]).transform((t) => (t === "" ? undefined : t));

/** 0 means the default; otherwise within [min, max]. */
function countOrDefault(min: number, max: number, fallback: number) {
  return z
    .number()
    .int()
    .refine((n) => n === 0 || (n >= min && n <= max), {
      message: `must be 0 or between ${min} and ${max}`,
      params: { reason: "OUT_OF_RANGE" },
    })
    .transform((n) => (n === 0 ? fallback : n));
}

const successSchema = z.object({ taskType: optionalTaskType, buckets: countOrDefault(2, 100, 20) });
const teamSchema = z.object({
  taskType: optionalTaskType,
  maxTeams: countOrDefault(1, 50, 10),
  minExecutions: z
    .number()
    .int()
    .transform((n) => Math.max(1, n)),
});
const modelSchema = z.object({ calibrationBins: countOrDefault(2, 20, 10), durationPoints: countOrDefault(1, 2000, 500) });

/** The 90% Beta(1 + s, 1 + f) credible interval of a rate. */
function rateInterval(executions: bigint, successes: bigint): Interval {
  const interval = betaInterval({ alpha: 1 + Number(successes), beta: 1 + Number(executions - successes) }, LEVEL);
  return create(IntervalSchema, interval);
}

function rateEstimate(executions: bigint, successes: bigint): RateEstimate {
  return create(RateEstimateSchema, {
    executionCount: executions,
    successCount: successes,
    successRate: executions > 0n ? Number(successes) / Number(executions) : 0,
    interval: rateInterval(executions, successes),
  });
}

/** The ReportService handlers: read-only figures for the web console. */
export function reportService(deps: ServiceDependencies): ServiceImpl<typeof ReportService> {
  return {
    async getSuccessOverTime(request) {
      const r = parseRequest(successSchema, request);
      // "Followed" looks the recommendation up in the log: write the queued answers first.
      await deps.recommendationLog.flush();
      const counts = await readSuccessOverTime(deps.pool, r.taskType, r.buckets);
      if (counts.firstUs === null || counts.lastUs === null) return { series: [], executionCount: 0n };
      const first = counts.firstUs;
      const width = Number(counts.lastUs - first + 1n) / r.buckets;
      const edge = (k: number) => timestampFromMicros(first + BigInt(Math.round(k * width)));
      const perType = new Map<string, { executions: bigint; cells: Map<string, { executions: bigint; successes: bigint }> }>();
      for (const row of counts.rows) {
        const entry = perType.get(row.task_type) ?? { executions: 0n, cells: new Map() };
        entry.executions += row.executions;
        entry.cells.set(`${row.bucket}:${row.followed}`, { executions: row.executions, successes: row.successes });
        perType.set(row.task_type, entry);
      }
      const series = [...perType.entries()]
        .sort(([a, x], [b, y]) => (x.executions === y.executions ? a.localeCompare(b) : x.executions > y.executions ? -1 : 1))
        .map(([taskType, { cells }]) => {
          const buckets: SuccessBucket[] = [];
          for (let k = 1; k <= r.buckets; k++) {
            const followed = cells.get(`${k}:true`) ?? { executions: 0n, successes: 0n };
            const other = cells.get(`${k}:false`) ?? { executions: 0n, successes: 0n };
            buckets.push(
              create(SuccessBucketSchema, {
                start: edge(k - 1),
                end: edge(k),
                followed: rateEstimate(followed.executions, followed.successes),
                notFollowed: rateEstimate(other.executions, other.successes),
              }),
            );
          }
          return { taskType, buckets };
        });
      return { series, executionCount: counts.executions };
    },

    async getTeamReport(request) {
      const r = parseRequest(teamSchema, request);
      const totals = await readTaskTypeTotals(deps.pool, r.taskType);
      const taskTypes = await Promise.all(
        totals.map(async (t) => {
          const [teams, pairs] = await Promise.all([
            readTeamStandings(deps.pool, t.task_type, r.minExecutions, r.maxTeams),
            readPairFailures(deps.pool, t.task_type),
          ]);
          return {
            taskType: t.task_type,
            executionCount: t.executions,
            successRate: t.executions > 0n ? Number(t.successes) / Number(t.executions) : 0,
            teams: teams.map((team) => ({
              agents: team.agents,
              executionCount: team.executions,
              successCount: team.successes,
              posteriorMean: (1 + Number(team.successes)) / (2 + Number(team.executions)),
              successInterval: rateInterval(team.executions, team.successes),
              medianDurationSeconds: team.median_duration,
              p90DurationSeconds: team.p90_duration,
            })),
            pairs: pairs.map((p) => ({
              agentA: p.agent_a,
              agentB: p.agent_b,
              executionCount: p.executions,
              failureCount: p.failures,
              failureRate: p.executions > 0n ? Number(p.failures) / Number(p.executions) : 0,
              dominantError: p.dominant_error ?? "",
              dominantErrorCount: p.dominant_error_count ?? 0n,
            })),
          };
        }),
      );
      return { taskTypes };
    },

    async getModelReport(request) {
      const r = parseRequest(modelSchema, request);
      // The calibration joins the logged recommendations: write the queued answers first.
      await deps.recommendationLog.flush();
      const [versions, activations, calibration, durations] = await Promise.all([
        listModelVersions(deps.pool, {}),
        readActivations(deps.pool),
        readCalibration(deps.pool, r.calibrationBins),
        readDurationPoints(deps.pool, r.durationPoints),
      ]);
      const byBin = new Map(calibration.bins.map((b) => [b.bin, b]));
      const evaluated = Number(calibration.evaluated);
      let ece = 0;
      const bins = Array.from({ length: r.calibrationBins }, (_, k) => {
        const bin = byBin.get(k);
        if (bin && evaluated > 0) ece += (Number(bin.count) / evaluated) * Math.abs(bin.predicted - bin.observed);
        return {
          lower: k / r.calibrationBins,
          upper: (k + 1) / r.calibrationBins,
          count: bin?.count ?? 0n,
          meanPredicted: bin?.predicted ?? 0,
          observedRate: bin?.observed ?? 0,
        };
      });
      return {
        versions: versions.map(modelToProto),
        activations: activations.map((a) => ({
          version: a.version,
          kind: a.kind === "success" ? ModelKind.SUCCESS : ModelKind.DURATION,
          reason: a.reason,
          forced: a.forced,
          activatedAt: timestampFromMicros(a.activated_at_us),
          deactivatedAt: a.deactivated_at_us === null ? undefined : timestampFromMicros(a.deactivated_at_us),
        })),
        calibration: { evaluatedCount: calibration.evaluated, bins, expectedCalibrationError: ece, brierScore: calibration.brier ?? 0 },
        durations: durations.map((d) => ({
          predictedSeconds: d.predicted,
          actualSeconds: d.actual,
          taskType: d.task_type,
          modelVersion: d.model_version ?? "",
          recordedAt: timestampFromMicros(d.recorded_at_us),
        })),
      };
    },
  };
}
