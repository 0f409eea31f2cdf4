// How far a team's true success rate strays from the success model's prediction, measured on rows
// the model never saw. Serving needs it twice: to weigh a team's own record against the model (a
// team the model fits well keeps the model's answer; one it misjudges moves toward its record), and
// to rank the greedy pick by a lower quantile, so an argmax over hundreds of candidates does not
// pick the model's overestimates (the winner's curse).
//
// Model: on the log-odds scale a team's truth is logit p_m(x) + δ_team, δ_team ~ N(0, σ²). σ² is
// larger for teams the model saw rarely, so it is estimated per bucket of the team's training rows.
// Method of moments on the validation rows: for team g, r_g = Σ (y − p) and V_g = Σ p (1 − p); to
// first order r_g = V_g δ_g + binomial noise of variance V_g, so E[r_g²] = V_g + V_g² σ² and
// σ² = Σ_g (r_g² − V_g) / Σ_g V_g² over the bucket's teams (first order: where teams stray by more
// than about 0.5 log-odds the logistic curve flattens and the estimate runs low, e.g. 0.48 for a
// true 0.64; the upper limit below makes up part of it). What is kept is the upper 95% limit of
// that estimate, σ² + 1.645 √(Σ_g 2 V_g²) / Σ_g V_g² (r_g² has variance about 2 V_g² when r_g is
// roughly normal): with little validation evidence (a few rows per team), the point estimate is
// mostly noise and often 0, which would let a model that misjudges a team overrule a long record
// of it. Erring wide trusts the record (unbiased) over the model (possibly biased), and the error
// vanishes as validation rows accumulate.
import { modelTeamPosterior } from "../learning/model-posterior.js";
import { type TeamIds, type TrainingExample, teamIds } from "./training-set.js";

/** Lower bounds of the buckets of a team's training rows in a task type: 0, 1–4, 5–19, 20–99, ≥ 100. */
export const TEAM_ROW_BUCKETS = [0, 1, 5, 20, 100] as const;

/** Below this many validation teams a bucket's variance is not estimated but borrowed. */
export const MIN_TEAMS_PER_BUCKET = 4;

/** Smallest variance reported: even a well-fitted team's rate is not known exactly. */
export const MIN_VARIANCE = 0.0025;

/**
 * The variance of teams never seen in training when no validation row measures it (in a history of
 * habits, every validation team was trained on): 0.25 (a log-odds sd of 0.5, e.g. 0.5 ± 0.12 in
 * probability), or the largest measured variance when that is larger.
 */
export const UNSEEN_VARIANCE_FLOOR = 0.25;

/** One-sided 95% normal quantile of the upper confidence limit. */
const UPPER_Z = 1.645;

/** The bucket (index into TEAM_ROW_BUCKETS) of a team with `rows` rows. */
export function teamRowBucket(rows: number): number {
  let bucket = 0;
  for (let i = 0; i < TEAM_ROW_BUCKETS.length; i++) if (rows >= TEAM_ROW_BUCKETS[i]!) bucket = i;
  return bucket;
}

/** The metric name under which a model stores a bucket's variance (e.g. team_logit_var_20). */
export function teamVarianceMetric(bucket: number): string {
  return `team_logit_var_${TEAM_ROW_BUCKETS[bucket]}`;
}

/**
 * σ² per bucket of training rows, from the model's probabilities `p` on the validation examples.
 * Non-increasing in the bucket (a team seen more is never less certain); a bucket with too few
 * validation teams borrows from its nearest measured neighbour, and the unseen bucket is at least
 * UNSEEN_VARIANCE_FLOOR unless it was measured.
 */
export function teamLogitVariances(
  train: readonly TrainingExample[],
  validation: readonly TrainingExample[],
  p: ArrayLike<number>,
  teams: TeamIds = teamIds(train, validation),
): number[] {
  const [trainIds, validationIds] = teams.sets as [Int32Array, Int32Array];
  const trainRows = new Float64Array(teams.count);
  for (let i = 0; i < trainIds.length; i++) trainRows[trainIds[i]!]!++;
  // Per validation team, r = Σ (y − p) and V = Σ p (1 − p).
  const r = new Float64Array(teams.count);
  const v = new Float64Array(teams.count);
  const seen = new Uint8Array(teams.count);
  for (let i = 0; i < validation.length; i++) {
    const id = validationIds[i]!;
    const q = p[i]!;
    r[id]! += (validation[i]!.success ? 1 : 0) - q;
    v[id]! += q * (1 - q);
    seen[id] = 1;
  }
  const teamsSeen: { bucket: number; r: number; v: number }[] = [];
  for (let id = 0; id < teams.count; id++) {
    if (seen[id]) teamsSeen.push({ bucket: teamRowBucket(trainRows[id]!), r: r[id]!, v: v[id]! });
  }
  const sums = TEAM_ROW_BUCKETS.map(() => ({ teams: 0, excess: 0, weight: 0 }));
  for (const team of teamsSeen) {
    const s = sums[team.bucket]!;
    s.teams++;
    s.excess += team.r * team.r - team.v;
    s.weight += team.v * team.v;
  }
  const measured = sums.map((s) =>
    s.teams >= MIN_TEAMS_PER_BUCKET && s.weight > 0
      ? Math.max(MIN_VARIANCE, (s.excess + UPPER_Z * Math.sqrt(2 * s.weight)) / s.weight)
      : undefined,
  );
  // An unmeasured bucket takes the value of the nearest measured bucket of fewer rows (or, below
  // the first measured one, of more rows): a gap must not read as certainty.
  const firstMeasured = measured.find((v) => v !== undefined) ?? UNSEEN_VARIANCE_FLOOR;
  let carried = firstMeasured;
  const out = measured.map((v) => (carried = v ?? carried));
  for (let b = out.length - 2; b >= 0; b--) out[b] = Math.max(out[b]!, out[b + 1]!);
  if (measured[0] === undefined) out[0] = Math.max(out[0]!, UNSEEN_VARIANCE_FLOOR);
  return out;
}

/** The record weights the trainer chooses among (0: the model alone). */
export const RECORD_WEIGHTS = [0, 0.125, 0.25, 0.5, 1] as const;

/** The metric under which a success model stores its record weight. */
export const RECORD_WEIGHT_METRIC = "record_weight";

/** The metric under which a success model stores whether serving adds the statistical prior (1) or not (0). */
export const STATISTICAL_PRIOR_METRIC = "statistical_prior";

/** Scores a team at a complexity with the model being judged. */
export type TeamScorer = (taskType: string, agents: readonly string[], complexity: number) => number;

/** How serving combines a success model with counting (model-posterior.ts), as the trainer chose it. */
export interface ServingChoice {
  recordWeight: number;
  /** Whether the team's statistical prior is combined with the model's (see usesStatisticalPrior). */
  statisticalPrior: boolean;
}

/**
 * Whether serving combines a team's statistical prior with the model's: when the trainer chose
 * it, for a team never run or one whose record counts. One rule for the trainer's choice and for
 * serving, so what is served is what was judged.
 */
export function usesStatisticalPrior(choice: ServingChoice, executions: number): boolean {
  return choice.statisticalPrior && (executions === 0 || choice.recordWeight > 0);
}

/** What the trainer already has at hand, so chooseServing need not compute it again. */
export interface ServingShortcuts {
  /** The team ids of train and holdout (teamIds(train, holdout)). */
  teams?: TeamIds;
  /** The model's probability of each holdout row, as `score` would give it. */
  holdoutProbabilities?: ArrayLike<number>;
}

/**
 * The record weight w (model-posterior.ts), and whether to add the statistical prior, with the
 * lowest log loss on the holdout rows, serving them as the service would: each row's team
 * corrected by its record in `train` (the rows the judged model learned from), at the row's
 * complexity, with the measured variances. The model alone (w = 0, no statistical prior) is tried
 * first and a later choice must beat it, so the choice is never worse than the model's own output
 * on these rows (measured: at 10^3 executions with rarely seen teams, adding the statistical prior
 * unchecked served |p − p_true| 0.120 against the model's 0.099).
 */
export function chooseServing(
  train: readonly TrainingExample[],
  holdout: readonly TrainingExample[],
  score: TeamScorer,
  variances: readonly number[],
  prior: (e: TrainingExample, teamId: number) => { mean: number; strength: number },
  shortcuts: ServingShortcuts = {},
): ServingChoice {
  const { teams = teamIds(train, holdout), holdoutProbabilities } = shortcuts;
  const [trainIds, holdoutIds] = teams.sets as [Int32Array, Int32Array];
  const executions = new Float64Array(teams.count);
  const successes = new Float64Array(teams.count);
  const complexitySums = new Float64Array(teams.count);
  for (let i = 0; i < train.length; i++) {
    const e = train[i]!;
    const id = trainIds[i]!;
    executions[id]!++;
    successes[id]! += e.success ? 1 : 0;
    complexitySums[id]! += e.complexity;
  }
  // The model at each team's mean complexity in train: its record's own prediction.
  const atRecord = new Float64Array(teams.count).fill(Number.NaN);
  const rows = holdout.map((e, i) => {
    const id = holdoutIds[i]!;
    const record = { executions: executions[id]!, successes: successes[id]! };
    let pbar = atRecord[id]!;
    if (Number.isNaN(pbar)) {
      pbar = record.executions > 0 ? score(e.taskType, e.agents, complexitySums[id]! / record.executions) : 0.5;
      atRecord[id] = pbar;
    }
    return {
      e,
      record,
      pbar,
      p: holdoutProbabilities?.[i] ?? score(e.taskType, e.agents, e.complexity),
      variance: variances[teamRowBucket(record.executions)]!,
      prior: prior(e, id),
    };
  });
  const choices: ServingChoice[] = [false, true].flatMap((statisticalPrior) =>
    RECORD_WEIGHTS.map((recordWeight) => ({ recordWeight, statisticalPrior })),
  );
  let best = { choice: choices[0]!, loss: Number.POSITIVE_INFINITY };
  for (const choice of choices) {
    let loss = 0;
    for (const { e, record, pbar, p, variance, prior: statistical } of rows) {
      const q = modelTeamPosterior({
        modelProbability: p,
        recordProbability: pbar,
        executions: record.executions,
        successes: record.successes,
        priorVariance: variance,
        recordWeight: choice.recordWeight,
        statisticalPrior: usesStatisticalPrior(choice, record.executions) ? statistical : undefined,
      }).probability;
      const clamped = Math.min(1 - 1e-12, Math.max(1e-12, q));
      loss -= e.success ? Math.log(clamped) : Math.log(1 - clamped);
    }
    if (loss < best.loss - 1e-9) best = { choice, loss };
  }
  return best.choice;
}
