-- The learning loop: execution orders, insights and their feed, recommendations (with their
-- propensities), and the bookkeeping of automatic analysis.

-- Per ordered team (agents in execution order) and task type: "keep the order too".
CREATE TABLE sequence_stats (
  task_type text NOT NULL,
  agent_sequence text[] NOT NULL,
  agent_set text NOT NULL,
  executions bigint NOT NULL,
  successes bigint NOT NULL,
  duration_sum double precision NOT NULL,
  last_recorded_at timestamptz NOT NULL,
  PRIMARY KEY (task_type, agent_sequence)
);
CREATE INDEX sequence_stats_set ON sequence_stats (task_type, agent_set);

INSERT INTO sequence_stats (task_type, agent_sequence, agent_set, executions, successes, duration_sum, last_recorded_at)
SELECT task_type, agents, min(agent_set), count(*), count(*) FILTER (WHERE success), sum(duration_seconds), max(recorded_at)
FROM executions GROUP BY task_type, agents;

-- The insight types, one list shared with the proto's InsightType (INSIGHT_TYPE_<UPPER>).
CREATE TABLE insights (
  insight_id text PRIMARY KEY,
  -- what makes two findings "the same": type, task type, agents and variant
  finding_key text NOT NULL UNIQUE,
  type text NOT NULL CHECK (type IN
    ('best_combo', 'avoid_pattern', 'bottleneck', 'underperforming_agent', 'anomaly', 'trend')),
  status text NOT NULL CHECK (status IN ('active', 'retired')),
  task_type text NOT NULL,
  agents text[] NOT NULL,
  confidence double precision NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
  confidence_method text NOT NULL,
  sample_size bigint NOT NULL CHECK (sample_size >= 0),
  description text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX insights_listing ON insights (status, updated_at DESC, insight_id);

-- Every version of every insight, in feed order: StreamInsights replays it from a cursor. Writers
-- hold the analysis advisory lock, so sequence numbers commit in order and a reader that has seen
-- N has seen everything below N.
CREATE TABLE insight_events (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  insight_id text NOT NULL REFERENCES insights (insight_id),
  type text NOT NULL,
  status text NOT NULL,
  task_type text NOT NULL,
  agents text[] NOT NULL,
  confidence double precision NOT NULL,
  confidence_method text NOT NULL,
  sample_size bigint NOT NULL,
  description text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

-- Every recommendation PredictAgents returned, with the probability the policy had of choosing
-- it (its propensity), so outcomes recorded with its id credit it and other policies can be
-- evaluated offline on the logged history.
CREATE TABLE recommendations (
  recommendation_id text PRIMARY KEY,
  request_id text NOT NULL,
  rank integer NOT NULL CHECK (rank >= 1),
  task_type text NOT NULL,
  complexity double precision NOT NULL,
  agents text[] NOT NULL,
  agent_set text NOT NULL,
  success_probability double precision NOT NULL CHECK (success_probability >= 0 AND success_probability <= 1),
  expected_duration_seconds double precision NOT NULL,
  confidence double precision NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
  propensity double precision NOT NULL CHECK (propensity >= 0 AND propensity <= 1),
  exploratory boolean NOT NULL,
  source text NOT NULL,
  model_version text,
  mode text NOT NULL,
  applied boolean NOT NULL,
  -- observation mode: the caller's own team and the service's pick, as sets
  caller_agent_set text,
  service_agent_set text,
  service_success_probability double precision,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX recommendations_mode ON recommendations (mode, created_at);

-- When analysis last ran, so replicas schedule it by executions and time without duplicating it.
CREATE TABLE analysis_state (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  analyzed_executions bigint NOT NULL DEFAULT 0,
  last_run_at timestamptz
);
INSERT INTO analysis_state DEFAULT VALUES;
