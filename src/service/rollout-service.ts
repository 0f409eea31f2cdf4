// The AdminService's challenger RPCs: SetChallenger, ClearChallenger, GetRollout and
// PromoteChallenger, and the forced-activation record ActivateModel leaves.
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { z } from "zod";
import {
  type ArmStatus,
  ArmStatusSchema,
  ChallengerMode,
  type ClearChallengerResponse,
  ClearChallengerResponseSchema,
  type GetRolloutResponse,
  GetRolloutResponseSchema,
  type PromoteChallengerRequest,
  type PromoteChallengerResponse,
  PromoteChallengerResponseSchema,
  type PromotionDecision,
  PromotionDecisionSchema,
  PromotionOutcome,
  type Rollout,
  RolloutSchema,
  type SetChallengerRequest,
  type SetChallengerResponse,
  SetChallengerResponseSchema,
} from "../../gen/agentlearning/v1/rollout_pb.js";
import { judgePromotion } from "../learning/promotion.js";
import { activateModelVersion, activeVersionOf, isActiveVersion, readModelVersion } from "../store/models.js";
import {
  endRollout,
  listPromotionDecisions,
  lockRollouts,
  type RolloutRecord,
  readCurrentRollout,
  recordPromotionDecision,
  type StoredPromotionDecision,
  startRollout,
} from "../store/rollouts.js";
import type { ServiceDependencies } from "./dependencies.js";
import { errorWithInfo, invalidArgument } from "./errors.js";
import { timestampFromMicros } from "./execution-mapping.js";
import { loadServingModel } from "./model-loader.js";
import { type ArmFigures, armFigures, promotionEvidence } from "./rollout-evidence.js";
import { knownEnum, parseRequest, text } from "./validation.js";

const MODES = { shadow: ChallengerMode.SHADOW, canary: ChallengerMode.CANARY } as const;
const OUTCOMES = { promoted: PromotionOutcome.PROMOTED, refused: PromotionOutcome.REFUSED, forced: PromotionOutcome.FORCED } as const;

/** Renders a stored rollout as the API message. */
export function rolloutToProto(r: RolloutRecord): Rollout {
  return create(RolloutSchema, {
    id: r.id,
    version: r.version,
    kind: r.kind,
    mode: MODES[r.mode],
    canaryShare: r.canary_share ?? 0,
    championVersion: r.champion_version ?? "",
    startedAt: timestampFromMicros(r.started_at_us),
  });
}

/** Renders an arm's figures as the API message. */
export function armToProto(a: ArmFigures): ArmStatus {
  return create(ArmStatusSchema, {
    arm: a.arm,
    version: a.version,
    decisionCount: BigInt(a.decisions),
    creditedCount: BigInt(a.credited),
    successRate: a.rate,
    lower: a.lower,
    upper: a.upper,
    method: a.method,
  });
}

function decisionToProto(d: StoredPromotionDecision): PromotionDecision {
  return create(PromotionDecisionSchema, {
    rolloutId: d.rollout_id,
    challengerVersion: d.challenger_version,
    championVersion: d.champion_version ?? "",
    outcome: OUTCOMES[d.outcome],
    challengerSuccess: d.challenger_success,
    championSuccess: d.champion_success,
    difference: d.challenger_success - d.champion_success,
    lowerBound: d.lower_bound,
    confidence: d.confidence,
    margin: d.margin,
    evidenceCount: d.evidence_count,
    reason: d.reason,
    decidedAt: timestampFromMicros(d.decided_at_us),
  });
}

/** The rollout under way and its arms' figures (GetStatus, GetDashboard, GetRollout). */
export async function rolloutStatus(deps: ServiceDependencies): Promise<{ rollout?: Rollout; arms: ArmStatus[] }> {
  // The arms count logged decisions: write the queued ones first.
  await deps.recommendationLog.flush();
  const rollout = await readCurrentRollout(deps.pool);
  if (!rollout) return { arms: [] };
  return { rollout: rolloutToProto(rollout), arms: (await armFigures(deps, rollout)).map(armToProto) };
}

const setSchema = z
  .object({
    version: text(128, 1),
    mode: knownEnum(ChallengerMode, { allowUnspecified: false }),
    canaryShare: z.number(),
  })
  .superRefine((r, ctx) => {
    const share = r.canaryShare;
    if (r.mode === ChallengerMode.CANARY && !(share > 0 && share < 1)) {
      ctx.addIssue({
        code: "custom",
        path: ["canaryShare"],
        message: "must be strictly between 0 and 1",
        params: { reason: "OUT_OF_RANGE" },
      });
    }
    if (r.mode === ChallengerMode.SHADOW && share !== 0) {
      ctx.addIssue({
        code: "custom",
        path: ["canaryShare"],
        message: "must be 0 for a shadow (it is scored on every call)",
        params: { reason: "NOT_APPLICABLE" },
      });
    }
  });

/** SetChallenger: starts a shadow or canary rollout of a trained version; every replica follows. */
export async function setChallenger(deps: ServiceDependencies, request: SetChallengerRequest): Promise<SetChallengerResponse> {
  const r = parseRequest(setSchema, request);
  const record = await readModelVersion(deps.pool, r.version);
  if (!record) {
    throw invalidArgument([{ field: "version", description: `no model version ${r.version}`, reason: "UNKNOWN_VERSION" }]);
  }
  const info = { version: r.version };
  if (record.status === "rejected") {
    throw errorWithInfo(Code.FailedPrecondition, `model ${r.version} was rejected by the holdout gate`, "MODEL_REJECTED", info);
  }
  if (record.status === "active") {
    throw errorWithInfo(Code.FailedPrecondition, `model ${r.version} is already active: it is the champion`, "MODEL_ACTIVE", info);
  }
  const mode = r.mode === ChallengerMode.CANARY ? "canary" : "shadow";
  const rollout = await startRollout(deps.pool, {
    version: r.version,
    kind: record.kind,
    mode,
    canaryShare: mode === "canary" ? r.canaryShare : null,
  });
  // This replica serves it before answering; the others follow the notification.
  await deps.rollout.refresh();
  deps.log.info({ rollout: String(rollout.id), version: r.version, mode, share: rollout.canary_share }, "challenger set");
  return create(SetChallengerResponseSchema, { rollout: rolloutToProto(rollout) });
}

/** ClearChallenger: ends the rollout under way. */
export async function clearChallenger(deps: ServiceDependencies): Promise<ClearChallengerResponse> {
  const ended = await endRollout(deps.pool, "cleared");
  await deps.rollout.refresh();
  return create(ClearChallengerResponseSchema, ended ? { ended: rolloutToProto(ended) } : {});
}

/** How many promotion decisions GetRollout lists. */
const RECENT_DECISIONS = 20;

/** GetRollout: the rollout, its arms, and the latest promotion decisions. */
export async function getRollout(deps: ServiceDependencies): Promise<GetRolloutResponse> {
  const [status, decisions] = await Promise.all([rolloutStatus(deps), listPromotionDecisions(deps.pool, RECENT_DECISIONS)]);
  return create(GetRolloutResponseSchema, { ...status, decisions: decisions.map(decisionToProto) });
}

const promoteSchema = z
  .object({
    confidence: z.number().refine((c) => c === 0 || (c > 0.5 && c < 1), {
      message: "must be 0 (0.95) or strictly between 0.5 and 1",
      params: { reason: "OUT_OF_RANGE" },
    }),
    margin: z.number().refine((m) => m >= 0 && m < 0.5, { message: "must be in [0, 0.5)", params: { reason: "OUT_OF_RANGE" } }),
  })
  .transform((r) => ({ confidence: r.confidence === 0 ? 0.95 : r.confidence, margin: r.margin }));

/**
 * PromoteChallenger: judges the rollout's evidence and, when it shows the challenger at least as
 * good at the stated confidence, activates it (not forced); records the decision either way, in
 * the same transaction as the activation, under the rollout lock (so a rollout changed meanwhile
 * is not promoted on another's evidence).
 */
export async function promoteChallenger(deps: ServiceDependencies, request: PromoteChallengerRequest): Promise<PromoteChallengerResponse> {
  const { confidence, margin } = parseRequest(promoteSchema, request);
  const rollout = await readCurrentRollout(deps.pool);
  if (!rollout) throw errorWithInfo(Code.FailedPrecondition, "no challenger rollout is under way (SetChallenger)", "NO_ROLLOUT");
  // The evidence is the logged decisions: write the queued ones first.
  await deps.recommendationLog.flush();
  const evidence = await promotionEvidence(deps, rollout, confidence);
  const verdict = judgePromotion(evidence, confidence, margin);
  const record = verdict.promote ? await readModelVersion(deps.pool, rollout.version) : null;
  // Load before announcing, as ActivateModel does: a version that cannot load here must not become the fleet's.
  const model = record ? await loadServingModel(record) : undefined;
  let decision: StoredPromotionDecision;
  try {
    decision = await deps.pool.transaction(async (tx) => {
      await lockRollouts(tx);
      const current = await readCurrentRollout(tx);
      if (current?.id !== rollout.id) {
        throw errorWithInfo(Code.Aborted, "the rollout changed while its evidence was judged; try again", "ROLLOUT_CHANGED");
      }
      const stored = await recordPromotionDecision(tx, {
        rollout_id: rollout.id,
        challenger_version: rollout.version,
        // The champion now: an ActivateModel since the rollout started may have replaced it.
        champion_version: await activeVersionOf(tx, rollout.kind),
        outcome: verdict.promote ? "promoted" : "refused",
        challenger_success: evidence.challenger,
        champion_success: evidence.champion,
        lower_bound: evidence.lowerBound,
        confidence,
        margin,
        evidence_count: BigInt(evidence.count),
        reason: verdict.reason,
      });
      if (verdict.promote) await activateModelVersion(tx, rollout.version, `promoted on evidence (rollout ${rollout.id})`);
      return stored;
    });
  } catch (error) {
    void model?.session.release();
    throw error;
  }
  if (model) {
    if (await isActiveVersion(deps.pool, rollout.version)) await deps.runtime.install(model);
    else void model.session.release();
    await deps.modelFiles.write(rollout.version);
  }
  await deps.rollout.refresh();
  deps.log.info(
    { rollout: String(rollout.id), version: rollout.version, outcome: decision.outcome, reason: decision.reason },
    "promotion judged",
  );
  return create(PromoteChallengerResponseSchema, { decision: decisionToProto(decision) });
}

/**
 * After ActivateModel: when the version activated is the challenger under way, its rollout ends
 * with a FORCED decision (no evidence judged), and this replica stops serving it as a challenger.
 */
export async function recordForcedActivation(deps: ServiceDependencies, version: string): Promise<void> {
  const forced = await deps.pool.transaction(async (tx) => {
    await lockRollouts(tx);
    const rollout = await readCurrentRollout(tx);
    if (rollout?.version !== version) return false;
    await recordPromotionDecision(tx, {
      rollout_id: rollout.id,
      challenger_version: version,
      champion_version: rollout.champion_version,
      outcome: "forced",
      challenger_success: 0,
      champion_success: 0,
      lower_bound: 0,
      confidence: 0,
      margin: 0,
      evidence_count: 0n,
      reason: "activated by ActivateModel without judging the evidence",
    });
    return true;
  });
  if (forced) await deps.rollout.refresh();
}
