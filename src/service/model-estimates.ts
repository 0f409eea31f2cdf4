import { betaInterval, betaMean } from "../learning/beta.js";
import { residualLogDuration } from "../learning/deadline.js";
import type { TaskEvidence } from "../learning/evidence.js";
import { indexEvidence, TEAM_PRIOR_STRENGTH, teamKey } from "../learning/team-prior.js";
import type { Estimate } from "../learning/estimate.js";
import type { EstimateOverride } from "../learning/recommend.js";
import { SnapshotMemo } from "../learning/snapshot-memo.js";
import { knowsTaskType, type ModelSnapshot, scoreTeams, type ServingModel } from "../ml/model-runtime.js";

/**
 * Estimates from the trained models for a batch of teams — ONE onnxruntime run per model over all
 * of them — or undefined when no success model is active or it has too little data for the task
 * type (the statistical estimates answer then, and say so).
 *
 * The model's probability p_m replaces the hand-built prior of the statistical estimate: the
 * team's posterior is Beta(8·p_m + s, 8·(1 − p_m) + f) with s and f the team's own record in the
 * task type, so the model judges teams with little history (it has seen how complexity, team size
 * and agents interact) while a team's own long record still dominates its estimate. For a team
 * never run in the task type, p_m is averaged in log-odds with the statistical prior first.
 * Duration: exp(prediction) − 1, with the 90% interval from the quantiles of the model's
 * validation residuals. Complexity is rounded to the nearest 0.25 for the model.
 */
export async function modelOverride(
  snapshot: ModelSnapshot,
  evidence: TaskEvidence,
  complexity: number,
  teams: string[][],
): Promise<EstimateOverride | undefined> {
  const taskType = evidence.taskType;
  // The model is evaluated at complexity rounded to 0.25: trees split complexity at few
  // thresholds, and a bounded set of values lets a ranking be reused across requests.
  complexity = Math.round(complexity * 4) / 4;
  const success = snapshot.success;
  if (!success || !knowsTaskType(success, taskType) || teams.length === 0) return undefined;
  const duration = snapshot.duration && knowsTaskType(snapshot.duration, taskType) ? snapshot.duration : undefined;
  const version = [success.version, duration?.version].filter(Boolean).join(",");
  const key = `${version}|${complexity}`;
  // The scores depend only on the teams, the model versions and the complexity: the same
  // candidate list (one per snapshot and request shape) is scored once per model and complexity,
  // and concurrent requests for it share that one run.
  return overrides.get(teams, key, () => {
    const pending = scoredOverride({ key, version, success, duration }, evidence, complexity, teams);
    // A failed run is not remembered: the next request tries again.
    pending.catch(() => overrides.delete(teams, key));
    return pending;
  });
}

/**
 * Overrides by candidate list (they go with its evidence snapshot) and key: room for the 41
 * complexities (0 to 10 by 0.25) of the active versions, and more for a swap.
 */
const overrides = new SnapshotMemo<string[][], Promise<EstimateOverride>>(96);

/** Runs the models over the teams and builds the override from their scores. */
async function scoredOverride(
  models: { key: string; version: string; success: ServingModel; duration: ServingModel | undefined },
  evidence: TaskEvidence,
  complexity: number,
  teams: string[][],
): Promise<EstimateOverride> {
  const { key, version, success, duration } = models;
  const taskType = evidence.taskType;
  const [p, d] = await Promise.all([
    scoreTeams(success, taskType, complexity, teams),
    duration ? scoreTeams(duration, taskType, complexity, teams) : Promise.resolve(undefined),
  ]);
  const index = indexEvidence(evidence);
  return {
    key,
    estimate(i: number, team: string[], statistical: Estimate): Estimate {
      const own = index.combinations.get(teamKey(team));
      const modelled = clampProbability(p[i] ?? statistical.successProbability);
      // A team never run in this task type is outside what the model saw: its prediction there is
      // an extrapolation, so it is averaged (in log-odds) with the statistical prior from the
      // agents' own records rather than trusted alone.
      const prior = own && own.executions > 0 ? modelled : sigmoid((logit(modelled) + logit(clampProbability(statistical.successProbability))) / 2);
      const successes = own?.successes ?? 0;
      const failures = (own?.executions ?? 0) - successes;
      const posterior = { alpha: TEAM_PRIOR_STRENGTH * prior + successes, beta: TEAM_PRIOR_STRENGTH * (1 - prior) + failures };
      const probability = betaMean(posterior);
      const successInterval = betaInterval(posterior, 0.9);
      let durationPart: Pick<Estimate, "expectedDurationSeconds" | "durationInterval" | "logDuration"> = { expectedDurationSeconds: statistical.expectedDurationSeconds, durationInterval: statistical.durationInterval, logDuration: statistical.logDuration };
      const logDuration = d?.[i];
      if (duration && logDuration !== undefined) {
        const r = duration.residualInterval ?? { lower: 0, upper: 0, level: 0.9 };
        durationPart = {
          expectedDurationSeconds: Math.max(0, Math.expm1(logDuration)),
          durationInterval: { lower: Math.max(0, Math.expm1(logDuration + r.lower)), upper: Math.max(0, Math.expm1(logDuration + r.upper)), level: r.level },
          // The predictive distribution a deadline is judged by (none when the model stored no quantiles).
          logDuration: residualLogDuration(logDuration, duration.residualQuantiles ?? []),
        };
      }
      return {
        ...statistical,
        ...durationPart,
        successProbability: probability,
        successInterval,
        posterior,
        confidence: Math.min(1, Math.max(0, 1 - (successInterval.upper - successInterval.lower))),
        source: "model",
        modelVersion: version,
        rationale: `model ${version}: prior ${Math.round(prior * 100)}% for this team and complexity, with its own record ${successes}/${successes + failures}`,
      };
    },
  };
}

const clampProbability = (p: number) => Math.min(1 - 1e-6, Math.max(1e-6, p));
const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
