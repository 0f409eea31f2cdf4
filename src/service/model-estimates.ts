import { teamKey } from "../domain/team.js";
import { betaSd } from "../learning/beta.js";
import { residualDistribution } from "../learning/deadline.js";
import type { Estimate } from "../learning/estimate.js";
import type { TaskEvidence } from "../learning/evidence.js";
import { modelTeamPosterior, RANKING_Z } from "../learning/model-posterior.js";
import type { EstimateOverride } from "../learning/ranking.js";
import { SnapshotMemo } from "../learning/snapshot-memo.js";
import { indexEvidence } from "../learning/team-prior.js";
import { knowsTaskType, type ModelSnapshot, scoreTeams, scoreTeamsAt, type ServingModel } from "../ml/model-runtime.js";
import { TEAM_ROW_BUCKETS, teamRowBucket, UNSEEN_VARIANCE_FLOOR, usesStatisticalPrior } from "../ml/team-uncertainty.js";

/**
 * σ² per bucket for success models trained before the trainer measured it: the unseen floor for
 * every bucket, shrinking with the rows as a binomial record would (0.25 · 5 / (5 + n)).
 */
const LEGACY_VARIANCES = TEAM_ROW_BUCKETS.map((rows) => (UNSEEN_VARIANCE_FLOOR * 5) / (5 + rows));

/**
 * The model estimates of one service, with the memos that make them cheap: scores by candidate
 * list (its identity, held weakly: it goes with its evidence snapshot), model versions and
 * complexity. Owned by the service and passed to the handlers, so no module holds hidden state.
 *
 * `override`: estimates from the trained models for a batch of teams — ONE onnxruntime run per
 * model over all of them — or undefined when no success model is active or it has too little data
 * for the task type (the statistical estimates answer then, and say so).
 *
 * Success: the model's probability at the request's complexity, corrected by the team's own record
 * as far as the model's measured uncertainty allows, reported with that uncertainty
 * (learning/model-posterior.ts). Duration: exp(prediction) − 1, with the 90% interval from the
 * quantiles of the model's validation residuals.
 *
 * `exact` (PredictOutcome) scores the complexity asked for; PredictAgents rounds it to the nearest
 * 0.25: trees split complexity at few thresholds, and a bounded set of values lets a ranking be
 * reused across requests.
 */
export class ModelEstimates {
  /**
   * Overrides by candidate list and key: room for the 41 complexities (0 to 10 by 0.25) of the
   * active versions, as many for a challenger's, and more for a swap.
   */
  readonly #overrides = new SnapshotMemo<string[][], Promise<EstimateOverride>>(128);
  /** The success model's scores of each team at its own record's complexity, by candidate list and version. */
  readonly #recordScores = new SnapshotMemo<string[][], Promise<Float32Array>>(4);

  /** The model estimates for `teams`, or undefined when the statistics must answer (see the class comment). */
  async override(
    snapshot: ModelSnapshot,
    evidence: TaskEvidence,
    complexity: number,
    teams: string[][],
    options: { exact?: boolean } = {},
  ): Promise<EstimateOverride | undefined> {
    const taskType = evidence.taskType;
    const success = snapshot.success;
    if (!success || !knowsTaskType(success, taskType) || teams.length === 0) return undefined;
    const duration = snapshot.duration && knowsTaskType(snapshot.duration, taskType) ? snapshot.duration : undefined;
    const version = [success.version, duration?.version].filter(Boolean).join(",");
    const models = { version, success, duration };
    const records = (model: ServingModel) => this.#scoreRecords(model, evidence, teams);
    if (options.exact) return scoredOverride({ ...models, key: `${version}|${complexity}` }, evidence, complexity, teams, records);
    complexity = Math.round(complexity * 4) / 4;
    const key = `${version}|${complexity}`;
    // The scores depend only on the teams, the model versions and the complexity: the same
    // candidate list (one per snapshot and request shape) is scored once per model and complexity,
    // and concurrent requests for it share that one run.
    return this.#overrides.get(teams, key, () => {
      const pending = scoredOverride({ ...models, key }, evidence, complexity, teams, records);
      // A failed run is not remembered: the next request tries again.
      pending.catch(() => this.#overrides.delete(teams, key));
      return pending;
    });
  }

  /** The success model's probability for each team at its own mean complexity (UNSEEN_TEAM_COMPLEXITY for a team with no record). */
  #scoreRecords(model: ServingModel, evidence: TaskEvidence, teams: string[][]): Promise<Float32Array> {
    return this.#recordScores.get(teams, model.version, () => {
      const index = indexEvidence(evidence);
      const rows = teams.map((team) => {
        const own = index.combinations.get(teamKey(team));
        return { team, complexity: own && own.executions > 0 ? own.complexitySum / own.executions : UNSEEN_TEAM_COMPLEXITY };
      });
      const pending = scoreTeamsAt(model, evidence.taskType, rows);
      pending.catch(() => this.#recordScores.delete(teams, model.version));
      return pending;
    });
  }
}

/**
 * The statistical estimate's lower quantile at the same depth as the model's (mean − RANKING_Z sd
 * of its Beta posterior). The greedy pick ranks a team by the mean of the two: each lower quantile
 * guards against its own estimator's winner's curse, and the mean needs both to rate a team well.
 * Measured in the simulator with rarely seen teams at 10^3 executions: the model's quantile alone
 * let teams seen once win the argmax (mean regret 0.29 against the statistics' 0), and the lower
 * of the two (0.15) let an undertrained model's complexity effect sink the best team below them;
 * the mean gives 0 there and leaves the well-trained model's picks (2·10^4) unchanged.
 */
function statisticalRankingProbability(statistical: Estimate): number {
  return statistical.successProbability - RANKING_Z * betaSd(statistical.posterior);
}

/** Where a team never run here is levelled: the complexity the simulated and most real fleets meet most. */
const UNSEEN_TEAM_COMPLEXITY = 2;

/** Runs the models over the teams and builds the override from their scores. */
async function scoredOverride(
  models: { key: string; version: string; success: ServingModel; duration: ServingModel | undefined },
  evidence: TaskEvidence,
  complexity: number,
  teams: string[][],
  recordScores: (model: ServingModel) => Promise<Float32Array>,
): Promise<EstimateOverride> {
  const { key, version, success, duration } = models;
  const taskType = evidence.taskType;
  const [p, atRecord, d] = await Promise.all([
    scoreTeams(success, taskType, complexity, teams),
    recordScores(success),
    duration ? scoreTeams(duration, taskType, complexity, teams) : Promise.resolve(undefined),
  ]);
  const index = indexEvidence(evidence);
  const variances = success.teamLogitVariances ?? LEGACY_VARIANCES;
  // Models trained before the weight was chosen counted the record in full.
  const recordWeight = success.recordWeight ?? 1;
  const choice = { recordWeight, statisticalPrior: success.statisticalPrior ?? true };
  const durationDistribution = duration ? residualDistribution(duration.residualQuantiles ?? []) : undefined;
  return {
    key,
    estimate(i: number, team: string[], statistical: Estimate): Estimate {
      const own = index.combinations.get(teamKey(team));
      const executions = own?.executions ?? 0;
      const successes = own?.successes ?? 0;
      // The statistical posterior less the record is its prior (team-prior.ts).
      const strength = statistical.posterior.alpha + statistical.posterior.beta - executions;
      const posterior = modelTeamPosterior({
        statisticalPrior: usesStatisticalPrior(choice, executions)
          ? { mean: strength > 0 ? (statistical.posterior.alpha - successes) / strength : 0.5, strength: Math.max(0, strength) }
          : undefined,
        modelProbability: p[i] ?? statistical.successProbability,
        recordProbability: atRecord[i] ?? Number.NaN,
        executions,
        successes,
        priorVariance: variances[teamRowBucket(executions)] ?? UNSEEN_VARIANCE_FLOOR,
        recordWeight,
      });
      const successInterval = posterior.interval(statistical.successInterval.level);
      let durationPart: Pick<Estimate, "expectedDurationSeconds" | "durationInterval" | "logDuration"> = {
        expectedDurationSeconds: statistical.expectedDurationSeconds,
        durationInterval: statistical.durationInterval,
        logDuration: statistical.logDuration,
      };
      const logDuration = d?.[i];
      if (duration && logDuration !== undefined) {
        const r = duration.residualInterval ?? { lower: 0, upper: 0, level: 0.9 };
        durationPart = {
          expectedDurationSeconds: Math.max(0, Math.expm1(logDuration)),
          durationInterval: {
            lower: Math.max(0, Math.expm1(logDuration + r.lower)),
            upper: Math.max(0, Math.expm1(logDuration + r.upper)),
            level: r.level,
          },
          // The predictive distribution a deadline is judged by (none when the model stored no quantiles).
          logDuration: durationDistribution?.(logDuration),
        };
      }
      const modelled = p[i] ?? statistical.successProbability;
      return {
        ...statistical,
        ...durationPart,
        successProbability: posterior.probability,
        successInterval,
        posterior: posterior.beta,
        // A model that did not beat counting on its holdout leaves the order to the statistics.
        rankingProbability:
          success.ranks === false
            ? statistical.successProbability
            : (posterior.rankingProbability + statisticalRankingProbability(statistical)) / 2,
        confidence: Math.min(1, Math.max(0, 1 - (successInterval.upper - successInterval.lower))),
        source: "model",
        modelVersion: version,
        rationale:
          `model ${version}: ${Math.round(modelled * 100)}% for this team and complexity, ` +
          (executions > 0
            ? `corrected by its own record ${successes}/${executions} to ${Math.round(posterior.probability * 100)}%`
            : `a team never run here (uncertainty of unseen teams applied: ranked at ${Math.round(posterior.rankingProbability * 100)}%)`),
      };
    },
  };
}
