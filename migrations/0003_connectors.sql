-- Up Migration
-- Connectors: external sources polled on a Temporal Schedule (one per connector), and the cursors
-- that say what was already taken from them. Sync runs and their outcomes live in Temporal.

CREATE TABLE connectors (
  -- A UUID, so schedule ids (connector-sync:<id>) stay unique across databases sharing a namespace.
  id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text        NOT NULL,
  kind        text        NOT NULL CHECK (kind IN ('http-csv', 's3-prefix')),
  config      jsonb       NOT NULL,
  schedule    jsonb       NOT NULL,
  -- Tabular kinds objectify through a registered mapping spec; s3-prefix ingests files.
  mapping_id  bigint      REFERENCES mappings (id),
  -- The schedule's policy: pause after a failed sync until someone resumes it.
  pause_on_failure boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT connectors_name_key UNIQUE (name),
  CONSTRAINT connectors_mapping_check CHECK ((kind = 'http-csv') = (mapping_id IS NOT NULL))
);

-- Where a connector's source stood at its last sync. http-csv: the validators and content hash of
-- the last imported file, the mapping it went through, and a counter naming its snapshots.
-- s3-prefix: only the check times; the objects taken are in connector_objects.
CREATE TABLE connector_cursors (
  connector_id      uuid        PRIMARY KEY REFERENCES connectors (id) ON DELETE CASCADE,
  position          jsonb       NOT NULL DEFAULT '{}',
  checked_at        timestamptz NOT NULL,
  changed_at        timestamptz,
  -- The sync run that last moved the cursor.
  sync_workflow_id  text
);

-- s3-prefix: each object taken from the source, by key (byte order, as S3 lists keys) and ETag.
-- A row is written only after the object's ingest run succeeded.
CREATE TABLE connector_objects (
  connector_id  uuid        NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
  key           text        COLLATE "C" NOT NULL,
  etag          text        NOT NULL,
  workflow_id   text        NOT NULL,
  taken_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT connector_objects_pkey PRIMARY KEY (connector_id, key)
);

-- Down Migration
DROP TABLE connector_objects;
DROP TABLE connector_cursors;
DROP TABLE connectors;
