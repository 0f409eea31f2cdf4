-- Trained models: every version with its ONNX bytes, its own feature map, its held-out metrics
-- and training window; at most one active version per kind; and the history of activations
-- (which version served when), which rollback and audits need.

CREATE TABLE model_versions (
  version text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('success', 'duration')),
  status text NOT NULL CHECK (status IN ('active', 'inactive', 'rejected')),
  onnx bytea NOT NULL,
  -- the trees as trained, so a later retrain can compare itself with this version in TypeScript
  ensemble jsonb NOT NULL,
  feature_map jsonb NOT NULL,
  metrics jsonb NOT NULL,
  training_rows bigint NOT NULL,
  window_start timestamptz,
  window_end timestamptz,
  rejection_reason text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX model_versions_one_active ON model_versions (kind) WHERE status = 'active';
CREATE INDEX model_versions_listing ON model_versions (created_at DESC);

CREATE TABLE model_activations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version text NOT NULL REFERENCES model_versions (version),
  kind text NOT NULL,
  reason text NOT NULL,
  activated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Bookkeeping of automatic retraining.
CREATE TABLE retrain_state (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  trained_executions bigint NOT NULL DEFAULT 0,
  last_run_at timestamptz
);
INSERT INTO retrain_state DEFAULT VALUES;
