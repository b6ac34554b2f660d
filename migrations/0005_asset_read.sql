-- Up Migration
-- The read side of assets: where each asset's extracted text is kept, how it was produced
-- (lineage), and the indexes behind the asset list's filters and keyset order.

ALTER TABLE assets
  -- The extracted text, in WORK_BUCKET under assets/ (kept, unlike a run's ingest/ products).
  ADD COLUMN text_key text,
  -- The run's steps with their times, the worker's build id, the extractor and the analysis
  -- that wrote this row (provider, model, prompt version); see src/db/asset-reader.ts.
  ADD COLUMN lineage  jsonb NOT NULL DEFAULT '{}'::jsonb;

-- The list's order (newest first) and its cursor: (created_at, id).
CREATE INDEX assets_created_idx ON assets (created_at DESC, id DESC);
-- prefix= within a bucket: a range scan over the key's bytes.
CREATE INDEX assets_bucket_key_idx ON assets (bucket, key text_pattern_ops);
CREATE INDEX assets_labels_idx ON assets USING gin (labels);

-- Down Migration
DROP INDEX assets_labels_idx;
DROP INDEX assets_bucket_key_idx;
DROP INDEX assets_created_idx;
ALTER TABLE assets DROP COLUMN lineage, DROP COLUMN text_key;
