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
