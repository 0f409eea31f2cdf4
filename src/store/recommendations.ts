import { type FragmentSqlToken, sql } from "slonik";

/** One recommendation as logged: enough to credit its outcome and to evaluate other policies offline. */
export interface RecommendationLog {
  recommendationId: string;
  requestId: string;
  rank: number;
  taskType: string;
  complexity: number;
  agents: string[];
  agentSet: string;
  successProbability: number;
  expectedDurationSeconds: number;
  confidence: number;
  propensity: number;
  exploratory: boolean;
  source: "statistical" | "catalog" | "model" | "caller";
  modelVersion: string | null;
  mode: string;
  applied: boolean;
  callerAgentSet: string | null;
  serviceAgentSet: string | null;
  serviceSuccessProbability: number | null;
}

/** The INSERT of `rows` (at least one), to run alone or beside the answer's decision in one statement. */
export function recommendationsInsert(rows: readonly RecommendationLog[]): FragmentSqlToken {
  const json = rows.map((r) => ({
    recommendation_id: r.recommendationId,
    request_id: r.requestId,
    rank: r.rank,
    task_type: r.taskType,
    complexity: r.complexity,
    agents: r.agents,
    agent_set: r.agentSet,
    success_probability: r.successProbability,
    expected_duration_seconds: r.expectedDurationSeconds,
    confidence: r.confidence,
    propensity: r.propensity,
    exploratory: r.exploratory,
    source: r.source,
    model_version: r.modelVersion,
    mode: r.mode,
    applied: r.applied,
    caller_agent_set: r.callerAgentSet,
    service_agent_set: r.serviceAgentSet,
    service_success_probability: r.serviceSuccessProbability,
  }));
  return sql.fragment`
    INSERT INTO recommendations (recommendation_id, request_id, rank, task_type, complexity, agents,
      agent_set, success_probability, expected_duration_seconds, confidence, propensity, exploratory,
      source, model_version, mode, applied, caller_agent_set, service_agent_set, service_success_probability)
    SELECT recommendation_id, request_id, rank, task_type, complexity, agents, agent_set,
      success_probability, expected_duration_seconds, confidence, propensity, exploratory, source,
      model_version, mode, applied, caller_agent_set, service_agent_set, service_success_probability
    FROM jsonb_to_recordset(${sql.jsonb(json)}) AS r(recommendation_id text, request_id text,
      rank integer, task_type text, complexity double precision, agents text[], agent_set text,
      success_probability double precision, expected_duration_seconds double precision,
      confidence double precision, propensity double precision, exploratory boolean, source text,
      model_version text, mode text, applied boolean, caller_agent_set text, service_agent_set text,
      service_success_probability double precision)`;
}
