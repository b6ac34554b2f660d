-- Up Migration
-- Results of the ingest pipeline. Job state lives in Temporal, never here.
CREATE TABLE assets (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bucket        text        NOT NULL,
  key           text        NOT NULL,
  -- S3 versionId when the bucket is versioned, else the object's ETag.
  version       text        NOT NULL,
  sha256        char(64)    NOT NULL,
  size_bytes    bigint      NOT NULL CHECK (size_bytes >= 0),
  content_type  text,
  format        text        NOT NULL,
  language      text        NOT NULL,
  summary       text        NOT NULL,
  keywords      text[]      NOT NULL DEFAULT '{}',
  text_chars    integer     NOT NULL CHECK (text_chars >= 0),
  metadata      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  workflow_id   text        NOT NULL,
  run_id        text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  -- The durable business key behind webhook deduplication: one row per object version.
  CONSTRAINT assets_object_version_key UNIQUE (bucket, key, version)
);

CREATE TABLE asset_chunks (
  asset_id    bigint  NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
  seq         integer NOT NULL CHECK (seq >= 0),
  char_start  integer NOT NULL CHECK (char_start >= 0),
  char_end    integer NOT NULL CHECK (char_end >= char_start),
  text        text    NOT NULL,
  PRIMARY KEY (asset_id, seq)
);

-- Down Migration
DROP TABLE asset_chunks;
DROP TABLE assets;
