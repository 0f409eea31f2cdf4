-- Running aggregates without upserts on the ingest path (issue 11). Folding every stored execution
-- into five aggregate tables inside the ingest statement cost PostgreSQL more than inserting the
-- execution itself: the keys (combination, ordered team) are nearly all new within a batch, so
-- each was an index probe, a row insert and its index entries, on hot keys contended by every
-- replica. Now the ingest statement appends one compact delta row per stored execution to
-- `execution_deltas` (a heap with no index: an append), and a background job folds the deltas
-- into the `*_folded` tables (set-based, keys in order, one replica at a time under an advisory
-- lock), deleting them in the same transaction. The aggregate names the rest of the code reads
-- (task_type_stats, agent_stats, ...) are now views: folded sums plus the deltas not yet folded,
-- grouped by key. A view is read in one snapshot, and a fold moves rows from the deltas to the
-- sums atomically, so every read counts an acknowledged execution at once and exactly once.

ALTER TABLE task_type_stats RENAME TO task_type_stats_folded;
ALTER TABLE agent_stats RENAME TO agent_stats_folded;
ALTER TABLE combination_stats RENAME TO combination_stats_folded;
ALTER TABLE sequence_stats RENAME TO sequence_stats_folded;
ALTER TABLE combination_errors RENAME TO combination_errors_folded;
-- Looked up ordered teams by combination for one team at a time; evidence now reads a task type's
-- ordered teams at once (through the primary key's task_type prefix), and every new ordered team a
-- fold adds would pay for this index too.
DROP INDEX sequence_stats_set;

-- One row per stored execution not yet folded: the columns the aggregates are computed from.
-- No primary key and no index on purpose (the fold reads it whole, in slices by ctid); the
-- error message is kept only where an aggregate counts it (failures), cut as the aggregate cuts it.
CREATE TABLE execution_deltas (
  task_type text NOT NULL,
  agents text[] NOT NULL,
  agent_set text NOT NULL,
  success boolean NOT NULL,
  duration_seconds double precision NOT NULL,
  complexity double precision NOT NULL,
  user_satisfaction smallint,
  error_message text NOT NULL,
  recorded_at timestamptz NOT NULL
);

CREATE VIEW task_type_stats AS
SELECT task_type, sum(executions)::bigint AS executions, sum(successes)::bigint AS successes,
  sum(duration_sum) AS duration_sum, sum(log_duration_sum) AS log_duration_sum,
  sum(log_duration_sq_sum) AS log_duration_sq_sum, sum(complexity_sum) AS complexity_sum,
  max(last_recorded_at) AS last_recorded_at
FROM (
  SELECT task_type, executions, successes, duration_sum, log_duration_sum, log_duration_sq_sum,
    complexity_sum, last_recorded_at
  FROM task_type_stats_folded
  UNION ALL
  SELECT task_type, 1, success::int, duration_seconds, ln(1 + duration_seconds),
    ln(1 + duration_seconds) * ln(1 + duration_seconds), complexity, recorded_at
  FROM execution_deltas
) s GROUP BY task_type;

CREATE VIEW agent_stats AS
SELECT task_type, agent, sum(executions)::bigint AS executions, sum(successes)::bigint AS successes,
  sum(duration_sum) AS duration_sum, sum(log_duration_sum) AS log_duration_sum,
  sum(log_duration_sq_sum) AS log_duration_sq_sum, sum(complexity_sum) AS complexity_sum,
  max(last_recorded_at) AS last_recorded_at
FROM (
  SELECT task_type, agent, executions, successes, duration_sum, log_duration_sum, log_duration_sq_sum,
    complexity_sum, last_recorded_at
  FROM agent_stats_folded
  UNION ALL
  SELECT d.task_type, a.agent, 1, d.success::int, d.duration_seconds, ln(1 + d.duration_seconds),
    ln(1 + d.duration_seconds) * ln(1 + d.duration_seconds), d.complexity, d.recorded_at
  FROM execution_deltas d CROSS JOIN LATERAL unnest(d.agents) AS a(agent)
) s GROUP BY task_type, agent;

CREATE VIEW combination_stats AS
SELECT task_type, agent_set, string_to_array(agent_set, ',') AS agents,
  sum(executions)::bigint AS executions, sum(successes)::bigint AS successes,
  sum(duration_sum) AS duration_sum, sum(log_duration_sum) AS log_duration_sum,
  sum(log_duration_sq_sum) AS log_duration_sq_sum, sum(complexity_sum) AS complexity_sum,
  sum(satisfaction_sum) AS satisfaction_sum, sum(satisfaction_count)::bigint AS satisfaction_count,
  max(last_recorded_at) AS last_recorded_at
FROM (
  SELECT task_type, agent_set, executions, successes, duration_sum, log_duration_sum,
    log_duration_sq_sum, complexity_sum, satisfaction_sum, satisfaction_count, last_recorded_at
  FROM combination_stats_folded
  UNION ALL
  SELECT task_type, agent_set, 1, success::int, duration_seconds, ln(1 + duration_seconds),
    ln(1 + duration_seconds) * ln(1 + duration_seconds), complexity, coalesce(user_satisfaction, 0),
    (user_satisfaction IS NOT NULL)::int, recorded_at
  FROM execution_deltas
) s GROUP BY task_type, agent_set;

CREATE VIEW sequence_stats AS
SELECT task_type, agent_sequence, min(agent_set) AS agent_set, sum(executions)::bigint AS executions,
  sum(successes)::bigint AS successes, sum(duration_sum) AS duration_sum,
  max(last_recorded_at) AS last_recorded_at
FROM (
  SELECT task_type, agent_sequence, agent_set, executions, successes, duration_sum, last_recorded_at
  FROM sequence_stats_folded
  UNION ALL
  SELECT task_type, agents, agent_set, 1, success::int, duration_seconds, recorded_at
  FROM execution_deltas
) s GROUP BY task_type, agent_sequence;

CREATE VIEW combination_errors AS
SELECT task_type, agent_set, error_message, sum(occurrences)::bigint AS occurrences
FROM (
  SELECT task_type, agent_set, error_message, occurrences FROM combination_errors_folded
  UNION ALL
  SELECT task_type, agent_set, error_message, 1 FROM execution_deltas
  WHERE NOT success AND error_message <> ''
) s GROUP BY task_type, agent_set, error_message;
