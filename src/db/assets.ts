import type pg from 'pg';
import { inTransaction } from './pool.js';

export interface AssetRecord {
  bucket: string;
  key: string;
  version: string;
  sha256: string;
  sizeBytes: number;
  contentType: string | undefined;
  format: string;
  language: string;
  summary: string;
  keywords: string[];
  textChars: number;
  metadata: Record<string, unknown>;
  workflowId: string;
  runId: string;
}

export interface ChunkRecord {
  seq: number;
  start: number;
  end: number;
  text: string;
}

export interface AssetRow {
  id: string;
  bucket: string;
  key: string;
  version: string;
  sha256: string;
  size_bytes: string;
  content_type: string | null;
  format: string;
  language: string;
  summary: string;
  keywords: string[];
  text_chars: number;
  metadata: Record<string, unknown>;
  workflow_id: string;
  run_id: string;
  created_at: Date;
  updated_at: Date;
}

// Rows per multi-row INSERT: 5 parameters a row keeps this far below Postgres' 65,535 limit.
const CHUNK_BATCH = 1000;

export class PgAssetRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Writes the asset and replaces its chunks in one transaction, keyed by bucket/key/version:
   * running it again for the same object version leaves one row, never a mix of two runs.
   */
  async upsert(asset: AssetRecord, chunks: ChunkRecord[]): Promise<{ id: string; created: boolean }> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: string; created: boolean }>(
        `INSERT INTO assets (bucket, key, version, sha256, size_bytes, content_type, format, language,
                             summary, keywords, text_chars, metadata, workflow_id, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (bucket, key, version) DO UPDATE SET
           sha256 = EXCLUDED.sha256, size_bytes = EXCLUDED.size_bytes, content_type = EXCLUDED.content_type,
           format = EXCLUDED.format, language = EXCLUDED.language, summary = EXCLUDED.summary,
           keywords = EXCLUDED.keywords, text_chars = EXCLUDED.text_chars, metadata = EXCLUDED.metadata,
           workflow_id = EXCLUDED.workflow_id, run_id = EXCLUDED.run_id, updated_at = now()
         RETURNING id::text AS id, (xmax = 0) AS created`,
        [
          asset.bucket, asset.key, asset.version, asset.sha256, asset.sizeBytes, asset.contentType ?? null,
          asset.format, asset.language, asset.summary, asset.keywords, asset.textChars,
          JSON.stringify(asset.metadata), asset.workflowId, asset.runId,
        ],
      );
      const row = rows[0];
      if (!row) throw new Error('asset upsert returned no row');
      await client.query('DELETE FROM asset_chunks WHERE asset_id = $1', [row.id]);
      for (let i = 0; i < chunks.length; i += CHUNK_BATCH) {
        const batch = chunks.slice(i, i + CHUNK_BATCH);
        const params: unknown[] = [];
        const values = batch.map((chunk, j) => {
          params.push(row.id, chunk.seq, chunk.start, chunk.end, chunk.text);
          const p = j * 5;
          return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5})`;
        });
        await client.query(
          `INSERT INTO asset_chunks (asset_id, seq, char_start, char_end, text) VALUES ${values.join(', ')}`,
          params,
        );
      }
      return row;
    });
  }

  async findByObject(bucket: string, key: string, version: string): Promise<AssetRow | undefined> {
    const { rows } = await this.pool.query<AssetRow>(
      `SELECT id::text AS id, bucket, key, version, sha256, size_bytes::text AS size_bytes, content_type, format,
              language, summary, keywords, text_chars, metadata, workflow_id, run_id, created_at, updated_at
         FROM assets WHERE bucket = $1 AND key = $2 AND version = $3`,
      [bucket, key, version],
    );
    return rows[0];
  }

  async countChunks(assetId: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM asset_chunks WHERE asset_id = $1',
      [assetId],
    );
    return rows[0]?.n ?? 0;
  }
}
