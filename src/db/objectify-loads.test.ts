import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareSchema, testConfig } from '../../test/support/stack.js';
import { MappingSpecSchema } from '../objectify/spec.js';
import { PgMappingRepository } from './mappings.js';
import { PgObjectifyLoads } from './objectify-loads.js';
import { PgObjectReader } from './objects.js';
import { createPool } from './pool.js';

// The objectify tables on the real Postgres: idempotent writes, atomic publish, discard.

let pool: pg.Pool;
let drop: () => Promise<void>;
let loads: PgObjectifyLoads;
let reader: PgObjectReader;
let mappingId: string;

beforeAll(async () => {
  const config = testConfig();
  drop = await prepareSchema(config);
  pool = createPool(config, 4);
  loads = new PgObjectifyLoads(pool);
  reader = new PgObjectReader(pool);
  const { mapping } = await new PgMappingRepository(pool).register(
    MappingSpecSchema.parse({
      objectType: 'country',
      primaryKey: ['code'],
      strict: false,
      fields: [{ source: 'code', property: 'code', type: 'string', required: true, transform: [] }],
    }),
  );
  mappingId = mapping.id;
});

afterAll(async () => {
  await pool?.end();
  await drop?.();
});

const version = (v: string) => ({ bucket: 'data', key: 'countries.csv', version: v, etag: v, sizeBytes: 10, format: 'csv' as const, gzip: false });

async function load(v: string) {
  const { datasetVersionId } = await loads.registerDatasetVersion(version(v));
  return loads.open({ datasetVersionId, mappingId, objectType: 'country', workflowId: `objectify:${v}` });
}

describe('objectify loads', () => {
  it('registers a dataset version once', async () => {
    const a = await loads.registerDatasetVersion(version('e1'));
    const b = await loads.registerDatasetVersion(version('e1'));
    expect(b).toEqual(a);
    const c = await loads.registerDatasetVersion(version('e2'));
    expect(c.datasetId).toBe(a.datasetId);
    expect(c.datasetVersionId).not.toBe(a.datasetVersionId);
  });

  it('writes batches idempotently, keeps the last row of a key, and publishes atomically', async () => {
    const first = await load('v1');
    expect(first.published).toBeNull();
    const batch = [
      { key: 'DE', properties: { code: 'DE', name: 'Germany' } },
      { key: 'FR', properties: { code: 'FR', name: 'France' } },
      { key: 'DE', properties: { code: 'DE', name: 'Deutschland' } },
    ];
    const rejects = [{ rowNumber: 4, column: 'code', reason: 'primary key code is empty', raw: ',x' }];
    await loads.writeBatch(first.loadId, batch, rejects);
    await loads.writeBatch(first.loadId, batch, rejects); // a retried batch
    expect(await reader.resolveVersion('country')).toBeUndefined(); // nothing visible before publish

    expect(await loads.publish(first.loadId, { rowsRead: 4 })).toEqual({ rowsRead: 4, rowsRejected: 1, objects: 2 });
    expect(await loads.publish(first.loadId, { rowsRead: 4 })).toEqual({ rowsRead: 4, rowsRejected: 1, objects: 2 });
    const head = await reader.resolveVersion('country');
    expect(head).toBe(first.loadId);
    expect(await reader.get('country', head!, 'DE')).toMatchObject({ properties: { name: 'Deutschland' } });

    // Opening the same version and mapping again finds the published load and its counts.
    expect(await load('v1')).toEqual({ loadId: first.loadId, published: { rowsRead: 4, rowsRejected: 1, objects: 2 } });

    // A new version is invisible while written, then replaces the old one in one step.
    const second = await load('v2');
    await loads.writeBatch(second.loadId, [{ key: 'IT', properties: { code: 'IT' } }], []);
    expect(await reader.resolveVersion('country')).toBe(first.loadId);
    const page = await reader.list('country', first.loadId, { limit: 10 });
    expect(page.objects.map((o) => o.key)).toEqual(['DE', 'FR']);
    await loads.publish(second.loadId, { rowsRead: 1 });
    expect(await reader.resolveVersion('country')).toBe(second.loadId);
    expect((await reader.list('country', second.loadId, { limit: 10 })).objects.map((o) => o.key)).toEqual(['IT']);
    // The earlier version stays readable by its id.
    expect(await reader.resolveVersion('country', first.loadId)).toBe(first.loadId);
  });

  it('pages by key with an opaque cursor', async () => {
    const l = await load('v3');
    await loads.writeBatch(l.loadId, ['a', 'b:c', 'c%3A', 'd'].map((key) => ({ key, properties: { key } })), []);
    await loads.publish(l.loadId, { rowsRead: 4 });
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await reader.list('country', l.loadId, { limit: 3, cursor });
      keys.push(...page.objects.map((o) => o.key));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(keys).toEqual(['a', 'b:c', 'c%3A', 'd']);
  });

  it('discards an unfinished load and keeps a published one', async () => {
    const head = await reader.resolveVersion('country');
    const unfinished = await load('v4');
    await loads.writeBatch(unfinished.loadId, [{ key: 'XX', properties: {} }], [{ rowNumber: 1, column: null, reason: 'bad', raw: '' }]);
    expect(await loads.discard(unfinished.loadId, 'objectify:someone-else')).toEqual({ discarded: false });
    expect(await loads.discard(unfinished.loadId, 'objectify:v4')).toEqual({ discarded: true });
    const { rows } = await pool.query<{ n: number }>('SELECT (SELECT count(*) FROM objects WHERE load_id = $1)::int + (SELECT count(*) FROM objectify_rejects WHERE load_id = $1)::int AS n', [unfinished.loadId]);
    expect(rows[0]!.n).toBe(0);
    expect(await loads.discard(head!, 'objectify:v2')).toEqual({ discarded: false });
    expect(await reader.resolveVersion('country')).toBe(head);
  });
});
