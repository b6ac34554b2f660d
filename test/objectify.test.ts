import { gzipSync } from 'node:zlib';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgMappingRepository } from '../src/db/mappings.js';
import { PgObjectReader } from '../src/db/objects.js';
import type { MappingSpec } from '../src/objectify/spec.js';
import { startObjectify } from '../src/pipelines/objectify.js';
import { describeRun } from '../src/temporal/runs.js';
import type { ObjectifyInput, ObjectifyResult } from '../src/contracts/objectify.js';
import { deferred, heldUntil } from './support/api.js';
import { startHarness, type Harness } from './support/harness.js';
import { waitFor } from './support/stack.js';

// The objectify workflow on the real servers: S3 datasets, the real activities, Postgres.
// Loads of objects under `held/` wait before their second loadRows call until released.

let h: Harness;
let reader: PgObjectReader;
let mappings: PgMappingRepository;
const release = deferred();

beforeAll(async () => {
  h = await startHarness({
    activities: (real) => ({
      ...real,
      async loadRows(input: Parameters<typeof real.loadRows>[0]) {
        if (input.dataset.key.startsWith('held/') && input.cursor.rowNumber > 0) await heldUntil(release.promise, input.cursor);
        return real.loadRows(input);
      },
    }),
  });
  reader = new PgObjectReader(h.pool);
  mappings = new PgMappingRepository(h.pool);
});

afterAll(async () => {
  release.resolve();
  await h?.stop();
});

const COUNTRY: MappingSpec = {
  objectType: 'country',
  primaryKey: ['code'],
  strict: false,
  fields: [
    { source: 'alpha_2', property: 'code', type: 'string', required: true, transform: ['trim', 'uppercase'] },
    { source: 'name', property: 'name', type: 'string', required: true, transform: ['trim'] },
    { source: 'numeric', property: 'numericCode', type: 'integer', required: false, transform: [] },
  ],
};

async function mappingId(spec: MappingSpec): Promise<string> {
  return (await mappings.register(spec)).mapping.id;
}

async function run(key: string, body: string | Uint8Array, spec: MappingSpec, extra: Partial<ObjectifyInput> = {}) {
  const { etag } = await h.put(key, body);
  const input: Omit<ObjectifyInput, 'resume'> = { dataset: { bucket: h.bucket, key, etag }, mappingId: await mappingId(spec), maxRejectRatio: 0.05, batchRows: 2, ...extra };
  const started = await startObjectify(h.client, h.config, input);
  return { started, input, handle: h.client.workflow.getHandle<(i: ObjectifyInput) => Promise<ObjectifyResult>>(started.workflowId) };
}

async function published(type: string): Promise<Record<string, unknown>> {
  const version = await reader.resolveVersion(type);
  if (!version) return {};
  const page = await reader.list(type, version, { limit: 1000 });
  return Object.fromEntries(page.objects.map((o) => [o.key, o.properties]));
}

const CSV = 'alpha_2,name,numeric\n de ,Germany,276\nfr,France,250\nit,Italy,380\nDE,Deutschland,276\nes,Spain,724\n';

describe('objectify workflow', () => {
  it('loads a CSV in batches across continue-as-new, keeps the last row per key, and publishes', async () => {
    const { handle, started } = await run('countries.csv', CSV, COUNTRY, { limits: { batchesPerCall: 1, callsPerRun: 2 } });
    const result = await handle.result();
    expect(result).toMatchObject({ stage: 'completed', progress: 1, rowsRead: 5, rowsRejected: 0, objects: 4, objectType: 'country', alreadyPublished: false });
    expect(await published('country')).toEqual({
      DE: { code: 'DE', name: 'Deutschland', numericCode: 276 },
      FR: { code: 'FR', name: 'France', numericCode: 250 },
      IT: { code: 'IT', name: 'Italy', numericCode: 380 },
      ES: { code: 'ES', name: 'Spain', numericCode: 724 },
    });
    // Six rows in batches of two, one batch per call and two calls per run: the first run
    // continued as new, and the run that finished is a later one.
    const first = await h.client.workflow.getHandle(started.workflowId, started.runId, { followRuns: false }).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    expect((await handle.describe()).runId).not.toBe(started.runId);

    // The same dataset version again: the same counts, nothing written twice.
    const again = await run('countries.csv', CSV, COUNTRY);
    expect(again.started.duplicate).toBe(true);
    // A run under another id (an Idempotency-Key, or after Temporal's retention forgot the first)
    // finds the published load and redoes nothing.
    const other = await startObjectify(h.client, h.config, again.input, { workflowId: 'objectify:key:rerun-countries' });
    expect(await h.client.workflow.getHandle(other.workflowId).result()).toMatchObject({ alreadyPublished: true, rowsRead: 5, objects: 4, loadId: result.loadId });
    const { rows } = await h.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM objects o JOIN objectify_loads l ON l.id = o.load_id WHERE l.object_type = $1', ['country']);
    expect(rows[0]!.n).toBe(4);
  });

  it('reads gzip JSON Lines, stores rejects under the threshold, and fails over it with nothing published', async () => {
    const spec = { ...COUNTRY, objectType: 'place' };
    const lines = ['{"alpha_2":"nl","name":"Netherlands","numeric":528}', 'not json', '{"alpha_2":"be","name":"Belgium","numeric":"x"}', '{"alpha_2":"lu","name":"Luxembourg"}'];
    const ok = await run('places.jsonl.gz', gzipSync(lines.join('\n')), spec, { maxRejectRatio: 0.5 });
    expect(await ok.handle.result()).toMatchObject({ rowsRead: 4, rowsRejected: 2, objects: 2 });
    const { rows } = await h.pool.query<{ row_number: string; reason: string }>('SELECT row_number, reason FROM objectify_rejects ORDER BY row_number');
    expect(rows.map((r) => Number(r.row_number))).toEqual([2, 3]);
    expect(rows[1]!.reason).toMatch(/numeric/);

    const before = await published('place');
    const over = await run('places-strict.jsonl.gz', gzipSync(lines.join('\n')), spec, { maxRejectRatio: 0.1 });
    const failure = await over.handle.result().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const status = await describeRun(h.client, h.config, over.started.workflowId);
    expect(status.failure).toMatchObject({ type: 'TooManyRejects', nonRetryable: true });
    expect(status.failure?.message).toMatch(/2 of 4 rows rejected/);
    expect(await published('place')).toEqual(before);
    const leftovers = await h.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM objectify_loads WHERE workflow_id = $1", [over.started.workflowId]);
    expect(leftovers.rows[0]!.n).toBe(0);
  });

  it('a cancelled run leaves the published version as it was and removes its own rows', async () => {
    const spec = { ...COUNTRY, objectType: 'nation' };
    await (await run('nations.csv', CSV, spec)).handle.result();
    const before = await published('nation');

    const next = await run('held/nations.csv', `${CSV}pt,Portugal,620\n`, spec, { limits: { batchesPerCall: 1 } });
    await waitFor(async () => ((await describeRun(h.client, h.config, next.started.workflowId)).progress ?? 0) > 0 || undefined, {
      timeoutMs: 20_000,
      intervalMs: 50,
      description: 'the first batch to be written',
    });
    await next.handle.cancel();
    await expect(next.handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    expect((await describeRun(h.client, h.config, next.started.workflowId)).status).toBe('CANCELLED');
    expect(await published('nation')).toEqual(before);
    const { rows } = await h.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM objectify_loads WHERE workflow_id = $1', [next.started.workflowId]);
    expect(rows[0]!.n).toBe(0);
  });

  it('converts every field type and transform end to end, from CSV and from JSON Lines', async () => {
    const spec = {
      objectType: 'sample',
      primaryKey: ['id', 'day'],
      strict: false,
      fields: [
        { source: 'id', property: 'id', type: 'string', required: true, transform: ['trim', 'lowercase'] },
        { source: 'label', property: 'label', type: 'string', required: false, default: 'none', transform: ['uppercase'] },
        { source: 'count', property: 'count', type: 'integer', required: true, transform: [] },
        { source: 'amount', property: 'amount', type: 'number', required: true, transform: ['parse-number'] },
        { source: 'active', property: 'active', type: 'boolean', required: true, transform: [] },
        { source: 'day', property: 'day', type: 'date', required: true, transform: [{ 'parse-date': { format: 'DD/MM/YYYY' } }] },
        { source: 'seen', property: 'seen', type: 'timestamp', required: false, transform: [] },
        { source: 'meta', property: 'meta', type: 'json', required: false, transform: [] },
        { source: 'tags', property: 'tags', type: 'json', required: false, transform: [{ split: { separator: ';' } }, 'trim'] },
      ],
    } as MappingSpec;
    const csv = [
      'id,label,count,amount,active,day,seen,meta,tags',
      ' A1 ,red,42,1 234.5,yes,31/12/2025,2025-12-31T23:00:00+01:00,"{""k"":1}",a; b',
      'b2,,7,-0.5,false,01/02/2024,,,',
    ].join('\n');
    const fromCsv = await run('samples.csv', csv, spec);
    expect(await fromCsv.handle.result()).toMatchObject({ rowsRead: 2, rowsRejected: 0, objects: 2 });
    const expected = {
      'a1:2025-12-31': { id: 'a1', label: 'RED', count: 42, amount: 1234.5, active: true, day: '2025-12-31', seen: '2025-12-31T22:00:00.000Z', meta: { k: 1 }, tags: ['a', 'b'] },
      'b2:2024-02-01': { id: 'b2', label: 'none', count: 7, amount: -0.5, active: false, day: '2024-02-01', seen: null, meta: null, tags: null },
    };
    expect(await published('sample')).toEqual(expected);

    const jsonl = [
      { id: ' A1 ', label: 'red', count: 42, amount: '1 234.5', active: 'yes', day: '31/12/2025', seen: '2025-12-31T23:00:00+01:00', meta: { k: 1 }, tags: 'a; b' },
      { id: 'b2', count: 7, amount: -0.5, active: false, day: '01/02/2024' },
    ].map((o) => JSON.stringify(o)).join('\n');
    const fromJsonl = await run('samples.jsonl', jsonl, spec);
    expect(await fromJsonl.handle.result()).toMatchObject({ rowsRead: 2, rowsRejected: 0, objects: 2 });
    expect(await published('sample')).toEqual(expected);
  });
});
