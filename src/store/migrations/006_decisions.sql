-- The decision log: one row per PredictAgents answer that returned a team, saying how the policy
-- chose the team it put first, so other policies can be evaluated offline on the logged history.
-- Each recommendation row (003) keeps the probability that the policy puts ITS team first; a
-- decision adds what the answer as a whole needs for off-policy evaluation: the policy that ran
-- (statistical, or which model versions), the exploration share, the number of candidates, the
-- team returned first with its exact propensity, the greedy team, and the first-pick probability
-- of every team above the floor (any candidate not listed had exactly floor_propensity).
--
-- Crediting: the outcome of a decision is the execution recorded with the recommendation_id of
-- its first team (the earliest one when several carry it). A decision is "followed" when that
-- execution ran the same agent set as first_agent_set; a decision whose caller ran another team
-- is "not followed": its outcome says nothing about the team the policy chose, so off-policy
-- evaluation excludes it (and counts it), rather than crediting the chosen team with it.
CREATE TABLE decisions (
  decision_id text PRIMARY KEY,
  request_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  task_type text NOT NULL,
  complexity double precision NOT NULL,
  mode text NOT NULL,
  -- 'statistical' (Beta posteriors from the evidence) or 'model' (a trained model's estimates)
  policy text NOT NULL CHECK (policy IN ('statistical', 'model')),
  -- the model versions whose estimates ranked the teams; empty for the statistical policy
  model_versions text[] NOT NULL DEFAULT '{}',
  success_weight double precision NOT NULL CHECK (success_weight >= 0 AND success_weight <= 1),
  -- the share ε of answers whose first slot explores
  exploration double precision NOT NULL CHECK (exploration >= 0 AND exploration <= 1),
  -- teams the policy could put first (after constraints, deadline and confidence threshold)
  candidate_count integer NOT NULL CHECK (candidate_count >= 1),
  -- ε · 0.1 / candidate_count: the least first-pick probability of any candidate (0 when ε = 0)
  floor_propensity double precision NOT NULL CHECK (floor_propensity >= 0 AND floor_propensity <= 1),
  -- the team returned first (agents sorted and joined with ','), and the probability that the
  -- policy, as it ran for this call, puts it first
  first_agent_set text NOT NULL,
  first_propensity double precision NOT NULL CHECK (first_propensity > 0 AND first_propensity <= 1),
  -- the team a purely greedy policy would have put first
  greedy_agent_set text NOT NULL,
  -- the teams whose first-pick probability exceeds the floor, most probable first:
  -- [{agent_set, probability, success_probability, expected_duration_seconds}]
  top_teams jsonb NOT NULL,
  -- reserved for shadow models: their picks and probabilities for this call
  shadow jsonb,
  -- the recommendation row of the team returned first: executions recorded with this id credit it
  -- (no foreign key, so a batched log writer may insert the two tables in either order)
  recommendation_id text NOT NULL
);
CREATE INDEX decisions_created_at ON decisions (created_at);
CREATE INDEX decisions_task_type ON decisions (task_type, created_at);
CREATE UNIQUE INDEX decisions_recommendation ON decisions (recommendation_id);
