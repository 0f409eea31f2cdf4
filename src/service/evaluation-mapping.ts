// Off-policy evaluations as the API reports them: proto messages, and a plain sentence per policy
// saying what the data can and cannot tell.
import { create } from "@bufbuild/protobuf";
import {
  type OffPolicyEstimates,
  OffPolicyEstimatesSchema,
  type PolicyEvaluation as PolicyEvaluationMessage,
  PolicyEvaluationSchema,
  type PolicyValueEstimate,
  PolicyValueEstimateSchema,
  PolicyVerdict,
} from "../../gen/agentlearning/v1/evaluation_pb.js";
import {
  EVALUATION_LEVEL,
  MIN_EFFECTIVE_SAMPLE,
  MIN_SUPPORT,
  type PolicyValue,
  type ValueEstimate,
  type VerdictCode,
} from "../learning/off-policy.js";
import type { PolicyEvaluation } from "../learning/policy-evaluation.js";

/** How every figure of EvaluatePolicies is computed, as the response's `method` states it. */
export const EVALUATION_METHOD = [
  "Per followed decision i (the caller ran the team returned first): reward r_i of the logged team, its logged propensity p_i,",
  "the policy's probability π_i of that team, weight w_i = π_i / p_i.",
  "IPS = mean(w·r); self-normalised IPS = Σw·r / Σw; doubly robust = mean(v̂_i + w_i (r_i − ĝ_i)) with ĝ the statistical",
  "estimate from today's evidence (success probability, expected duration) and v̂_i its value under the policy.",
  `Intervals: ${Math.round(EVALUATION_LEVEL * 100)}% normal approximation, estimate ± 1.96 · sd(per-decision terms) / √n (delta method for`,
  "self-normalised IPS); success rates clipped to [0, 1]. Effective sample size (Σw)² / Σw²; support = the policy's probability",
  "on teams the logging policy could choose (a team not among the logged top teams counts at the logged floor).",
  `Verdict: NO_DATA when no decision carries weight, LOW_SUPPORT below ${MIN_SUPPORT} support, TOO_FEW below an effective`,
  `sample size of ${MIN_EFFECTIVE_SAMPLE}, else OK. Decisions whose caller ran another team are left out and counted.`,
  "Stored success model versions (the active one and the newest accepted others, at most five) are evaluated as their greedy",
  "first team on today's evidence and candidates, exploration off; versions scored in shadow also as shadow:<version>,",
  "their logged first-pick probabilities on the decisions they were scored on.",
].join(" ");

const VERDICTS: Record<VerdictCode, PolicyVerdict> = {
  ok: PolicyVerdict.OK,
  no_data: PolicyVerdict.NO_DATA,
  low_support: PolicyVerdict.LOW_SUPPORT,
  too_few: PolicyVerdict.TOO_FEW,
};

function estimateToProto(e: ValueEstimate): PolicyValueEstimate {
  return create(PolicyValueEstimateSchema, {
    value: e.value,
    interval: { lower: e.lower, upper: e.upper, level: EVALUATION_LEVEL },
    standardError: e.standardError,
  });
}

function estimatesToProto(v: PolicyValue): OffPolicyEstimates {
  return create(OffPolicyEstimatesSchema, {
    ips: estimateToProto(v.ips),
    selfNormalizedIps: estimateToProto(v.selfNormalized),
    ...(v.doublyRobust ? { doublyRobust: estimateToProto(v.doublyRobust) } : {}),
    versusLogging: estimateToProto(v.versusLogging),
  });
}

/** One policy's evaluation as the API reports it. */
export function policyEvaluationToProto(e: PolicyEvaluation): PolicyEvaluationMessage {
  const v = e.success;
  return create(PolicyEvaluationSchema, {
    name: e.name,
    description: e.description,
    decisionCount: BigInt(v.decisions),
    matchedCount: BigInt(v.matched),
    effectiveSampleSize: v.effectiveSampleSize,
    supportedShare: v.supportedShare,
    maxWeight: v.maxWeight,
    success: estimatesToProto(e.success),
    durationSeconds: estimatesToProto(e.duration),
    verdict: VERDICTS[v.verdict],
    explanation: explain(e),
  });
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

/** What the data says about a policy, in one sentence. */
export function explain(e: PolicyEvaluation): string {
  const v = e.success;
  switch (v.verdict) {
    case "no_data":
      return v.decisions === 0
        ? "no followed decisions to evaluate on: the data cannot tell"
        : `none of ${v.decisions} decisions ran a team this policy would have picked: the data cannot tell`;
    case "low_support":
      return `only ${percent(v.supportedShare)} of this policy's choices were teams the logging policy could pick: the outcomes of the others are unseen, so the data cannot tell`;
    case "too_few":
      return `only ${v.effectiveSampleSize.toFixed(1)} effective decisions (${v.matched} of ${v.decisions} match it): too few for the interval to be trusted, the data cannot tell`;
    case "ok": {
      const best = v.doublyRobust ?? v.ips;
      const d = v.versusLogging;
      const comparison =
        e.name === "logging"
          ? "the policy as it ran"
          : d.lower > 0
            ? `better than the logging policy by ${percent(d.value)} [${percent(d.lower)}, ${percent(d.upper)}]`
            : d.upper < 0
              ? `worse than the logging policy by ${percent(-d.value)} [${percent(-d.upper)}, ${percent(-d.lower)}]`
              : `not distinguishable from the logging policy (difference ${percent(d.value)} [${percent(d.lower)}, ${percent(d.upper)}])`;
      return `success ${percent(best.value)} [${percent(best.lower)}, ${percent(best.upper)}] over ${v.effectiveSampleSize.toFixed(0)} effective decisions: ${comparison}`;
    }
  }
}
