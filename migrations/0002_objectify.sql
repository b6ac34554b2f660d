-- Up Migration
-- The objectify pipeline's results: mapping specs, registered dataset versions, one load per
-- (dataset version, mapping) with its counts, the typed objects of each load, the rejected rows,
-- and which load of each object type is published. Job state lives in Temporal, never here.

-- A mapping spec, versioned per object type. Posting the same spec again finds its version.
CREATE TABLE mappings (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  object_type  text        NOT NULL,
  version      integer     NOT NULL CHECK (version > 0),
  spec         jsonb       NOT NULL,
  spec_sha256  char(64)    NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT mappings_type_version_key UNIQUE (object_type, version),
  CONSTRAINT mappings_type_spec_key UNIQUE (object_type, spec_sha256)
);

-- A dataset is one S3 object name; its versions are the object's versions (versionId or ETag).
CREATE TABLE datasets (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bucket      text        NOT NULL,
  key         text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT datasets_object_key UNIQUE (bucket, key)
);

CREATE TABLE dataset_versions (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  dataset_id     bigint      NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
  version        text        NOT NULL,
  etag           text        NOT NULL,
  size_bytes     bigint      NOT NULL CHECK (size_bytes >= 0),
  format         text        NOT NULL CHECK (format IN ('csv', 'jsonl')),
  gzip           boolean     NOT NULL,
  registered_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT dataset_versions_version_key UNIQUE (dataset_id, version)
);

-- One load of a dataset version through a mapping: the unit that is published atomically.
CREATE TABLE objectify_loads (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  dataset_version_id  bigint      NOT NULL REFERENCES dataset_versions (id) ON DELETE CASCADE,
  mapping_id          bigint      NOT NULL REFERENCES mappings (id),
  object_type         text        NOT NULL,
  workflow_id         text        NOT NULL,
  rows_read           bigint      NOT NULL DEFAULT 0 CHECK (rows_read >= 0),
  rows_rejected       bigint      NOT NULL DEFAULT 0 CHECK (rows_rejected >= 0),
  objects             bigint      NOT NULL DEFAULT 0 CHECK (objects >= 0),
  created_at          timestamptz NOT NULL DEFAULT now(),
  published_at        timestamptz,
  CONSTRAINT objectify_loads_version_mapping_key UNIQUE (dataset_version_id, mapping_id)
);

-- Objects of a load, keyed by their encoded primary key. They become visible to readers only
-- through object_type_heads, so a load in progress is invisible.
CREATE TABLE objects (
  load_id     bigint NOT NULL REFERENCES objectify_loads (id) ON DELETE CASCADE,
  key         text   NOT NULL,
  properties  jsonb  NOT NULL,
  CONSTRAINT objects_pkey PRIMARY KEY (load_id, key)
);

CREATE TABLE objectify_rejects (
  load_id     bigint  NOT NULL REFERENCES objectify_loads (id) ON DELETE CASCADE,
  row_number  bigint  NOT NULL CHECK (row_number > 0),
  column_name text,
  reason      text    NOT NULL,
  raw         text    NOT NULL,
  CONSTRAINT objectify_rejects_pkey PRIMARY KEY (load_id, row_number)
);

-- The published load of each object type: publishing is one UPDATE of this row.
CREATE TABLE object_type_heads (
  object_type   text        PRIMARY KEY,
  load_id       bigint      NOT NULL REFERENCES objectify_loads (id),
  published_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE object_type_heads;
DROP TABLE objectify_rejects;
DROP TABLE objects;
DROP TABLE objectify_loads;
DROP TABLE dataset_versions;
DROP TABLE datasets;
DROP TABLE mappings;
