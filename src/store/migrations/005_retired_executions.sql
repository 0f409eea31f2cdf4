-- Retention deletes raw executions but must not make them new again: a re-send of a deleted
-- execution (an outbox replayed after a restart, an export imported back) would otherwise be
-- stored and counted a second time in the aggregates, which kept it. Each deleted execution
-- leaves its id, content hash, sequence number and recording time here (about 100 bytes, against
-- the kilobyte or so of the row and its indexes), so ingestion still answers it as a duplicate
-- (same content) or ALREADY_EXISTS (other content), exactly as before the deletion.
CREATE TABLE retired_executions (
  execution_id text PRIMARY KEY,
  content_hash bytea NOT NULL,
  seq bigint NOT NULL,
  recorded_at timestamptz NOT NULL,
  retired_at timestamptz NOT NULL DEFAULT now()
);
