import type pg from 'pg';

export interface DatasetLoadView {
  loadId: string;
  mappingId: string;
  objectType: string;
  workflowId: string;
  rowsRead: number;
  rowsRejected: number;
  objects: number;
  publishedAt: string | null;
  /** Whether this load is what readers of its object type see now. */
  current: boolean;
  /** The first rejected rows, by row number (at most `rejectLimit`). */
  rejects: Array<{ rowNumber: number; column: string | null; reason: string; raw: string }>;
}

export interface DatasetView {
  id: string;
  bucket: string;
  key: string;
  versions: Array<{
    id: string;
    version: string;
    etag: string;
    sizeBytes: number;
    format: string;
    gzip: boolean;
    registeredAt: string;
    loads: DatasetLoadView[];
  }>;
}

/** A dataset with its versions, their loads' counts and their first rejects; newest version first. */
export async function readDataset(pool: pg.Pool, id: string, rejectLimit: number): Promise<DatasetView | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const dataset = await pool.query<{ id: string; bucket: string; key: string }>('SELECT id, bucket, key FROM datasets WHERE id = $1', [id]);
  const row = dataset.rows[0];
  if (!row) return undefined;
  const versions = await pool.query<{ id: string; version: string; etag: string; size_bytes: string; format: string; gzip: boolean; registered_at: Date }>(
    'SELECT id, version, etag, size_bytes, format, gzip, registered_at FROM dataset_versions WHERE dataset_id = $1 ORDER BY id DESC',
    [id],
  );
  const loads = await pool.query<{
    id: string;
    dataset_version_id: string;
    mapping_id: string;
    object_type: string;
    workflow_id: string;
    rows_read: string;
    rows_rejected: string;
    objects: string;
    published_at: Date | null;
    current: boolean;
    rejects: DatasetLoadView['rejects'] | null;
  }>(
    `SELECT l.id, l.dataset_version_id, l.mapping_id, l.object_type, l.workflow_id, l.rows_read, l.rows_rejected, l.objects, l.published_at,
            EXISTS (SELECT 1 FROM object_type_heads h WHERE h.load_id = l.id) AS current,
            (SELECT json_agg(json_build_object('rowNumber', r.row_number, 'column', r.column_name, 'reason', r.reason, 'raw', r.raw) ORDER BY r.row_number)
               FROM (SELECT * FROM objectify_rejects WHERE load_id = l.id ORDER BY row_number LIMIT $2) r) AS rejects
       FROM objectify_loads l JOIN dataset_versions v ON v.id = l.dataset_version_id
      WHERE v.dataset_id = $1
      ORDER BY l.id DESC`,
    [id, rejectLimit],
  );
  return {
    id: row.id,
    bucket: row.bucket,
    key: row.key,
    versions: versions.rows.map((v) => ({
      id: v.id,
      version: v.version,
      etag: v.etag,
      sizeBytes: Number(v.size_bytes),
      format: v.format,
      gzip: v.gzip,
      registeredAt: v.registered_at.toISOString(),
      loads: loads.rows
        .filter((l) => l.dataset_version_id === v.id)
        .map((l) => ({
          loadId: l.id,
          mappingId: l.mapping_id,
          objectType: l.object_type,
          workflowId: l.workflow_id,
          rowsRead: Number(l.rows_read),
          rowsRejected: Number(l.rows_rejected),
          objects: Number(l.objects),
          publishedAt: l.published_at?.toISOString() ?? null,
          current: l.current,
          rejects: (l.rejects ?? []).map((r) => ({ ...r, rowNumber: Number(r.rowNumber) })),
        })),
    })),
  };
}
