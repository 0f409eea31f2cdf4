-- The foundation: agent catalog, executions (idempotent on execution_id) and the running
-- aggregates that RecordExecution maintains in the same transaction, so analysis never rescans
-- history. Aggregates keep sums (not means) so they can be added to, and sums of squares so
-- variances come out without a second pass.

CREATE TABLE agents (
  name text PRIMARY KEY CHECK (name = upper(name) AND length(name) BETWEEN 1 AND 64),
  category text NOT NULL DEFAULT 'uncategorized',
  capabilities text[] NOT NULL DEFAULT '{}',
  -- true for the seeded catalog, false for agents registered on first sight
  from_catalog boolean NOT NULL DEFAULT false,
  first_seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE executions (
  -- commit-order-independent insertion sequence: the export order and the cursor for incremental work
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  execution_id text PRIMARY KEY CHECK (length(execution_id) BETWEEN 1 AND 128),
  task_type text NOT NULL,
  task_description text NOT NULL DEFAULT '',
  complexity double precision NOT NULL CHECK (complexity >= 0 AND complexity <= 10),
  agents text[] NOT NULL CHECK (cardinality(agents) BETWEEN 1 AND 64),
  -- the combination key: agents sorted and joined with ','; order is kept in agents
  agent_set text NOT NULL,
  duration_seconds double precision NOT NULL CHECK (duration_seconds >= 0),
  success boolean NOT NULL,
  error_message text NOT NULL DEFAULT '',
  cpu_percent double precision,
  memory_mb double precision,
  metrics jsonb NOT NULL DEFAULT '{}',
  user_satisfaction smallint CHECK (user_satisfaction BETWEEN 1 AND 10),
  started_at timestamptz,
  finished_at timestamptz,
  recommendation_id text,
  model_version text,
  -- sha-256 of the canonical content: tells an idempotent re-send from a conflicting one
  content_hash bytea NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK (finished_at IS NULL OR started_at IS NULL OR finished_at >= started_at)
);
CREATE INDEX executions_task_type_seq ON executions (task_type, seq);
CREATE INDEX executions_recorded_at ON executions (recorded_at);
CREATE INDEX executions_recommendation ON executions (recommendation_id) WHERE recommendation_id IS NOT NULL;

-- Per task type.
CREATE TABLE task_type_stats (
  task_type text PRIMARY KEY,
  executions bigint NOT NULL,
  successes bigint NOT NULL,
  duration_sum double precision NOT NULL,
  log_duration_sum double precision NOT NULL,
  log_duration_sq_sum double precision NOT NULL,
  complexity_sum double precision NOT NULL,
  last_recorded_at timestamptz NOT NULL
);

-- Per agent and task type.
CREATE TABLE agent_stats (
  task_type text NOT NULL,
  agent text NOT NULL REFERENCES agents (name),
  executions bigint NOT NULL,
  successes bigint NOT NULL,
  duration_sum double precision NOT NULL,
  log_duration_sum double precision NOT NULL,
  log_duration_sq_sum double precision NOT NULL,
  complexity_sum double precision NOT NULL,
  last_recorded_at timestamptz NOT NULL,
  PRIMARY KEY (task_type, agent)
);

-- Per combination (set of agents) and task type.
CREATE TABLE combination_stats (
  task_type text NOT NULL,
  agent_set text NOT NULL,
  agents text[] NOT NULL,
  executions bigint NOT NULL,
  successes bigint NOT NULL,
  duration_sum double precision NOT NULL,
  log_duration_sum double precision NOT NULL,
  log_duration_sq_sum double precision NOT NULL,
  complexity_sum double precision NOT NULL,
  satisfaction_sum double precision NOT NULL,
  satisfaction_count bigint NOT NULL,
  last_recorded_at timestamptz NOT NULL,
  PRIMARY KEY (task_type, agent_set)
);

-- Error messages of failed executions per combination, so "fails with X" needs no rescan.
CREATE TABLE combination_errors (
  task_type text NOT NULL,
  agent_set text NOT NULL,
  error_message text NOT NULL,
  occurrences bigint NOT NULL,
  PRIMARY KEY (task_type, agent_set, error_message)
);

-- Settings shared by every replica; exactly one row.
CREATE TABLE service_settings (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  learning_mode text NOT NULL DEFAULT 'adaptive'
    CHECK (learning_mode IN ('observation', 'advisory', 'adaptive', 'autonomous')),
  learning_enabled boolean NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO service_settings DEFAULT VALUES;
