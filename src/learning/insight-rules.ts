// Pattern analysis: turns the evidence of one task type into findings (insights), each with a
// confidence that is a probability computed from the data, and the method that computed it.
//
// Every "≥ 0.95" below is the floor of a Bonferroni-corrected threshold, 1 − 0.05 / (number of
// candidates the rule tested in the task type), so testing many teams does not publish chance
// findings (see publishThreshold).
//
// Methods (success probabilities use Beta(1 + successes, 1 + failures) posteriors; p_T is the
// success rate of a typical team of the task type: the median posterior mean of its teams with at
// least 5 executions, see typicalTeamRate):
// - best_combo:   confidence = P(p_combo > p_T); published when ≥ 0.95 and the posterior mean
//                 beats p_T by ≥ 0.10, for the 3 best such teams of a task type.
// - avoid_pattern: confidence = P(p_X < p_T) for a pair of agents X (summed over every team that
//                 contains both) or a whole team; published when ≥ 0.95 and p_T − mean ≥ 0.15; a pair
//                 is reported only if it also fails more than teams with either agent alone (by
//                 ≥ 0.10 with P ≥ 0.9: an interaction, not one bad agent) and no well-observed team
//                 holding it does well (≥ p_T − 0.075). Pairs are taken in order of the failures
//                 they would explain (n·p_T − successes), most first, and each one
//                 reported explains away the teams containing it, so a partner that only shares
//                 those teams is not blamed; such teams are not reported again as whole teams.
//                 Carries the dominant error message and its share of the failures.
// - underperforming_agent: confidence = P(p_with < p_without), comparing every observed team with
//                 the agent against the same team without it (matched, so the agent is not blamed
//                 for its company), over teams free of reported pairs; published when ≥ 0.95, the
//                 gap ≥ 0.15, and at least two different teams are each worse with the agent.
// - bottleneck:   on ln(1 + duration), normal approximation: confidence = Φ((m_X − m_T − ln 1.5)
//                 / (s_T / √n_X)), i.e. P(typical duration more than 1.5× the task's); ≥ 0.95.
// - anomaly:      failure burst: confidence = 1 − P(≥ k failures in the recent window | history's
//                 failure rate) (exact binomial tail), published when ≥ 0.999; slow outlier: an
//                 execution of the recent window more than 4 standard deviations above the task's
//                 mean ln duration, confidence = Φ(z).
// - trend:        success rate of the recent window against the window before it, two-proportion
//                 z-test, confidence = 1 − two-sided p-value, published when ≥ 0.99.
import { betaCdf } from "./beta.js";
import { addSums, type CombinationEvidence, logDurationMoments, type OutcomeSums, type TaskEvidence } from "./evidence.js";
import { binomialUpperTail, normalCdf } from "./normal.js";

/** The insight types, as stored and as the proto's InsightType names them (lower case). */
export type InsightKind = "best_combo" | "avoid_pattern" | "bottleneck" | "underperforming_agent" | "anomaly" | "trend";

/** A finding of analysis, before it is stored as an insight. */
export interface Finding {
  /** What makes two findings the same insight (type, task type, agents, variant). */
  key: string;
  type: InsightKind;
  taskType: string;
  agents: string[];
  confidence: number;
  confidenceMethod: string;
  sampleSize: number;
  description: string;
  data: Record<string, unknown>;
}

/** The most recent executions of a task type, newest last, for anomaly and trend rules. */
export interface RecentExecution {
  executionId: string;
  success: boolean;
  logDuration: number;
}

/** Thresholds of the rules; the defaults are the documented ones. */
export const RULES = {
  minSamples: 5,
  minAgentSamples: 10,
  publishConfidence: 0.95,
  bestMargin: 0.1,
  bestPerTask: 3,
  avoidMargin: 0.15,
  interactionMargin: 0.1,
  interactionConfidence: 0.9,
  underperformMargin: 0.15,
  slowFactor: 1.5,
  anomalyWindow: 50,
  anomalyConfidence: 0.999,
  outlierSigmas: 4,
  trendWindow: 100,
  trendConfidence: 0.99,
} as const;

const pct = (p: number) => `${Math.round(p * 100)}%`;
const betaMeanOf = (s: number, n: number) => (1 + s) / (2 + n);
/** P(p < threshold) for p ~ Beta(1 + s, 1 + n − s). */
const probBelow = (s: number, n: number, threshold: number) => betaCdf(threshold, 1 + s, 1 + n - s);


const zero: OutcomeSums = { executions: 0, successes: 0, durationSum: 0, logDurationSum: 0, logDurationSqSum: 0, complexitySum: 0 };

function teamName(agents: readonly string[]): string {
  return agents.join("+");
}

/** Sums of every team containing all of `agents` (and none of `without`). */
function sumsOver(combinations: readonly CombinationEvidence[], agents: readonly string[], without: readonly string[] = []): OutcomeSums {
  let total = zero;
  for (const c of combinations) {
    if (agents.every((a) => c.agents.includes(a)) && !without.some((a) => c.agents.includes(a))) total = addSums(total, c);
  }
  return total;
}

function dominantError(combinations: readonly CombinationEvidence[], agents: readonly string[]): { message: string; share: number } | undefined {
  const counts = new Map<string, number>();
  let failures = 0;
  for (const c of combinations) {
    if (!agents.every((a) => c.agents.includes(a))) continue;
    failures += c.executions - c.successes;
    for (const e of c.topErrors ?? []) counts.set(e.message, (counts.get(e.message) ?? 0) + e.occurrences);
  }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
  return top && failures > 0 ? { message: top[0], share: top[1] / failures } : undefined;
}

/**
 * The success rate of a typical team of the task type: the median posterior mean of its
 * well-observed teams (or the task's overall rate with fewer than three). Not the execution-weighted
 * rate: once recommendations are followed, the best team dominates the history and would make
 * every ordinary team look like one to avoid.
 */
export function typicalTeamRate(evidence: TaskEvidence): number {
  const rates = evidence.combinations
    .filter((c) => c.executions >= RULES.minSamples)
    .map((c) => betaMeanOf(c.successes, c.executions))
    .sort((a, b) => a - b);
  if (rates.length < 3) return betaMeanOf(evidence.task.successes, evidence.task.executions);
  const mid = rates.length >> 1;
  return rates.length % 2 === 1 ? rates[mid]! : (rates[mid - 1]! + rates[mid]!) / 2;
}

/**
 * The confidence a finding needs when `tests` candidates were tested by the same rule in the same
 * task type: 1 − 0.05 / tests (Bonferroni; at least 0.95), so the chance that a rule publishes
 * any false finding for a task type stays near 5% however many teams it looked at.
 */
export function publishThreshold(tests: number): number {
  return Math.max(RULES.publishConfidence, 1 - (1 - RULES.publishConfidence) / Math.max(1, tests));
}

/** Finds best teams, failing pairs and teams, underperforming agents and bottlenecks of a task type. */
export function aggregateFindings(evidence: TaskEvidence): Finding[] {
  const { taskType, task, combinations } = evidence;
  if (task.executions < RULES.minSamples) return [];
  const findings: Finding[] = [];
  const pT = typicalTeamRate(evidence);

  const testedTeams = combinations.filter((c) => c.executions >= RULES.minSamples).length;
  const teamThreshold = publishThreshold(testedTeams);

  // best_combo
  const best = combinations
    .filter((c) => c.executions >= RULES.minSamples)
    .map((c) => ({ c, mean: betaMeanOf(c.successes, c.executions), conf: 1 - probBelow(c.successes, c.executions, pT) }))
    .filter((x) => x.conf >= teamThreshold && x.mean - pT >= RULES.bestMargin)
    .sort((a, b) => b.mean - a.mean)
    .slice(0, RULES.bestPerTask);
  for (const { c, mean, conf } of best) {
    findings.push({
      key: `best_combo|${taskType}|${c.agents.join(",")}`,
      type: "best_combo",
      taskType,
      agents: c.agents,
      confidence: conf,
      confidenceMethod: "posterior P(p_team > p_task), Beta(1+s, 1+f)",
      sampleSize: c.executions,
      description: `${teamName(c.agents)} succeeds ${pct(c.successes / c.executions)} (${c.successes}/${c.executions}) on ${taskType}, vs ${pct(pT)} typical`,
      data: { success_rate: c.successes / c.executions, posterior_mean: mean, task_success_rate: pT, executions: c.executions, order: c.orders?.[0]?.agents ?? c.agents },
    });
  }

  // avoid_pattern: pairs first, then whole teams not explained by a reported pair.
  const agentsSeen = [...new Set(combinations.flatMap((c) => c.agents))].sort();
  const badPairs: string[][] = [];
  const containsBadPair = (c: CombinationEvidence) => badPairs.some((pair) => pair.every((a) => c.agents.includes(a)));
  // Worst pairs first; each accepted pair explains away the teams containing it, so a partner
  // that only looked bad by sharing those teams (A+C inside a failing A+B+C) is not reported.
  const pairs: string[][] = [];
  for (let i = 0; i < agentsSeen.length; i++) {
    for (let j = i + 1; j < agentsSeen.length; j++) pairs.push([agentsSeen[i]!, agentsSeen[j]!]);
  }
  // Failures beyond what the task's rate predicts, over the teams containing the pair.
  const excessFailures = (pair: string[]) => {
    const s = sumsOver(combinations, pair);
    return s.executions < RULES.minSamples ? 0 : s.executions * pT - s.successes;
  };
  const ordered = pairs
    .map((pair) => ({ pair, excess: excessFailures(pair) }))
    .filter((p) => p.excess > 0)
    .sort((x, y) => y.excess - x.excess || (x.pair.join() < y.pair.join() ? -1 : 1));
  const pairThreshold = publishThreshold(pairs.filter((pair) => sumsOver(combinations, pair).executions >= RULES.minSamples).length);
  for (const { pair } of ordered) {
    const unexplained = combinations.filter((c) => !containsBadPair(c));
    const s = sumsOver(unexplained, pair);
    if (s.executions < RULES.minSamples) continue;
    const mean = betaMeanOf(s.successes, s.executions);
    const conf = probBelow(s.successes, s.executions, pT);
    if (conf < pairThreshold || pT - mean < RULES.avoidMargin) continue;
    // An interaction: the pair fails clearly more than each of its agents without the other…
    const aAlone = sumsOver(unexplained, [pair[0]!], [pair[1]!]);
    const bAlone = sumsOver(unexplained, [pair[1]!], [pair[0]!]);
    const aRate = betaMeanOf(aAlone.successes, aAlone.executions);
    const bRate = betaMeanOf(bAlone.successes, bAlone.executions);
    const worseThan = (rate: number) =>
      rate - mean >= RULES.interactionMargin && probBelow(s.successes, s.executions, rate) >= RULES.interactionConfidence;
    if (!worseThan(aRate) || !worseThan(bRate)) continue;
    // …and consistently: no well-observed team holding it does fine (else other agents explain it).
    const teamsWithPair = unexplained.filter((c) => c.executions >= RULES.minSamples && pair.every((a) => c.agents.includes(a)));
    if (teamsWithPair.some((c) => betaMeanOf(c.successes, c.executions) > pT - RULES.avoidMargin / 2)) continue;
    badPairs.push(pair);
    const error = dominantError(combinations, pair);
    findings.push({
      key: `avoid_pattern|${taskType}|${pair.join(",")}`,
      type: "avoid_pattern",
      taskType,
      agents: pair,
      confidence: conf,
      confidenceMethod: "posterior P(p_pair < p_task), Beta(1+s, 1+f) over every team containing the pair",
      sampleSize: s.executions,
      description: `${teamName(pair)} together succeed only ${pct(s.successes / s.executions)} (${s.successes}/${s.executions}) on ${taskType}, vs ${pct(pT)} typical${error ? `; ${pct(error.share)} of failures: "${error.message}"` : ""}`,
      data: {
        scope: "pair",
        success_rate: s.successes / s.executions,
        task_success_rate: pT,
        success_rate_without_partner: { [pair[0]!]: aRate, [pair[1]!]: bRate },
        dominant_error: error?.message ?? "",
        dominant_error_share: error?.share ?? 0,
      },
    });
  }
  for (const c of combinations) {
    if (c.executions < RULES.minSamples || c.agents.length < 2) continue;
    if (containsBadPair(c)) continue;
    const mean = betaMeanOf(c.successes, c.executions);
    const conf = probBelow(c.successes, c.executions, pT);
    if (conf < teamThreshold || pT - mean < RULES.avoidMargin) continue;
    const error = dominantError([c], c.agents);
    findings.push({
      key: `avoid_pattern|${taskType}|${c.agents.join(",")}|team`,
      type: "avoid_pattern",
      taskType,
      agents: c.agents,
      confidence: conf,
      confidenceMethod: "posterior P(p_team < p_task), Beta(1+s, 1+f)",
      sampleSize: c.executions,
      description: `${teamName(c.agents)} succeeds only ${pct(c.successes / c.executions)} (${c.successes}/${c.executions}) on ${taskType}, vs ${pct(pT)} typical${error ? `; ${pct(error.share)} of failures: "${error.message}"` : ""}`,
      data: { scope: "team", success_rate: c.successes / c.executions, task_success_rate: pT, dominant_error: error?.message ?? "", dominant_error_share: error?.share ?? 0 },
    });
  }

  // underperforming_agent: matched comparison, every team with the agent against the same team
  // without it (when both were observed), over teams free of reported bad pairs — so an agent is
  // not blamed for the company it keeps.
  const clean = combinations.filter((c) => !containsBadPair(c));
  const byKey = new Map(clean.map((c) => [c.agents.join(","), c]));
  for (const agent of agentsSeen) {
    let withAgent = zero;
    let without = zero;
    let matched = 0;
    let everywhereWorse = true;
    for (const c of clean) {
      if (c.agents.length < 2 || !c.agents.includes(agent)) continue;
      const partner = byKey.get(c.agents.filter((a) => a !== agent).join(","));
      if (!partner || partner.executions < RULES.minSamples || c.executions < RULES.minSamples) continue;
      withAgent = addSums(withAgent, c);
      without = addSums(without, partner);
      matched++;
      if (betaMeanOf(c.successes, c.executions) >= betaMeanOf(partner.successes, partner.executions)) everywhereWorse = false;
    }
    // "Wherever it appears": at least two different teams, each worse with the agent.
    if (matched < 2 || !everywhereWorse) continue;
    if (withAgent.executions < RULES.minAgentSamples || without.executions < RULES.minAgentSamples) continue;
    const pWithout = betaMeanOf(without.successes, without.executions);
    const mean = betaMeanOf(withAgent.successes, withAgent.executions);
    const conf = probBelow(withAgent.successes, withAgent.executions, pWithout);
    if (conf < publishThreshold(agentsSeen.length) || pWithout - mean < RULES.underperformMargin) continue;
    findings.push({
      key: `underperforming_agent|${taskType}|${agent}`,
      type: "underperforming_agent",
      taskType,
      agents: [agent],
      confidence: conf,
      confidenceMethod: "posterior P(p_with_agent < p_same_teams_without_it), Beta(1+s, 1+f), matched teams",
      sampleSize: withAgent.executions,
      description: `${agent} lowers success on ${taskType}: ${pct(withAgent.successes / withAgent.executions)} with it vs ${pct(pWithout)} without`,
      data: { success_rate_with: withAgent.successes / withAgent.executions, success_rate_without: pWithout, executions_with: withAgent.executions },
    });
  }

  // bottleneck: teams and agents much slower than the task type.
  const taskMoments = logDurationMoments(task);
  const sd = Math.sqrt(taskMoments.variance);
  if (sd > 0) {
    const slowCandidates: { agents: string[]; sums: OutcomeSums; scope: string }[] = [
      ...combinations.map((c) => ({ agents: c.agents, sums: c as OutcomeSums, scope: "team" })),
      ...evidence.agents.map((a) => ({ agents: [a.agent], sums: a as OutcomeSums, scope: "agent" })),
    ];
    for (const { agents, sums, scope } of slowCandidates) {
      if (sums.executions < RULES.minSamples || (scope === "agent" && sums.executions >= task.executions)) continue;
      const m = logDurationMoments(sums).mean;
      const z = (m - taskMoments.mean - Math.log(RULES.slowFactor)) / (sd / Math.sqrt(sums.executions));
      const conf = normalCdf(z);
      if (conf < publishThreshold(slowCandidates.length)) continue;
      const factor = Math.exp(m - taskMoments.mean);
      findings.push({
        key: `bottleneck|${taskType}|${agents.join(",")}|${scope}`,
        type: "bottleneck",
        taskType,
        agents,
        confidence: conf,
        confidenceMethod: "normal approximation on ln(1+duration): P(typical duration > 1.5 × task's)",
        sampleSize: sums.executions,
        description: `${teamName(agents)} takes ${factor.toFixed(1)}× the typical time on ${taskType} (${Math.round(Math.exp(m) - 1)} s vs ${Math.round(Math.exp(taskMoments.mean) - 1)} s)`,
        data: { scope, slowdown_factor: factor, typical_seconds: Math.exp(m) - 1, task_typical_seconds: Math.exp(taskMoments.mean) - 1 },
      });
    }
  }
  return findings;
}

/** Finds failure bursts, slow outliers and success-rate trends in the most recent executions. */
export function recentFindings(evidence: TaskEvidence, recent: readonly RecentExecution[]): Finding[] {
  const { taskType, task } = evidence;
  const findings: Finding[] = [];
  const window = recent.slice(-RULES.anomalyWindow);
  const before = { executions: task.executions - window.length, successes: task.successes - window.filter((e) => e.success).length };
  if (window.length >= 20 && before.executions >= 50) {
    const failures = window.filter((e) => !e.success).length;
    const pFail = 1 - betaMeanOf(before.successes, before.executions);
    const conf = 1 - binomialUpperTail(failures, window.length, pFail);
    if (conf >= RULES.anomalyConfidence) {
      findings.push({
        key: `anomaly|${taskType}||failure_burst`,
        type: "anomaly",
        taskType,
        agents: [],
        confidence: conf,
        confidenceMethod: "1 − P(≥ k failures in the window | historical failure rate), exact binomial",
        sampleSize: window.length,
        description: `failure burst on ${taskType}: ${failures} of the last ${window.length} executions failed, vs ${pct(pFail)} historically`,
        data: { window: window.length, failures, historical_failure_rate: pFail },
      });
    }
  }
  const moments = logDurationMoments(task);
  const sd = Math.sqrt(moments.variance);
  if (sd > 0 && task.executions >= 30) {
    const worst = [...window].sort((a, b) => b.logDuration - a.logDuration)[0];
    const z = worst ? (worst.logDuration - moments.mean) / sd : 0;
    if (worst && z >= RULES.outlierSigmas) {
      findings.push({
        key: `anomaly|${taskType}||slow_outlier`,
        type: "anomaly",
        taskType,
        agents: [],
        confidence: normalCdf(z),
        confidenceMethod: "Φ(z) of the execution's ln(1+duration) under the task's normal fit",
        sampleSize: task.executions,
        description: `execution ${worst.executionId} on ${taskType} took ${Math.round(Math.exp(worst.logDuration) - 1)} s, ${z.toFixed(1)} standard deviations above typical`,
        data: { execution_id: worst.executionId, seconds: Math.exp(worst.logDuration) - 1, z },
      });
    }
  }
  const newer = recent.slice(-RULES.trendWindow);
  const older = recent.slice(0, Math.max(0, recent.length - RULES.trendWindow));
  if (newer.length >= RULES.trendWindow && older.length >= RULES.trendWindow) {
    const p1 = older.filter((e) => e.success).length / older.length;
    const p2 = newer.filter((e) => e.success).length / newer.length;
    const pooled = (p1 * older.length + p2 * newer.length) / (older.length + newer.length);
    const se = Math.sqrt(pooled * (1 - pooled) * (1 / older.length + 1 / newer.length));
    const z = se > 0 ? (p2 - p1) / se : 0;
    const conf = 1 - 2 * (1 - normalCdf(Math.abs(z)));
    if (conf >= RULES.trendConfidence) {
      const direction = z > 0 ? "rising" : "falling";
      findings.push({
        key: `trend|${taskType}||success_rate`,
        type: "trend",
        taskType,
        agents: [],
        confidence: conf,
        confidenceMethod: "1 − two-sided p-value of a two-proportion z-test, recent vs previous window",
        sampleSize: newer.length + older.length,
        description: `success rate on ${taskType} ${direction}: ${pct(p2)} in the last ${newer.length} executions vs ${pct(p1)} in the ${older.length} before`,
        data: { direction, recent_success_rate: p2, previous_success_rate: p1, recent_window: newer.length, previous_window: older.length },
      });
    }
  }
  return findings;
}
