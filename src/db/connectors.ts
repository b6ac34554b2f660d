import type pg from 'pg';
import type { ConnectorKind, ConnectorSchedule, HttpCsvConfig, S3PrefixConfig } from '../connectors/spec.js';
import { inTransaction } from './pool.js';

/** A connector as stored: what to poll, when, and (http-csv) through which mapping. */
export type ConnectorDefinition =
  | { name: string; kind: 'http-csv'; config: HttpCsvConfig; schedule: ConnectorSchedule; pauseOnFailure: boolean; mappingId: string }
  | { name: string; kind: 's3-prefix'; config: S3PrefixConfig; schedule: ConnectorSchedule; pauseOnFailure: boolean; mappingId: null };

export type ConnectorRecord = ConnectorDefinition & { id: string; createdAt: string; updatedAt: string };

/** http-csv: what the last imported file looked like, and the mapping it went through. */
export interface HttpCsvPosition {
  etag?: string;
  lastModified?: string;
  sha256?: string;
  mappingId?: string;
  /** Counts imported changes; names each change's snapshot, so a reverted file is a new dataset. */
  sequence: number;
}

export interface CursorRecord {
  /** http-csv: an HttpCsvPosition; s3-prefix: `{}` (its objects are in connector_objects). */
  position: Partial<HttpCsvPosition>;
  checkedAt: string;
  changedAt: string | null;
  syncWorkflowId: string | null;
}

export interface ListedObject {
  key: string;
  etag: string;
}

export class ConnectorNameTakenError extends Error {
  constructor(readonly connectorName: string) {
    super(`a connector named ${JSON.stringify(connectorName)} exists already`);
    this.name = 'ConnectorNameTakenError';
  }
}

interface ConnectorRow {
  id: string;
  name: string;
  kind: ConnectorKind;
  config: HttpCsvConfig & S3PrefixConfig;
  schedule: ConnectorSchedule;
  pause_on_failure: boolean;
  mapping_id: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, kind, config, schedule, pause_on_failure, mapping_id, created_at, updated_at';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNIQUE_VIOLATION = '23505';

/**
 * Connector definitions and cursors. Changes to a definition take a callback that runs inside the
 * transaction, before it commits: the API updates the connector's Temporal Schedule there, so a
 * failed schedule change leaves no row behind and a failed row change no schedule.
 */
export class PgConnectorRepository {
  constructor(private readonly pool: pg.Pool) {}

  async create(definition: ConnectorDefinition, beforeCommit: (record: ConnectorRecord) => Promise<void>): Promise<ConnectorRecord> {
    return inTransaction(this.pool, async (client) => {
      let rows: ConnectorRow[];
      try {
        ({ rows } = await client.query<ConnectorRow>(
          `INSERT INTO connectors (name, kind, config, schedule, pause_on_failure, mapping_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
          [definition.name, definition.kind, JSON.stringify(definition.config), JSON.stringify(definition.schedule), definition.pauseOnFailure, definition.mappingId],
        ));
      } catch (err) {
        throw nameTaken(err, definition.name) ?? err;
      }
      const record = toRecord(rows[0]!);
      await beforeCommit(record);
      return record;
    });
  }

  /** Undefined when there is no such connector. */
  async update(
    id: string,
    change: (current: ConnectorRecord) => Promise<ConnectorDefinition>,
    beforeCommit: (previous: ConnectorRecord, next: ConnectorRecord) => Promise<void>,
  ): Promise<ConnectorRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    return inTransaction(this.pool, async (client) => {
      const current = await client.query<ConnectorRow>(`SELECT ${COLUMNS} FROM connectors WHERE id = $1 FOR UPDATE`, [id]);
      if (!current.rows[0]) return undefined;
      const previous = toRecord(current.rows[0]);
      const next = await change(previous);
      let rows: ConnectorRow[];
      try {
        ({ rows } = await client.query<ConnectorRow>(
          `UPDATE connectors SET name = $2, config = $3, schedule = $4, pause_on_failure = $5, mapping_id = $6, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, next.name, JSON.stringify(next.config), JSON.stringify(next.schedule), next.pauseOnFailure, next.mappingId],
        ));
      } catch (err) {
        throw nameTaken(err, next.name) ?? err;
      }
      const record = toRecord(rows[0]!);
      await beforeCommit(previous, record);
      return record;
    });
  }

  /** Removes the connector with its cursor; false when there was none. */
  async delete(id: string, beforeCommit: (record: ConnectorRecord) => Promise<void>): Promise<boolean> {
    if (!UUID.test(id)) return false;
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<ConnectorRow>(`DELETE FROM connectors WHERE id = $1 RETURNING ${COLUMNS}`, [id]);
      if (!rows[0]) return false;
      await beforeCommit(toRecord(rows[0]));
      return true;
    });
  }

  async get(id: string): Promise<ConnectorRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const { rows } = await this.pool.query<ConnectorRow>(`SELECT ${COLUMNS} FROM connectors WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** By name. */
  async list(limit: number): Promise<ConnectorRecord[]> {
    const { rows } = await this.pool.query<ConnectorRow>(`SELECT ${COLUMNS} FROM connectors ORDER BY name LIMIT $1`, [limit]);
    return rows.map(toRecord);
  }

  async cursor(id: string): Promise<CursorRecord | undefined> {
    const { rows } = await this.pool.query<{ position: Partial<HttpCsvPosition>; checked_at: Date; changed_at: Date | null; sync_workflow_id: string | null }>(
      'SELECT position, checked_at, changed_at, sync_workflow_id FROM connector_cursors WHERE connector_id = $1',
      [id],
    );
    const row = rows[0];
    return row && { position: row.position, checkedAt: row.checked_at.toISOString(), changedAt: row.changed_at?.toISOString() ?? null, syncWorkflowId: row.sync_workflow_id };
  }

  /**
   * Records a finished check: the new position when given (only after what it describes was
   * imported), the check time always. Idempotent: a retried call writes the same values.
   */
  async recordCheck(id: string, update: { position?: HttpCsvPosition; changed: boolean; workflowId: string }): Promise<void> {
    await this.pool.query(
      `INSERT INTO connector_cursors AS c (connector_id, position, checked_at, changed_at, sync_workflow_id)
       VALUES ($1, COALESCE($2::jsonb, '{}'), now(), CASE WHEN $3 THEN now() END, CASE WHEN $3 THEN $4 END)
       ON CONFLICT (connector_id) DO UPDATE SET
         position = COALESCE($2::jsonb, c.position),
         checked_at = now(),
         changed_at = CASE WHEN $3 THEN now() ELSE c.changed_at END,
         sync_workflow_id = CASE WHEN $3 THEN $4 ELSE c.sync_workflow_id END`,
      [id, update.position ? JSON.stringify(update.position) : null, update.changed, update.workflowId],
    );
  }

  /**
   * s3-prefix: compares one page of a listing with the objects taken so far. `after` and `through`
   * bound the key range the page covers (S3 lists keys in byte order; `through` is absent on the
   * last page): taken keys in that range that are no longer listed were deleted from the source,
   * and are forgotten here. Returns the listed objects that are new or changed, and the deleted keys.
   */
  async diffPage(id: string, listed: ListedObject[], range: { after: string; through?: string }): Promise<{ changed: ListedObject[]; deleted: string[] }> {
    return inTransaction(this.pool, async (client) => {
      const keys = listed.map((o) => o.key);
      const known = await client.query<{ key: string; etag: string }>('SELECT key, etag FROM connector_objects WHERE connector_id = $1 AND key = ANY($2::text[])', [id, keys]);
      const etags = new Map(known.rows.map((r) => [r.key, r.etag]));
      const deleted = await client.query<{ key: string }>(
        `DELETE FROM connector_objects
          WHERE connector_id = $1 AND key > $2 AND ($3::text IS NULL OR key <= $3) AND NOT (key = ANY($4::text[]))
          RETURNING key`,
        [id, range.after, range.through ?? null, keys],
      );
      return { changed: listed.filter((o) => etags.get(o.key) !== o.etag), deleted: deleted.rows.map((r) => r.key).sort() };
    });
  }

  /** s3-prefix: objects whose ingest run succeeded; the next sync skips them until they change. */
  async takeObjects(id: string, objects: Array<ListedObject & { workflowId: string }>): Promise<void> {
    if (objects.length === 0) return;
    await this.pool.query(
      `INSERT INTO connector_objects (connector_id, key, etag, workflow_id)
       SELECT $1, key, etag, workflow_id FROM unnest($2::text[], $3::text[], $4::text[]) AS t (key, etag, workflow_id)
       ON CONFLICT (connector_id, key) DO UPDATE SET etag = EXCLUDED.etag, workflow_id = EXCLUDED.workflow_id, taken_at = now()`,
      [id, objects.map((o) => o.key), objects.map((o) => o.etag), objects.map((o) => o.workflowId)],
    );
  }

  /** s3-prefix: how many objects were taken, for the status. */
  async objectCount(id: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM connector_objects WHERE connector_id = $1', [id]);
    return Number(rows[0]!.n);
  }
}

function nameTaken(err: unknown, name: string): ConnectorNameTakenError | undefined {
  const e = err as { code?: string; constraint?: string };
  return e.code === UNIQUE_VIOLATION && e.constraint === 'connectors_name_key' ? new ConnectorNameTakenError(name) : undefined;
}

function toRecord(row: ConnectorRow): ConnectorRecord {
  const base = { id: row.id, name: row.name, schedule: row.schedule, pauseOnFailure: row.pause_on_failure, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
  return row.kind === 'http-csv'
    ? { ...base, kind: 'http-csv', config: { url: row.config.url }, mappingId: row.mapping_id! }
    : { ...base, kind: 's3-prefix', config: { bucket: row.config.bucket, prefix: row.config.prefix, ...(row.config.suffix ? { suffix: row.config.suffix } : {}) }, mappingId: null };
}
