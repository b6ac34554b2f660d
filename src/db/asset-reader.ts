import type pg from 'pg';
import type { ModelCall } from '../contracts/ai.js';
import type { AssetLineage, AssetRow } from './assets.js';

/**
 * The read side of ingest: assets with their filters and keyset pages, one asset with everything
 * known about it, its chunks. Every value is a bound parameter; the cursors are opaque.
 */

export interface AssetFilter {
  bucket?: string | undefined;
  /** Keys that start with this (within `bucket`, or in any bucket). */
  prefix?: string | undefined;
  format?: string | undefined;
  language?: string | undefined;
  label?: string | undefined;
  createdAfter?: Date | undefined;
  createdBefore?: Date | undefined;
}

export interface AssetSummary {
  id: string;
  bucket: string;
  key: string;
  version: string;
  sha256: string;
  sizeBytes: number;
  contentType: string | null;
  format: string;
  language: string;
  title: string | null;
  summary: string;
  keywords: string[];
  labels: string[];
  textChars: number;
  createdAt: string;
  updatedAt: string;
}

export interface AiRunView {
  workflowId: string;
  runId: string;
  provider: string;
  model: string;
  embeddingModel: string | null;
  promptVersion: string;
  promptTokens: number;
  completionTokens: number;
  embeddingTokens: number;
  costUsd: number | null;
  calls: ModelCall[];
  createdAt: string;
}

export interface AssetView extends AssetSummary {
  entities: { name: string; kind: string }[];
  questions: { question: string; answer: string }[];
  metadata: Record<string, unknown>;
  chunkCount: number;
  embeddings: { model: string; dimensions: number; chunks: number } | null;
  workflowId: string;
  runId: string;
  /** Empty for assets written before lineage was kept. */
  lineage: Partial<AssetLineage>;
  /** The model runs that analysed this asset, newest first (none when analysed locally). */
  aiRuns: AiRunView[];
  /** Where the text is kept in the work bucket; null for assets written before it was. */
  textKey: string | null;
}

export interface ChunkView {
  seq: number;
  start: number;
  end: number;
  text: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The columns of SUMMARY_COLUMNS, as the asset repository's row type names them. */
type SummaryRow = Pick<
  AssetRow,
  'id' | 'bucket' | 'key' | 'version' | 'sha256' | 'size_bytes' | 'content_type' | 'format' | 'language' | 'title' | 'summary' | 'keywords' | 'labels' | 'text_chars' | 'created_at' | 'updated_at'
>;

const SUMMARY_COLUMNS = `id::text AS id, bucket, key, version, sha256, size_bytes::text AS size_bytes, content_type, format, language,
  title, summary, keywords, labels, text_chars, created_at, updated_at`;

/** The list's cursor: the last row's (created_at to the microsecond, as stored; id). */
interface ListCursor {
  t: string;
  id: string;
}

export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not the nextCursor of a previous page');
    this.name = 'InvalidCursorError';
  }
}

export class PgAssetReader {
  constructor(private readonly pool: pg.Pool) {}

  /** Newest first, by (created_at, id): a keyset page, stable while assets are added. */
  async list(filter: AssetFilter, page: { limit: number; cursor?: string | undefined }): Promise<Page<AssetSummary>> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const where: string[] = [];
    const params: unknown[] = [];
    const bind = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.bucket !== undefined) where.push(`bucket = ${bind(filter.bucket)}`);
    // LIKE on the escaped prefix, which the (bucket, key text_pattern_ops) index answers as a range.
    if (filter.prefix !== undefined && filter.prefix !== '') where.push(`key LIKE ${bind(`${filter.prefix.replace(/[\\%_]/g, '\\$&')}%`)}`);
    if (filter.format !== undefined) where.push(`format = ${bind(filter.format)}`);
    if (filter.language !== undefined) where.push(`language = ${bind(filter.language)}`);
    if (filter.label !== undefined) where.push(`labels @> ARRAY[${bind(filter.label)}]::text[]`);
    if (filter.createdAfter !== undefined) where.push(`created_at > ${bind(filter.createdAfter)}`);
    if (filter.createdBefore !== undefined) where.push(`created_at < ${bind(filter.createdBefore)}`);
    if (after) where.push(`(created_at, id) < (${bind(after.t)}::timestamptz, ${bind(after.id)}::bigint)`);
    const { rows } = await this.pool.query<SummaryRow & { cursor_time: string }>(
      `SELECT ${SUMMARY_COLUMNS}, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_time
         FROM assets ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC LIMIT ${bind(page.limit + 1)}`,
      params,
    );
    const more = rows.length > page.limit;
    const shown = rows.slice(0, page.limit);
    const last = shown.at(-1);
    return { items: shown.map(summaryOf), nextCursor: more && last ? encodeCursor({ t: last.cursor_time, id: last.id }) : null };
  }

  async get(id: string): Promise<AssetView | undefined> {
    return this.view('id = $1', [id]);
  }

  async byObject(bucket: string, key: string, version: string): Promise<AssetView | undefined> {
    return this.view('bucket = $1 AND key = $2 AND version = $3', [bucket, key, version]);
  }

  /** Chunks in order, after `afterSeq`. */
  async chunks(id: string, page: { limit: number; afterSeq?: number | undefined }): Promise<Page<ChunkView>> {
    const { rows } = await this.pool.query<{ seq: number; char_start: number; char_end: number; text: string }>(
      `SELECT seq, char_start, char_end, text FROM asset_chunks
        WHERE asset_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [id, page.afterSeq ?? -1, page.limit + 1],
    );
    const more = rows.length > page.limit;
    const items = rows.slice(0, page.limit).map((r) => ({ seq: r.seq, start: r.char_start, end: r.char_end, text: r.text }));
    const last = items.at(-1);
    return { items, nextCursor: more && last ? Buffer.from(String(last.seq)).toString('base64url') : null };
  }

  private async view(where: string, params: unknown[]): Promise<AssetView | undefined> {
    const { rows } = await this.pool.query<SummaryRow & {
      entities: AssetView['entities'];
      questions: AssetView['questions'];
      metadata: Record<string, unknown>;
      workflow_id: string;
      run_id: string;
      lineage: Partial<AssetLineage>;
      text_key: string | null;
    }>(
      `SELECT ${SUMMARY_COLUMNS}, entities, questions, metadata, workflow_id, run_id, lineage, text_key FROM assets WHERE ${where}`,
      params,
    );
    const row = rows[0];
    if (!row) return undefined;
    const [counts, runs] = await Promise.all([
      this.pool.query<{ chunks: number; embedded: number; model: string | null; dimensions: number | null }>(
        `SELECT count(*)::int AS chunks, count(embedding)::int AS embedded, min(embedding_model) AS model,
                min(array_length(embedding, 1)) AS dimensions
           FROM asset_chunks WHERE asset_id = $1`,
        [row.id],
      ),
      this.pool.query<{
        workflow_id: string; run_id: string; provider: string; model: string; embedding_model: string | null; prompt_version: string;
        prompt_tokens: number; completion_tokens: number; embedding_tokens: number; cost_usd: string | null; calls: ModelCall[]; created_at: Date;
      }>(
        `SELECT workflow_id, run_id, provider, model, embedding_model, prompt_version, prompt_tokens, completion_tokens,
                embedding_tokens, cost_usd::text AS cost_usd, calls, created_at
           FROM asset_ai_runs WHERE asset_id = $1 ORDER BY created_at DESC, run_id`,
        [row.id],
      ),
    ]);
    const c = counts.rows[0]!;
    return {
      ...summaryOf(row),
      entities: row.entities,
      questions: row.questions,
      metadata: row.metadata,
      chunkCount: c.chunks,
      embeddings: c.embedded > 0 && c.model !== null && c.dimensions !== null ? { model: c.model, dimensions: c.dimensions, chunks: c.embedded } : null,
      workflowId: row.workflow_id,
      runId: row.run_id,
      lineage: row.lineage,
      aiRuns: runs.rows.map((r) => ({
        workflowId: r.workflow_id,
        runId: r.run_id,
        provider: r.provider,
        model: r.model,
        embeddingModel: r.embedding_model,
        promptVersion: r.prompt_version,
        promptTokens: r.prompt_tokens,
        completionTokens: r.completion_tokens,
        embeddingTokens: r.embedding_tokens,
        costUsd: r.cost_usd === null ? null : Number(r.cost_usd),
        calls: r.calls,
        createdAt: r.created_at.toISOString(),
      })),
      textKey: row.text_key,
    };
  }
}

/** The seq a chunks cursor stands for; InvalidCursorError when it is none. */
export function chunkCursorSeq(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{1,9}$/.test(text)) throw new InvalidCursorError();
  return Number(text);
}

function summaryOf(r: SummaryRow): AssetSummary {
  return {
    id: r.id,
    bucket: r.bucket,
    key: r.key,
    version: r.version,
    sha256: r.sha256,
    sizeBytes: Number(r.size_bytes),
    contentType: r.content_type,
    format: r.format,
    language: r.language,
    title: r.title,
    summary: r.summary,
    keywords: r.keywords,
    labels: r.labels,
    textChars: r.text_chars,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

function encodeCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string): ListCursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  const c = value as Partial<ListCursor> | null;
  if (typeof c?.t !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(c.t) || typeof c.id !== 'string' || !/^\d{1,18}$/.test(c.id)) {
    throw new InvalidCursorError();
  }
  return { t: c.t, id: c.id };
}
