import type pg from 'pg';
import { inTransaction } from './pool.js';

/**
 * The write side of objectify. A load is one dataset version through one mapping; its objects are
 * written batch by batch while no reader can see them, then published by moving the object type's
 * head to the load in one transaction. Every write is idempotent, so a batch retried after a
 * worker died, or a whole run retried, never duplicates a row.
 */

export interface DatasetVersionInput {
  bucket: string;
  key: string;
  /** versionId when the bucket is versioned, else the ETag. */
  version: string;
  etag: string;
  sizeBytes: number;
  format: 'csv' | 'jsonl';
  gzip: boolean;
}

export interface ObjectRecord {
  /** The encoded primary key (see objectify/convert.ts). */
  key: string;
  properties: Record<string, unknown>;
}

export interface RejectRecord {
  rowNumber: number;
  column: string | null;
  reason: string;
  raw: string;
}

export interface LoadCounts {
  rowsRead: number;
  rowsRejected: number;
  objects: number;
}

export interface OpenedLoad {
  loadId: string;
  /** Already published by an earlier run: its counts stand, nothing needs doing. */
  published: LoadCounts | null;
}

export class PgObjectifyLoads {
  constructor(private readonly pool: pg.Pool) {}

  /** Registers the dataset (bucket/key) and this version of it; idempotent. */
  async registerDatasetVersion(input: DatasetVersionInput): Promise<{ datasetId: string; datasetVersionId: string }> {
    return inTransaction(this.pool, async (client) => {
      const dataset = await client.query<{ id: string }>(
        `INSERT INTO datasets (bucket, key) VALUES ($1, $2)
         ON CONFLICT ON CONSTRAINT datasets_object_key DO UPDATE SET bucket = EXCLUDED.bucket
         RETURNING id`,
        [input.bucket, input.key],
      );
      const datasetId = dataset.rows[0]!.id;
      const version = await client.query<{ id: string }>(
        `INSERT INTO dataset_versions (dataset_id, version, etag, size_bytes, format, gzip) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT ON CONSTRAINT dataset_versions_version_key DO UPDATE SET etag = dataset_versions.etag
         RETURNING id`,
        [datasetId, input.version, input.etag, input.sizeBytes, input.format, input.gzip],
      );
      return { datasetId, datasetVersionId: version.rows[0]!.id };
    });
  }

  /** The load of this dataset version and mapping: a new one, the unfinished one of an earlier run, or the published one. */
  async open(input: { datasetVersionId: string; mappingId: string; objectType: string; workflowId: string }): Promise<OpenedLoad> {
    const { rows } = await this.pool.query<{ id: string; published_at: Date | null; rows_read: string; rows_rejected: string; objects: string }>(
      `INSERT INTO objectify_loads (dataset_version_id, mapping_id, object_type, workflow_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT ON CONSTRAINT objectify_loads_version_mapping_key DO UPDATE SET workflow_id = EXCLUDED.workflow_id
       RETURNING id, published_at, rows_read, rows_rejected, objects`,
      [input.datasetVersionId, input.mappingId, input.objectType, input.workflowId],
    );
    const row = rows[0]!;
    return {
      loadId: row.id,
      published: row.published_at ? { rowsRead: Number(row.rows_read), rowsRejected: Number(row.rows_rejected), objects: Number(row.objects) } : null,
    };
  }

  /**
   * One batch in one transaction: objects upserted by key (a key seen again, in this batch or an
   * earlier one, keeps its last row, as a file read top to bottom would), rejects by row number.
   * Two array parameters per table, whatever the batch size: no per-row statements.
   */
  async writeBatch(loadId: string, objects: ObjectRecord[], rejects: RejectRecord[]): Promise<void> {
    const latest = new Map<string, Record<string, unknown>>();
    for (const object of objects) latest.set(object.key, object.properties);
    await inTransaction(this.pool, async (client) => {
      if (latest.size > 0) {
        await client.query(
          `INSERT INTO objects (load_id, key, properties)
           SELECT $1, k, p FROM unnest($2::text[], $3::jsonb[]) AS batch (k, p)
           ON CONFLICT ON CONSTRAINT objects_pkey DO UPDATE SET properties = EXCLUDED.properties`,
          [loadId, [...latest.keys()], [...latest.values()].map((p) => JSON.stringify(p))],
        );
      }
      if (rejects.length > 0) {
        await client.query(
          `INSERT INTO objectify_rejects (load_id, row_number, column_name, reason, raw)
           SELECT $1, n, c, r, w FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) AS batch (n, c, r, w)
           ON CONFLICT ON CONSTRAINT objectify_rejects_pkey DO NOTHING`,
          [loadId, rejects.map((r) => r.rowNumber), rejects.map((r) => r.column), rejects.map((r) => r.reason), rejects.map((r) => r.raw)],
        );
      }
    });
  }

  /**
   * Makes the load the object type's visible version in one transaction: readers see the previous
   * load's objects or this one's, never a mix. Idempotent: publishing a published load changes nothing.
   */
  async publish(loadId: string, counts: { rowsRead: number }): Promise<LoadCounts> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ object_type: string; published_at: Date | null }>(
        'SELECT object_type, published_at FROM objectify_loads WHERE id = $1 FOR UPDATE',
        [loadId],
      );
      const load = rows[0];
      if (!load) throw new Error(`objectify load ${loadId} does not exist`);
      const tally = await client.query<{ objects: string; rejects: string }>(
        `SELECT (SELECT count(*) FROM objects WHERE load_id = $1) AS objects,
                (SELECT count(*) FROM objectify_rejects WHERE load_id = $1) AS rejects`,
        [loadId],
      );
      const result = { rowsRead: counts.rowsRead, rowsRejected: Number(tally.rows[0]!.rejects), objects: Number(tally.rows[0]!.objects) };
      if (load.published_at) return result;
      await client.query(
        'UPDATE objectify_loads SET rows_read = $2, rows_rejected = $3, objects = $4, published_at = now() WHERE id = $1',
        [loadId, result.rowsRead, result.rowsRejected, result.objects],
      );
      await client.query(
        `INSERT INTO object_type_heads (object_type, load_id) VALUES ($1, $2)
         ON CONFLICT (object_type) DO UPDATE SET load_id = EXCLUDED.load_id, published_at = now()`,
        [load.object_type, loadId],
      );
      return result;
    });
  }

  /**
   * Removes what an unfinished load wrote (a cancelled or failed run); a published load is kept.
   * Only the run that opened the load last may discard it: two runs of one dataset version and
   * mapping (possible only under different Idempotency-Keys) share the load, and the one that
   * gives up must not pull the rows from under the one that goes on.
   */
  async discard(loadId: string, workflowId: string): Promise<{ discarded: boolean }> {
    const { rowCount } = await this.pool.query('DELETE FROM objectify_loads WHERE id = $1 AND published_at IS NULL AND workflow_id = $2', [loadId, workflowId]);
    return { discarded: (rowCount ?? 0) > 0 };
  }
}
