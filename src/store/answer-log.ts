import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import type { DecisionLog } from "./decisions.js";
import { type RecommendationLog, recommendationsInsert } from "./recommendations.js";

/** One PredictAgents answer to log: its recommendations and, when the policy drew its first team, its decision. */
export interface AnswerLog {
  recommendations: readonly RecommendationLog[];
  decision: DecisionLog | undefined;
}

/**
 * Logs many answers in ONE statement (a data-modifying WITH over two JSON recordsets), so a batch
 * costs one round trip and one commit, and every answer's recommendations and decision are
 * written together or not at all. Idempotent (ON CONFLICT DO NOTHING on the ids), so a batch whose
 * commit was not acknowledged (a lost connection) can be written again without failing or
 * doubling rows. `created_at` is the database's clock when the batch is written.
 */
export async function logAnswers(db: CommonQueryMethods, answers: readonly AnswerLog[]): Promise<void> {
  const recommendations = answers.flatMap((a) => a.recommendations);
  if (recommendations.length === 0) return;
  const decisions = answers.flatMap((a) => (a.decision ? [a.decision] : []));
  if (decisions.length === 0) {
    await db.query(sql.type(z.object({}))`${recommendationsInsert(recommendations)} ON CONFLICT DO NOTHING`);
    return;
  }
  // An absent shadow is SQL NULL, as the single-row insert writes it; so are an absent rollout and
  // arm (fields left out of the JSON).
  const json = decisions.map(({ shadow, ...d }) => (shadow === undefined || shadow === null ? d : { ...d, shadow }));
  await db.query(sql.type(z.object({}))`
    WITH logged AS (${recommendationsInsert(recommendations)} ON CONFLICT DO NOTHING)
    INSERT INTO decisions (decision_id, request_id, task_type, complexity, mode, policy, model_versions,
      success_weight, exploration, candidate_count, floor_propensity, first_agent_set, first_propensity,
      greedy_agent_set, top_teams, shadow, recommendation_id, rollout_id, arm)
    SELECT decision_id, request_id, task_type, complexity, mode, policy, model_versions,
      success_weight, exploration, candidate_count, floor_propensity, first_agent_set, first_propensity,
      greedy_agent_set, top_teams, shadow, recommendation_id, rollout_id::bigint, arm
    FROM jsonb_to_recordset(${sql.jsonb(json as never)}) AS d(decision_id text, request_id text, task_type text,
      complexity double precision, mode text, policy text, model_versions text[], success_weight double precision,
      exploration double precision, candidate_count integer, floor_propensity double precision,
      first_agent_set text, first_propensity double precision, greedy_agent_set text, top_teams jsonb,
      shadow jsonb, recommendation_id text, rollout_id text, arm text)
    ON CONFLICT DO NOTHING`);
}
