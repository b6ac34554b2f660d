/**
 * /api/v1/assets: what ingest produced, read back: the list with its filters and keyset pages, one
 * asset with its AI outputs, usage and lineage, its chunks, and its extracted text (with Range).
 */
import { Readable } from 'node:stream';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { InvalidCursorError, chunkCursorSeq, type AssetView } from '../../db/asset-reader.js';
import { runUiUrl } from '../../temporal/runs.js';
import { HttpError } from '../errors.js';
import { errorResponse, json, OPERATOR_SECURITY, tags, unauthorizedResponse } from '../openapi.js';
import type { AppDependencies, AppEnv } from '../types.js';

export const MAX_ASSET_PAGE = 500;

const IdParam = z.string().regex(/^\d{1,18}$/, 'an asset id').openapi({ example: '42' });
const Cursor = z.string().regex(/^[A-Za-z0-9_-]{1,512}$/, 'cursor is the nextCursor of a previous page').optional();
const Name = (what: string) => z.string().min(1).max(1024).openapi({ description: what });

const AssetSummarySchema = z
  .object({
    id: z.string(),
    bucket: z.string(),
    key: z.string(),
    version: z.string().openapi({ description: 'the S3 versionId, or the ETag in an unversioned bucket' }),
    sha256: z.string(),
    sizeBytes: z.number().int(),
    contentType: z.string().nullable(),
    format: z.string(),
    language: z.string().openapi({ description: "ISO 639-3, 'und' when unknown" }),
    title: z.string().nullable().openapi({ description: 'from the model; null when analysed locally' }),
    summary: z.string(),
    keywords: z.array(z.string()),
    labels: z.array(z.string()).openapi({ description: 'from AI_LABELS, chosen by the model' }),
    textChars: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('AssetSummary');

const ModelCallSchema = z.object({
  kind: z.enum(['document', 'window', 'combine', 'embedding']),
  model: z.string(),
  part: z.number().int().optional(),
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  costUsd: z.number().nullable(),
  durationMs: z.number(),
  repaired: z.boolean().optional(),
  estimated: z.boolean().optional(),
});

const AssetSchema = AssetSummarySchema.extend({
  entities: z.array(z.object({ name: z.string(), kind: z.string() })),
  questions: z.array(z.object({ question: z.string(), answer: z.string() })),
  metadata: z.record(z.string(), z.unknown()).openapi({ description: "the extractor's metadata (pages, author, encoding…)" }),
  chunkCount: z.number().int(),
  embeddings: z.object({ model: z.string(), dimensions: z.number().int(), chunks: z.number().int() }).nullable(),
  usage: z
    .object({ promptTokens: z.number().int(), completionTokens: z.number().int(), embeddingTokens: z.number().int(), costUsd: z.number().nullable(), calls: z.array(ModelCallSchema) })
    .nullable()
    .openapi({ description: "the model calls of the run that wrote this row; null when analysed locally" }),
  lineage: z.object({
    run: z.object({ workflowId: z.string(), runId: z.string(), uiUrl: z.string() }),
    workerBuildId: z.string().nullable(),
    worker: z.object({ identity: z.string(), harvester: z.string() }).nullable(),
    extractor: z.string().nullable().openapi({ example: 'pdfjs-dist@5.6.205' }),
    analysis: z.object({ provider: z.string(), model: z.string().nullable(), embeddingModel: z.string().nullable(), promptVersion: z.string().nullable() }).nullable(),
    steps: z.array(z.object({ stage: z.string(), startedAt: z.string(), endedAt: z.string() })),
  }),
  links: z.object({ chunks: z.string(), text: z.string() }),
}).openapi('Asset');

const ChunkSchema = z.object({ seq: z.number().int(), start: z.number().int(), end: z.number().int(), text: z.string() }).openapi('Chunk');

const errors = {
  400: errorResponse('invalid request'),
  ...unauthorizedResponse,
  404: errorResponse('no such asset'),
} as const;

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: tags('assets'),
  summary: 'Assets, newest first, with filters and keyset pages',
  security: OPERATOR_SECURITY,
  request: {
    query: z.object({
      bucket: Name('only this bucket').optional(),
      prefix: Name('only keys that start with this').optional(),
      format: z.string().regex(/^[a-z]{1,20}$/).optional().openapi({ example: 'pdf' }),
      language: z.string().regex(/^[a-z]{3}$/, 'an ISO 639-3 code').optional().openapi({ example: 'eng' }),
      label: z.string().min(1).max(100).optional(),
      createdAfter: z.iso.datetime({ offset: true }).optional(),
      createdBefore: z.iso.datetime({ offset: true }).optional(),
      limit: z.coerce.number().int().min(1).max(MAX_ASSET_PAGE).default(100),
      cursor: Cursor,
    }),
  },
  responses: {
    200: json(z.object({ assets: z.array(AssetSummarySchema), nextCursor: z.string().nullable() }).openapi('AssetPage'), 'one page'),
    ...errors,
  },
});

const byObjectRoute = createRoute({
  method: 'get',
  path: '/by-object',
  tags: tags('assets'),
  summary: 'The asset of one object version',
  security: OPERATOR_SECURITY,
  request: { query: z.object({ bucket: Name('the bucket'), key: Name('the object key'), version: Name('the versionId, or the ETag in an unversioned bucket') }) },
  responses: { 200: json(AssetSchema, 'the asset'), ...errors },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: tags('assets'),
  summary: 'One asset: its object, AI outputs, usage and lineage',
  security: OPERATOR_SECURITY,
  request: { params: z.object({ id: IdParam }) },
  responses: { 200: json(AssetSchema, 'the asset'), ...errors },
});

const chunksRoute = createRoute({
  method: 'get',
  path: '/{id}/chunks',
  tags: tags('assets'),
  summary: "An asset's chunks in order, paged",
  security: OPERATOR_SECURITY,
  request: { params: z.object({ id: IdParam }), query: z.object({ limit: z.coerce.number().int().min(1).max(MAX_ASSET_PAGE).default(100), cursor: Cursor }) },
  responses: { 200: json(z.object({ assetId: z.string(), chunks: z.array(ChunkSchema), nextCursor: z.string().nullable() }).openapi('ChunkPage'), 'one page'), ...errors },
});

const textRoute = createRoute({
  method: 'get',
  path: '/{id}/text',
  tags: tags('assets'),
  summary: 'The extracted text (UTF-8), streamed; one byte range with Range: bytes=…',
  security: OPERATOR_SECURITY,
  request: { params: z.object({ id: IdParam }) },
  responses: {
    200: { description: 'the whole text, as text/plain; charset=utf-8' },
    206: { description: 'the range asked for (Content-Range), as text/plain; charset=utf-8' },
    ...errors,
    416: errorResponse('the range starts beyond the end of the text'),
  },
});

/** Where asset texts are read from: the work bucket, by key, whole or one byte range. */
export interface AssetTexts {
  size(key: string, signal?: AbortSignal): Promise<number>;
  read(key: string, range: { start: number; end: number } | undefined, signal?: AbortSignal): Promise<Readable>;
}

export function assetRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  const found = (asset: AssetView | undefined, what: string): AssetView => {
    if (!asset) throw new HttpError(404, 'asset_not_found', `no asset ${what}`);
    return asset;
  };
  const present = (asset: AssetView) => ({
    ...asset,
    usage: asset.aiRuns[0] && asset.aiRuns[0].runId === asset.runId
      ? { promptTokens: asset.aiRuns[0].promptTokens, completionTokens: asset.aiRuns[0].completionTokens, embeddingTokens: asset.aiRuns[0].embeddingTokens, costUsd: asset.aiRuns[0].costUsd, calls: asset.aiRuns[0].calls }
      : null,
    lineage: {
      run: { workflowId: asset.workflowId, runId: asset.runId, uiUrl: runUiUrl(deps.config, asset.workflowId, asset.runId) },
      workerBuildId: asset.lineage.workerBuildId ?? null,
      worker: asset.lineage.worker ?? null,
      extractor: asset.lineage.extractor ?? null,
      analysis: asset.lineage.analysis ?? null,
      steps: asset.lineage.steps ?? [],
    },
    links: { chunks: `/api/v1/assets/${asset.id}/chunks`, text: `/api/v1/assets/${asset.id}/text` },
  });

  app.openapi(listRoute, async (c) => {
    const { limit, cursor, createdAfter, createdBefore, ...filter } = c.req.valid('query');
    const page = await deps.assets
      .list({ ...filter, createdAfter: createdAfter === undefined ? undefined : new Date(createdAfter), createdBefore: createdBefore === undefined ? undefined : new Date(createdBefore) }, { limit, cursor })
      .catch(badCursor);
    return c.json({ assets: page.items, nextCursor: page.nextCursor }, 200);
  });

  app.openapi(byObjectRoute, async (c) => {
    const { bucket, key, version } = c.req.valid('query');
    const asset = found(await deps.assets.byObject(bucket, key, version), `for s3://${bucket}/${key} version ${version}`);
    return c.json(present(asset), 200);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    return c.json(present(found(await deps.assets.get(id), `with id ${id}`)), 200);
  });

  app.openapi(chunksRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { limit, cursor } = c.req.valid('query');
    const asset = found(await deps.assets.get(id), `with id ${id}`);
    let afterSeq: number | undefined;
    try {
      afterSeq = cursor === undefined ? undefined : chunkCursorSeq(cursor);
    } catch (err) {
      badCursor(err);
    }
    const page = await deps.assets.chunks(asset.id, { limit, afterSeq });
    return c.json({ assetId: asset.id, chunks: page.items, nextCursor: page.nextCursor }, 200);
  });

  app.openapi(textRoute, async (c) => {
    const { id } = c.req.valid('param');
    const asset = found(await deps.assets.get(id), `with id ${id}`);
    if (asset.textKey === null) throw new HttpError(404, 'text_not_kept', `asset ${id} was ingested before its text was kept: ingest s3://${asset.bucket}/${asset.key} again`);
    const signal = c.req.raw.signal;
    const size = await deps.assetTexts.size(asset.textKey, signal);
    const range = parseRange(c.req.header('range'), size);
    if (range === 'unsatisfiable') {
      c.header('content-range', `bytes */${size}`);
      throw new HttpError(416, 'range_not_satisfiable', `the text is ${size} bytes`);
    }
    const body = Readable.toWeb(await deps.assetTexts.read(asset.textKey, range, signal)) as ReadableStream<Uint8Array>;
    const headers = { 'content-type': 'text/plain; charset=utf-8', 'accept-ranges': 'bytes' };
    // A plain Response: the typed c.body() cannot name a stream as the text the document describes.
    if (!range) return new Response(body, { status: 200, headers: { ...headers, 'content-length': String(size) } });
    return new Response(body, {
      status: 206,
      headers: { ...headers, 'content-length': String(range.end - range.start + 1), 'content-range': `bytes ${range.start}-${range.end}/${size}` },
    });
  });

  return app;
}

function badCursor(err: unknown): never {
  if (err instanceof InvalidCursorError) throw new HttpError(400, 'invalid_cursor', err.message);
  throw err;
}

/**
 * One byte range of `bytes=a-b`, `bytes=a-` or `bytes=-n` (RFC 9110), clamped to the size;
 * undefined (the whole text) for no header, several ranges or one this server does not read;
 * 'unsatisfiable' when it starts beyond the end.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined | 'unsatisfiable' {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const [, first, last] = match;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return 'unsatisfiable';
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return end < start ? undefined : { start, end };
}
