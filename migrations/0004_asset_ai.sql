-- Up Migration
-- What a language model wrote about each asset (AI_PROVIDER=openai-compatible), the usage and cost
-- of the calls that wrote it, and chunk embeddings (AI_EMBEDDING_MODEL). Assets analysed locally
-- keep the defaults: no title, no entities, labels or questions, no AI run, no embeddings.

ALTER TABLE assets
  ADD COLUMN title     text,
  ADD COLUMN entities  jsonb  NOT NULL DEFAULT '[]'::jsonb,
  ADD COLUMN labels    text[] NOT NULL DEFAULT '{}',
  ADD COLUMN questions jsonb  NOT NULL DEFAULT '[]'::jsonb;

-- One row per run that analysed the asset with a model: the asset's row holds the latest run's
-- outputs, these rows every run's usage (a retried or re-ingested version keeps its earlier costs).
CREATE TABLE asset_ai_runs (
  asset_id          bigint      NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
  workflow_id       text        NOT NULL,
  run_id            text        NOT NULL,
  provider          text        NOT NULL,
  model             text        NOT NULL,
  embedding_model   text,
  prompt_version    text        NOT NULL,
  prompt_tokens     integer     NOT NULL CHECK (prompt_tokens >= 0),
  completion_tokens integer     NOT NULL CHECK (completion_tokens >= 0),
  embedding_tokens  integer     NOT NULL CHECK (embedding_tokens >= 0),
  -- USD; NULL when a model of the run has no price in AI_PRICES.
  cost_usd          numeric(14, 6),
  -- Every call: kind, model, part, tokens, cost, duration, whether it was repaired.
  calls             jsonb       NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (asset_id, workflow_id, run_id)
);

ALTER TABLE asset_chunks
  ADD COLUMN embedding       real[],
  ADD COLUMN embedding_model text,
  ADD CONSTRAINT asset_chunks_embedding_check CHECK ((embedding IS NULL) = (embedding_model IS NULL));

-- Down Migration
ALTER TABLE asset_chunks DROP CONSTRAINT asset_chunks_embedding_check, DROP COLUMN embedding_model, DROP COLUMN embedding;
DROP TABLE asset_ai_runs;
ALTER TABLE assets DROP COLUMN questions, DROP COLUMN labels, DROP COLUMN entities, DROP COLUMN title;
