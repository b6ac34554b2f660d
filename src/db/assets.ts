import type pg from 'pg';
import type { ModelCall, ModelUsage } from '../contracts/ai.js';
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
  /** What a model wrote (absent: analysed locally). */
  title?: string | undefined;
  entities?: { name: string; kind: string }[] | undefined;
  labels?: string[] | undefined;
  questions?: { question: string; answer: string }[] | undefined;
  /** The model calls of this run (absent: analysed locally). */
  aiRun?: AiRunRecord | undefined;
  /** The extracted text in the work bucket (absent in rows written before it was kept). */
  textKey?: string | undefined;
  lineage?: AssetLineage | undefined;
}

/** How an asset was made (assets.lineage). */
export interface AssetLineage {
  /** The worker's build id (by default the SDK version and a hash of the workflow bundle). */
  workerBuildId: string | null;
  worker: { identity: string; harvester: string };
  /** Each stage of the run, with its workflow times. */
  steps: { stage: string; startedAt: string; endedAt: string }[];
  /** `pdfjs-dist@5.6.205`, or `harvester` for formats Harvester reads itself. */
  extractor: string;
  analysis: { provider: string; model: string | null; embeddingModel: string | null; promptVersion: string | null };
}

export interface AiRunRecord {
  provider: string;
  model: string;
  embeddingModel: string | undefined;
  promptVersion: string;
  usage: ModelUsage;
  calls: ModelCall[];
}

export interface ChunkRecord {
  seq: number;
  start: number;
  end: number;
  text: string;
  embedding?: number[] | undefined;
  embeddingModel?: string | undefined;
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
  title: string | null;
  entities: { name: string; kind: string }[];
  labels: string[];
  questions: { question: string; answer: string }[];
  created_at: Date;
  updated_at: Date;
}

export interface AiRunRow {
  workflow_id: string;
  run_id: string;
  provider: string;
  model: string;
  embedding_model: string | null;
  prompt_version: string;
  prompt_tokens: number;
  completion_tokens: number;
  embedding_tokens: number;
  cost_usd: string | null;
  calls: ModelCall[];
}

// Rows per multi-row INSERT: 7 parameters a row keeps this far below Postgres' 65,535 limit.
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
                             summary, keywords, text_chars, metadata, workflow_id, run_id,
                             title, entities, labels, questions, text_key, lineage)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
         ON CONFLICT (bucket, key, version) DO UPDATE SET
           sha256 = EXCLUDED.sha256, size_bytes = EXCLUDED.size_bytes, content_type = EXCLUDED.content_type,
           format = EXCLUDED.format, language = EXCLUDED.language, summary = EXCLUDED.summary,
           keywords = EXCLUDED.keywords, text_chars = EXCLUDED.text_chars, metadata = EXCLUDED.metadata,
           workflow_id = EXCLUDED.workflow_id, run_id = EXCLUDED.run_id, title = EXCLUDED.title,
           entities = EXCLUDED.entities, labels = EXCLUDED.labels, questions = EXCLUDED.questions,
           text_key = EXCLUDED.text_key, lineage = EXCLUDED.lineage, updated_at = now()
         RETURNING id::text AS id, (xmax = 0) AS created`,
        [
          asset.bucket, asset.key, asset.version, asset.sha256, asset.sizeBytes, asset.contentType ?? null,
          asset.format, asset.language, asset.summary, asset.keywords, asset.textChars,
          JSON.stringify(asset.metadata), asset.workflowId, asset.runId, asset.title ?? null,
          JSON.stringify(asset.entities ?? []), asset.labels ?? [], JSON.stringify(asset.questions ?? []),
          asset.textKey ?? null, JSON.stringify(asset.lineage ?? {}),
        ],
      );
      const row = rows[0];
      if (!row) throw new Error('asset upsert returned no row');
      await client.query('DELETE FROM asset_chunks WHERE asset_id = $1', [row.id]);
      for (let i = 0; i < chunks.length; i += CHUNK_BATCH) {
        const batch = chunks.slice(i, i + CHUNK_BATCH);
        const params: unknown[] = [];
        const values = batch.map((chunk, j) => {
          params.push(row.id, chunk.seq, chunk.start, chunk.end, chunk.text, chunk.embedding ?? null, chunk.embeddingModel ?? null);
          const p = j * 7;
          return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}::real[], $${p + 7})`;
        });
        await client.query(
          `INSERT INTO asset_chunks (asset_id, seq, char_start, char_end, text, embedding, embedding_model) VALUES ${values.join(', ')}`,
          params,
        );
      }
      if (asset.aiRun) await writeAiRun(client, row.id, asset.workflowId, asset.runId, asset.aiRun);
      return row;
    });
  }

  async findByObject(bucket: string, key: string, version: string): Promise<AssetRow | undefined> {
    const { rows } = await this.pool.query<AssetRow>(
      `SELECT id::text AS id, bucket, key, version, sha256, size_bytes::text AS size_bytes, content_type, format,
              language, summary, keywords, text_chars, metadata, workflow_id, run_id, title, entities, labels,
              questions, created_at, updated_at
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

  /** The AI runs that analysed an asset, oldest first. */
  async aiRuns(assetId: string): Promise<AiRunRow[]> {
    const { rows } = await this.pool.query<AiRunRow>(
      `SELECT workflow_id, run_id, provider, model, embedding_model, prompt_version, prompt_tokens, completion_tokens,
              embedding_tokens, cost_usd::text AS cost_usd, calls
         FROM asset_ai_runs WHERE asset_id = $1 ORDER BY created_at, run_id`,
      [assetId],
    );
    return rows;
  }

  /** Each chunk's embedding model and dimension (null: none), in order. */
  async chunkEmbeddings(assetId: string): Promise<{ seq: number; model: string | null; dimensions: number | null; embedding: number[] | null }[]> {
    const { rows } = await this.pool.query<{ seq: number; model: string | null; dimensions: number | null; embedding: number[] | null }>(
      `SELECT seq, embedding_model AS model, array_length(embedding, 1) AS dimensions, embedding
         FROM asset_chunks WHERE asset_id = $1 ORDER BY seq`,
      [assetId],
    );
    return rows;
  }
}

/** The run's row of asset_ai_runs; a repeated persist of the same run rewrites it. */
async function writeAiRun(client: pg.PoolClient, assetId: string, workflowId: string, runId: string, run: AiRunRecord): Promise<void> {
  await client.query(
    `INSERT INTO asset_ai_runs (asset_id, workflow_id, run_id, provider, model, embedding_model, prompt_version,
                                prompt_tokens, completion_tokens, embedding_tokens, cost_usd, calls)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (asset_id, workflow_id, run_id) DO UPDATE SET
       provider = EXCLUDED.provider, model = EXCLUDED.model, embedding_model = EXCLUDED.embedding_model,
       prompt_version = EXCLUDED.prompt_version, prompt_tokens = EXCLUDED.prompt_tokens,
       completion_tokens = EXCLUDED.completion_tokens, embedding_tokens = EXCLUDED.embedding_tokens,
       cost_usd = EXCLUDED.cost_usd, calls = EXCLUDED.calls`,
    [
      assetId, workflowId, runId, run.provider, run.model, run.embeddingModel ?? null, run.promptVersion,
      run.usage.promptTokens, run.usage.completionTokens, run.usage.embeddingTokens, run.usage.costUsd, JSON.stringify(run.calls),
    ],
  );
}
