import { type CommonQueryMethods, type DatabasePool, sql } from "slonik";
import { z } from "zod";
import { ModelKindSchema } from "./models.js";

/** The channel announcing that the rollout under way changed (payload: its id, or "" when none is). */
export const ROLLOUT_CHANNEL = "agent_learning_rollouts";

/** Key of the advisory lock serialising rollout changes and promotions, fleet-wide. */
const ROLLOUT_LOCK_KEY = 7_461_239_007;

/** How a challenger serves (migration 007's `model_rollouts.mode`). */
export const ChallengerModeSchema = z.enum(["shadow", "canary"]);
/** A challenger mode's stored name. */
export type ChallengerModeName = z.infer<typeof ChallengerModeSchema>;

/** A row of `model_rollouts` (migration 007). */
export const RolloutRow = z.object({
  id: z.bigint(),
  version: z.string(),
  kind: ModelKindSchema,
  mode: ChallengerModeSchema,
  canary_share: z.number().nullable(),
  champion_version: z.string().nullable(),
  started_at_us: z.bigint(),
});
/** A challenger rollout. */
export type RolloutRecord = z.infer<typeof RolloutRow>;

const rolloutColumns = sql.fragment`
  id, version, kind, mode, canary_share, champion_version,
  (extract(epoch FROM started_at) * 1000000)::bigint AS started_at_us`;

/** The rollout under way, if any. */
export async function readCurrentRollout(db: CommonQueryMethods): Promise<RolloutRecord | null> {
  return db.maybeOne(sql.type(RolloutRow)`SELECT ${rolloutColumns} FROM model_rollouts WHERE ended_at IS NULL`);
}

/** What starts a rollout. */
export interface NewRollout {
  version: string;
  kind: "success" | "duration";
  mode: ChallengerModeName;
  canaryShare: number | null;
}

/**
 * Ends any rollout under way and starts this one, with the active version of its kind as the
 * champion, and announces it to every replica (in one transaction: the NOTIFY goes with the commit).
 */
export async function startRollout(pool: DatabasePool, r: NewRollout): Promise<RolloutRecord> {
  return pool.transaction(async (tx) => {
    await lockRollouts(tx);
    await tx.query(sql.type(z.object({}))`
      UPDATE model_rollouts SET ended_at = clock_timestamp(), end_reason = 'replaced' WHERE ended_at IS NULL`);
    const row = await tx.one(sql.type(RolloutRow)`
      INSERT INTO model_rollouts (version, kind, mode, canary_share, champion_version)
      VALUES (${r.version}, ${r.kind}, ${r.mode}, ${r.canaryShare},
        (SELECT version FROM model_versions WHERE kind = ${r.kind} AND status = 'active'))
      RETURNING ${rolloutColumns}`);
    await notifyRollout(tx, String(row.id));
    return row;
  });
}

/** Ends the rollout under way (if any) for `reason`, announcing it; answers the rollout ended. */
export async function endRollout(db: DatabasePool, reason: string): Promise<RolloutRecord | null> {
  return db.transaction(async (tx) => {
    await lockRollouts(tx);
    return endCurrent(tx, reason);
  });
}

async function endCurrent(tx: CommonQueryMethods, reason: string): Promise<RolloutRecord | null> {
  const ended = await tx.maybeOne(sql.type(RolloutRow)`
    UPDATE model_rollouts SET ended_at = clock_timestamp(), end_reason = ${reason}
    WHERE ended_at IS NULL RETURNING ${rolloutColumns}`);
  if (ended) await notifyRollout(tx, "");
  return ended;
}

/** Serialises changes to the rollout (SetChallenger, promotions, forced activations) across replicas. */
export async function lockRollouts(tx: CommonQueryMethods): Promise<void> {
  await tx.query(sql.type(z.object({}))`SELECT pg_advisory_xact_lock(${ROLLOUT_LOCK_KEY})`);
}

async function notifyRollout(tx: CommonQueryMethods, payload: string): Promise<void> {
  await tx.query(sql.type(z.object({}))`SELECT pg_notify(${ROLLOUT_CHANNEL}, ${payload})`);
}

/** A promotion decision (migration 007's `promotion_decisions`). */
export const PromotionDecisionRow = z.object({
  rollout_id: z.bigint(),
  challenger_version: z.string(),
  champion_version: z.string().nullable(),
  outcome: z.enum(["promoted", "refused", "forced"]),
  challenger_success: z.number(),
  champion_success: z.number(),
  lower_bound: z.number(),
  confidence: z.number(),
  margin: z.number(),
  evidence_count: z.bigint(),
  reason: z.string(),
});
/** One promotion decision to record. */
export type PromotionDecisionRecord = z.infer<typeof PromotionDecisionRow>;
/** One recorded promotion decision, with when it was made. */
export type StoredPromotionDecision = PromotionDecisionRecord & { decided_at_us: bigint };

/**
 * Records a promotion decision; for a promotion or a forced activation it also ends the rollout
 * (announced), in the caller's transaction.
 */
export async function recordPromotionDecision(tx: CommonQueryMethods, d: PromotionDecisionRecord): Promise<StoredPromotionDecision> {
  const { decided_at_us } = await tx.one(sql.type(z.object({ decided_at_us: z.bigint() }))`
    INSERT INTO promotion_decisions (rollout_id, challenger_version, champion_version, outcome, challenger_success,
      champion_success, lower_bound, confidence, margin, evidence_count, reason)
    VALUES (${d.rollout_id.toString()}::bigint, ${d.challenger_version}, ${d.champion_version}, ${d.outcome}, ${d.challenger_success},
      ${d.champion_success}, ${d.lower_bound}, ${d.confidence}, ${d.margin}, ${d.evidence_count.toString()}::bigint, ${d.reason})
    RETURNING (extract(epoch FROM decided_at) * 1000000)::bigint AS decided_at_us`);
  if (d.outcome !== "refused") await endCurrent(tx, d.outcome);
  return { ...d, decided_at_us };
}

/** The latest promotion decisions, newest first. */
export async function listPromotionDecisions(db: CommonQueryMethods, limit: number): Promise<readonly StoredPromotionDecision[]> {
  return db.any(sql.type(PromotionDecisionRow.extend({ decided_at_us: z.bigint() }))`
    SELECT rollout_id, challenger_version, champion_version, outcome, challenger_success, champion_success, lower_bound,
      confidence, margin, evidence_count, reason, (extract(epoch FROM decided_at) * 1000000)::bigint AS decided_at_us
    FROM promotion_decisions ORDER BY decided_at DESC, id DESC LIMIT ${limit}`);
}

const ArmCountsRow = z.object({
  arm: z.enum(["champion", "challenger"]),
  decisions: z.number().int(),
  credited: z.number().int(),
  successes: z.number().int(),
});
/** One arm's decisions and the outcomes credited to them. */
export type ArmCounts = z.infer<typeof ArmCountsRow>;

/**
 * Per arm of a rollout: its decisions, and the earliest execution recorded with each decision's
 * first recommendation id (whatever team the caller ran), counted and summed in PostgreSQL.
 */
export async function readArmCounts(db: CommonQueryMethods, rolloutId: bigint): Promise<readonly ArmCounts[]> {
  return db.any(sql.type(ArmCountsRow)`
    WITH arm_decisions AS (
      SELECT arm, recommendation_id FROM decisions WHERE rollout_id = ${rolloutId.toString()}::bigint AND arm IS NOT NULL
    ), credit AS (
      SELECT DISTINCT ON (x.recommendation_id) x.recommendation_id, x.success
      FROM executions x JOIN arm_decisions a ON a.recommendation_id = x.recommendation_id
      ORDER BY x.recommendation_id, x.seq
    )
    SELECT a.arm, count(*)::int AS decisions, count(c.recommendation_id)::int AS credited,
      count(*) FILTER (WHERE c.success)::int AS successes
    FROM arm_decisions a LEFT JOIN credit c ON c.recommendation_id = a.recommendation_id
    GROUP BY a.arm ORDER BY a.arm = 'challenger', a.arm`);
}

/**
 * What `decisions.shadow` holds for a decision scored by a shadow challenger: the rollout and
 * version, the team it would have put first (drawn as it would have drawn it), its greedy team,
 * its floor and candidate count, and its first-pick probabilities of the teams above the floor
 * with its estimates of them (the shape of `decisions.top_teams`).
 */
export const ShadowLogSchema = z.object({
  rollout_id: z.string(),
  version: z.string(),
  model_versions: z.array(z.string()),
  pick: z.string(),
  greedy: z.string(),
  floor: z.number(),
  candidate_count: z.number().int(),
  top_teams: z.array(
    z.object({
      agent_set: z.string(),
      probability: z.number(),
      success_probability: z.number(),
      expected_duration_seconds: z.number(),
    }),
  ),
});
/** A shadow challenger's record of one decision. */
export type ShadowLog = z.infer<typeof ShadowLogSchema>;

const ShadowSumsRow = z.object({
  decisions: z.number().int(),
  credited: z.number().int(),
  weight_sum: z.number(),
  weighted_successes: z.number(),
  weight_sq_sum: z.number(),
  weight_sq_successes: z.number(),
});
/** Sums of the shadow challenger's importance weights over the rollout's followed credited decisions. */
export type ShadowSums = z.infer<typeof ShadowSumsRow>;

/**
 * What the shadow arm's self-normalised IPS needs, summed in PostgreSQL over the rollout's
 * decisions (its index), so GetStatus never pulls the decision log into the process: per followed
 * credited decision, w = the challenger's logged probability of the team returned first (its floor
 * when it did not list it) / the logged propensity, and r = success. `decisions` counts every
 * decision the shadow was scored on.
 */
export async function readShadowSums(db: CommonQueryMethods, rolloutId: bigint): Promise<ShadowSums> {
  return db.one(sql.type(ShadowSumsRow)`
    WITH scored AS (
      SELECT recommendation_id, first_agent_set, first_propensity, shadow FROM decisions
      WHERE rollout_id = ${rolloutId.toString()}::bigint AND shadow IS NOT NULL
    ), credit AS (
      SELECT DISTINCT ON (x.recommendation_id) x.recommendation_id, x.agent_set, x.success
      FROM executions x JOIN scored s ON s.recommendation_id = x.recommendation_id
      ORDER BY x.recommendation_id, x.seq
    ), weighted AS (
      SELECT c.success::int::float8 AS r,
        coalesce(
          (SELECT (t->>'probability')::float8 FROM jsonb_array_elements(s.shadow->'top_teams') t
           WHERE t->>'agent_set' = s.first_agent_set LIMIT 1),
          (s.shadow->>'floor')::float8) / s.first_propensity AS w
      FROM scored s JOIN credit c ON c.recommendation_id = s.recommendation_id AND c.agent_set = s.first_agent_set
    )
    SELECT (SELECT count(*) FROM scored)::int AS decisions, count(*)::int AS credited,
      coalesce(sum(w), 0)::float8 AS weight_sum, coalesce(sum(w * r), 0)::float8 AS weighted_successes,
      coalesce(sum(w * w), 0)::float8 AS weight_sq_sum, coalesce(sum(w * w * r), 0)::float8 AS weight_sq_successes
    FROM weighted`);
}
