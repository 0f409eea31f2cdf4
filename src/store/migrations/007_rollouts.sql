-- Challengers and promotion on evidence. A trained version that passed the holdout gate can be
-- tried next to the active version of its kind (the champion) before it replaces it: in shadow
-- (scored on every call, its picks logged in decisions.shadow, never returned) or as a canary
-- (serving a stated share of calls). One rollout at a time, fleet-wide; every replica follows
-- the current one (NOTIFY agent_learning_rollouts, and a re-read after a lost LISTEN session).
CREATE TABLE model_rollouts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version text NOT NULL REFERENCES model_versions (version),
  kind text NOT NULL CHECK (kind IN ('success', 'duration')),
  mode text NOT NULL CHECK (mode IN ('shadow', 'canary')),
  -- the canary's share of calls, in (0, 1); null for a shadow
  canary_share double precision CHECK (canary_share > 0 AND canary_share < 1),
  CHECK ((mode = 'canary') = (canary_share IS NOT NULL)),
  -- the active version of the kind when the rollout started
  champion_version text,
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  ended_at timestamptz,
  end_reason text
);
CREATE UNIQUE INDEX model_rollouts_one_current ON model_rollouts ((true)) WHERE ended_at IS NULL;

-- Every judgement of a challenger: promoted, refused, or forced by ActivateModel, with the figures.
CREATE TABLE promotion_decisions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rollout_id bigint NOT NULL REFERENCES model_rollouts (id),
  challenger_version text NOT NULL,
  champion_version text,
  outcome text NOT NULL CHECK (outcome IN ('promoted', 'refused', 'forced')),
  challenger_success double precision NOT NULL,
  champion_success double precision NOT NULL,
  lower_bound double precision NOT NULL,
  confidence double precision NOT NULL,
  margin double precision NOT NULL,
  evidence_count bigint NOT NULL,
  reason text NOT NULL,
  decided_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX promotion_decisions_recent ON promotion_decisions (decided_at DESC);

-- ActivateModel activates without judging evidence: the history says which activations were forced.
ALTER TABLE model_activations ADD COLUMN forced boolean NOT NULL DEFAULT false;

-- Which arm of which rollout served a decision (null: no rollout was under way).
ALTER TABLE decisions
  ADD COLUMN rollout_id bigint,
  ADD COLUMN arm text CHECK (arm IN ('champion', 'challenger'));
CREATE INDEX decisions_rollout ON decisions (rollout_id, arm) WHERE rollout_id IS NOT NULL;
