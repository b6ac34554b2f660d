import { afterAll, beforeAll, expect, it } from 'vitest';
import type pg from 'pg';
import { prepareSchema, testConfig } from '../../test/support/stack.js';
import { PgAssetRepository, type AssetRecord } from './assets.js';
import { createPool } from './pool.js';

let pool: pg.Pool;
let drop: () => Promise<void>;

beforeAll(async () => {
  const config = testConfig();
  drop = await prepareSchema(config);
  pool = createPool(config, 2);
});

afterAll(async () => {
  await pool?.end();
  await drop?.();
});

const asset = (overrides: Partial<AssetRecord> = {}): AssetRecord => ({
  bucket: 'uploads',
  key: "it's a key; DROP TABLE assets; --",
  version: 'etag-1',
  sha256: 'a'.repeat(64),
  sizeBytes: 10,
  contentType: 'text/plain',
  format: 'text',
  language: 'eng',
  summary: 'A summary.',
  keywords: ['alpha', 'beta'],
  textChars: 10,
  metadata: { words: 2 },
  workflowId: 'ingest:uploads/x@etag-1',
  runId: 'run-1',
  ...overrides,
});

it('upserts by object version: a second write updates the row and replaces its chunks', async () => {
  const repo = new PgAssetRepository(pool);
  const first = await repo.upsert(asset(), [
    { seq: 0, start: 0, end: 5, text: 'Hello' },
    { seq: 1, start: 6, end: 10, text: 'there' },
  ]);
  expect(first.created).toBe(true);

  const second = await repo.upsert(asset({ runId: 'run-2', summary: 'Better.' }), [{ seq: 0, start: 0, end: 10, text: 'Hello there' }]);
  expect(second).toEqual({ id: first.id, created: false });

  const row = await repo.findByObject('uploads', asset().key, 'etag-1');
  expect(row).toMatchObject({ id: first.id, run_id: 'run-2', summary: 'Better.', keywords: ['alpha', 'beta'], metadata: { words: 2 } });
  expect(await repo.countChunks(first.id)).toBe(1);

  const other = await repo.upsert(asset({ version: 'etag-2' }), []);
  expect(other.created).toBe(true);
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM assets');
  expect(rows[0]?.n).toBe(2);
});

it('writes thousands of chunks in batches within one transaction', async () => {
  const repo = new PgAssetRepository(pool);
  const chunks = Array.from({ length: 2500 }, (_, i) => ({ seq: i, start: i * 10, end: i * 10 + 9, text: `chunk ${i}` }));
  const { id } = await repo.upsert(asset({ key: 'big.txt' }), chunks);
  expect(await repo.countChunks(id)).toBe(2500);
});

it('rolls back the asset when a chunk cannot be written', async () => {
  const repo = new PgAssetRepository(pool);
  const bad = [{ seq: 0, start: 5, end: 1, text: 'end before start violates a CHECK' }];
  await expect(repo.upsert(asset({ key: 'rollback.txt' }), bad)).rejects.toThrow(/check constraint/);
  expect(await repo.findByObject('uploads', 'rollback.txt', 'etag-1')).toBeUndefined();
});

it('keeps what a model wrote, one AI run row per run, and each chunk’s embedding with its model', async () => {
  const repo = new PgAssetRepository(pool);
  const call = { kind: 'document' as const, model: 'm', promptTokens: 100, completionTokens: 20, costUsd: 0.00008, durationMs: 12 };
  const aiRun = (runId: string) => ({
    title: 'A title',
    entities: [{ name: 'Lyon', kind: 'location' }],
    labels: ['letter'],
    questions: [{ question: 'Where?', answer: 'Lyon.' }],
    aiRun: {
      provider: 'openai-compatible', model: 'm', embeddingModel: 'e', promptVersion: 'analysis/v1', calls: [call],
      usage: { calls: 1, promptTokens: 100, completionTokens: 20, embeddingTokens: 7, totalTokens: 127, costUsd: 0.00008 },
    },
    runId,
  });
  const chunks = [{ seq: 0, start: 0, end: 5, text: 'Hello', embedding: [0.25, -0.5, 1], embeddingModel: 'e' }];
  const { id } = await repo.upsert(asset({ key: 'model.txt', ...aiRun('run-1') }), chunks);
  await repo.upsert(asset({ key: 'model.txt', ...aiRun('run-1') }), chunks);
  await repo.upsert(asset({ key: 'model.txt', ...aiRun('run-2') }), chunks);

  expect(await repo.findByObject('uploads', 'model.txt', 'etag-1')).toMatchObject({ title: 'A title', labels: ['letter'], entities: [{ name: 'Lyon', kind: 'location' }], questions: [{ question: 'Where?', answer: 'Lyon.' }] });
  const runs = await repo.aiRuns(id);
  expect(runs.map((r) => r.run_id)).toEqual(['run-1', 'run-2']);
  expect(runs[0]).toMatchObject({ prompt_version: 'analysis/v1', prompt_tokens: 100, completion_tokens: 20, embedding_tokens: 7, cost_usd: '0.000080', calls: [call] });
  expect(await repo.chunkEmbeddings(id)).toEqual([{ seq: 0, model: 'e', dimensions: 3, embedding: [0.25, -0.5, 1] }]);

  // An embedding without its model (or the reverse) is refused.
  await expect(repo.upsert(asset({ key: 'model.txt' }), [{ ...chunks[0]!, embeddingModel: undefined }])).rejects.toThrow(/asset_chunks_embedding_check/);
});
