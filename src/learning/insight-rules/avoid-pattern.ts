// avoid_pattern: confidence = P(p_X < p_T) for a pair of agents X (summed over every team that
// contains both) or a whole team; published when ≥ the threshold and p_T − mean ≥ 0.15. A pair is
// reported only if it also fails more than teams with either agent alone (by ≥ 0.10 with P ≥ 0.9:
// an interaction, not one bad agent) and no well-observed team holding it does well
// (≥ p_T − 0.075). Pairs are taken in order of the failures they would explain
// (n·p_T − successes), most first, and each one reported explains away the teams containing it,
// so a partner that only shares those teams is not blamed; such teams are not reported again as
// whole teams. Carries the dominant error message and its share of the failures.
import type { CombinationEvidence } from "../../domain/evidence.js";
import type { Finding } from "../../domain/insight.js";
import { teamKey, teamLabel } from "../../domain/team.js";
import { type AggregateContext, betaMeanOf, dominantError, holdsAll, pct, probBelow, publishThreshold, RULES, sumsOver } from "./shared.js";

/** Failing pairs first, then whole failing teams not explained by a reported pair. */
export function avoidPatterns(context: AggregateContext): Finding[] {
  const pairs = failingPairs(context);
  const badPairs = pairs.map((f) => f.agents);
  return [...pairs, ...failingTeams(context, badPairs)];
}

/** The pairs an avoid_pattern finding blames (not the whole teams). */
export function reportedPairs(findings: readonly Finding[]): string[][] {
  return findings.filter((f) => f.type === "avoid_pattern" && f.data.scope === "pair").map((f) => f.agents);
}

/** Whether a team holds every agent of one of `pairs`. */
export function holdsAnyPair(c: CombinationEvidence, pairs: readonly string[][]): boolean {
  return pairs.some((pair) => pair.every((a) => c.agents.includes(a)));
}

function failingPairs({ evidence, pT }: AggregateContext): Finding[] {
  const { taskType, combinations } = evidence;
  const findings: Finding[] = [];
  const agentsSeen = [...new Set(combinations.flatMap((c) => c.agents))].sort();
  // Worst pairs first; each accepted pair explains away the teams containing it, so a partner
  // that only looked bad by sharing those teams (A+C inside a failing A+B+C) is not reported.
  const pairs: string[][] = [];
  for (let i = 0; i < agentsSeen.length; i++) {
    for (let j = i + 1; j < agentsSeen.length; j++) pairs.push([agentsSeen[i]!, agentsSeen[j]!]);
  }
  // Each pair's sums over every team holding it: the order and the number of pairs tested read them.
  const totals = pairs.map((pair) => sumsOver(combinations, pair));
  const tested = totals.filter((s) => s.executions >= RULES.minSamples).length;
  // Failures beyond what the task's rate predicts, over the teams containing the pair.
  const ordered = pairs
    .map((pair, i) => {
      const s = totals[i]!;
      return { pair, key: pair.join(), excess: s.executions < RULES.minSamples ? 0 : s.executions * pT - s.successes };
    })
    .filter((p) => p.excess > 0)
    .sort((x, y) => y.excess - x.excess || (x.key < y.key ? -1 : 1));
  const pairThreshold = publishThreshold(tested);
  // The teams holding none of the pairs reported so far: narrowed as each one is reported.
  let unexplained = combinations;
  for (const { pair } of ordered) {
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
    unexplained = unexplained.filter((c) => !holdsAll(c.agents, pair));
    const error = dominantError(combinations, pair);
    findings.push({
      key: `avoid_pattern|${taskType}|${teamKey(pair)}`,
      type: "avoid_pattern",
      taskType,
      agents: pair,
      confidence: conf,
      confidenceMethod: "posterior P(p_pair < p_task), Beta(1+s, 1+f) over every team containing the pair",
      sampleSize: s.executions,
      description:
        `${teamLabel(pair)} together succeed only ${pct(s.successes / s.executions)} ` +
        `(${s.successes}/${s.executions}) on ${taskType}, ` +
        `vs ${pct(pT)} typical${error ? `; ${pct(error.share)} of failures: "${error.message}"` : ""}`,
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
  return findings;
}

function failingTeams({ evidence, pT, teamThreshold }: AggregateContext, badPairs: readonly string[][]): Finding[] {
  const { taskType, combinations } = evidence;
  const findings: Finding[] = [];
  for (const c of combinations) {
    if (c.executions < RULES.minSamples || c.agents.length < 2) continue;
    if (holdsAnyPair(c, badPairs)) continue;
    const mean = betaMeanOf(c.successes, c.executions);
    const conf = probBelow(c.successes, c.executions, pT);
    if (conf < teamThreshold || pT - mean < RULES.avoidMargin) continue;
    const error = dominantError([c], c.agents);
    findings.push({
      key: `avoid_pattern|${taskType}|${teamKey(c.agents)}|team`,
      type: "avoid_pattern",
      taskType,
      agents: c.agents,
      confidence: conf,
      confidenceMethod: "posterior P(p_team < p_task), Beta(1+s, 1+f)",
      sampleSize: c.executions,
      description:
        `${teamLabel(c.agents)} succeeds only ${pct(c.successes / c.executions)} ` +
        `(${c.successes}/${c.executions}) on ${taskType}, ` +
        `vs ${pct(pT)} typical${error ? `; ${pct(error.share)} of failures: "${error.message}"` : ""}`,
      data: {
        scope: "team",
        success_rate: c.successes / c.executions,
        task_success_rate: pT,
        dominant_error: error?.message ?? "",
        dominant_error_share: error?.share ?? 0,
      },
    });
  }
  return findings;
}
