import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectError, operatorHeaders } from './support/api.js';
import { startHarness, type Harness } from './support/harness.js';

// Objectify over HTTP on the real servers: start with an inline spec and ?wait=, read the
// published objects (composite keys, versions, pages) and the dataset with its rejects.

let h: Harness;
let app: ReturnType<typeof createTestApp>;

beforeAll(async () => {
  h = await startHarness();
  app = createTestApp(h);
});

afterAll(async () => {
  await h?.stop();
});

const CITY = {
  objectType: 'city',
  primaryKey: ['country', 'name'],
  fields: [
    { source: 'country', property: 'country', type: 'string', required: true, transform: ['trim', 'uppercase'] },
    { source: 'name', property: 'name', type: 'string', required: true, transform: ['trim'] },
    { source: 'population', property: 'population', type: 'integer', required: true },
    { source: 'founded', property: 'founded', type: 'date', transform: [{ 'parse-date': { format: 'DD.MM.YYYY' } }] },
  ],
};

const V1 = 'country,name,population,founded\nde,Berlin,3850809,28.10.1237\nde,Hamburg,1892122,\nfr,Paris,2102650,\nfr,Lyon,lots,\n';
const V2 = 'country,name,population,founded\nde,Berlin,3878100,28.10.1237\nit,Roma,2755309,21.04.0753\n';

type Completed = { workflowId: string; status: string; result: { loadId: string; datasetVersionId: string; rowsRead: number; rowsRejected: number; objects: number } };

async function objectify(key: string, body: string, extra: Record<string, unknown> = {}): Promise<Response> {
  await h.put(key, body, 'text/csv');
  return app.request('/api/v1/workflows/objectify?wait=60s', {
    method: 'POST',
    headers: operatorHeaders(h),
    body: JSON.stringify({ dataset: `s3://${h.bucket}/${key}`, mapping: CITY, maxRejectRatio: 0.3, ...extra }),
  });
}

const get = async (path: string) => app.request(path, { headers: operatorHeaders(h) });

describe('objectify over HTTP', () => {
  it('starts a run with an inline spec, and serves the objects, one by composite key, and the dataset', async () => {
    const res = await objectify('cities.csv', V1);
    expect(res.status).toBe(200);
    const v1 = (await res.json()) as Completed;
    expect(v1).toMatchObject({ status: 'COMPLETED', result: { rowsRead: 4, rowsRejected: 1, objects: 3 } });

    const page = (await (await get('/api/v1/objects/city')).json()) as { version: string; objects: Array<{ key: string; properties: Record<string, unknown> }>; nextCursor: string | null };
    expect(page.version).toBe(v1.result.loadId);
    expect(page.objects.map((o) => o.key)).toEqual(['DE:Berlin', 'DE:Hamburg', 'FR:Paris']);
    expect(page.objects[0]!.properties).toEqual({ country: 'DE', name: 'Berlin', population: 3850809, founded: '1237-10-28' });

    const one = await get(`/api/v1/objects/city/${encodeURIComponent('FR:Paris')}`);
    expect(await one.json()).toEqual({ type: 'city', key: 'FR:Paris', version: v1.result.loadId, properties: { country: 'FR', name: 'Paris', population: 2102650, founded: null } });
    await expectError(await get(`/api/v1/objects/city/${encodeURIComponent('FR:Lyon')}`), 404, 'object_not_found');
    await expectError(await get('/api/v1/objects/planet'), 404, 'object_type_not_found');

    // The status endpoint shows the run's counters.
    const status = (await (await get(`/api/v1/workflows/${encodeURIComponent(v1.workflowId)}`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({ pipeline: 'objectify', status: 'COMPLETED', stage: 'completed', counters: { rowsRead: 4, rowsRejected: 1 } });

    const { rows } = await h.pool.query<{ id: string }>('SELECT dataset_id AS id FROM dataset_versions WHERE id = $1', [v1.result.datasetVersionId]);
    const dataset = (await (await get(`/api/v1/datasets/${rows[0]!.id}`)).json()) as { key: string; versions: Array<{ loads: Array<Record<string, unknown>> }> };
    expect(dataset.key).toBe('cities.csv');
    expect(dataset.versions[0]!.loads[0]).toMatchObject({ rowsRead: 4, rowsRejected: 1, objects: 3, current: true, rejects: [{ rowNumber: 4, column: 'population' }] });
    await expectError(await get('/api/v1/datasets/999999'), 404, 'dataset_not_found');
  });

  it('publishes a new dataset version in place of the old one, which stays readable by version', async () => {
    const before = (await (await get('/api/v1/objects/city')).json()) as { version: string };
    const res = await objectify('cities.csv', V2);
    const v2 = (await res.json()) as Completed;
    expect(v2.result).toMatchObject({ rowsRead: 2, rowsRejected: 0, objects: 2 });
    expect(v2.result.loadId).not.toBe(before.version);

    const now = (await (await get('/api/v1/objects/city?limit=1')).json()) as { version: string; objects: Array<{ key: string }>; nextCursor: string };
    expect(now.version).toBe(v2.result.loadId);
    expect(now.objects.map((o) => o.key)).toEqual(['DE:Berlin']);
    const rest = (await (await get(`/api/v1/objects/city?limit=1&cursor=${now.nextCursor}`)).json()) as { objects: Array<{ key: string }>; nextCursor: string | null };
    expect(rest).toMatchObject({ objects: [{ key: 'IT:Roma' }], nextCursor: null });

    const old = (await (await get(`/api/v1/objects/city/${encodeURIComponent('DE:Hamburg')}?version=${before.version}`)).json()) as { version: string };
    expect(old.version).toBe(before.version);
    await expectError(await get(`/api/v1/objects/city/${encodeURIComponent('DE:Hamburg')}`), 404, 'object_not_found');
    await expectError(await get('/api/v1/objects/city?version=999999'), 404, 'version_not_found');
  });

  it('refuses bad requests with the reason', async () => {
    const post = (body: unknown) => app.request('/api/v1/workflows/objectify', { method: 'POST', headers: operatorHeaders(h), body: JSON.stringify(body) });
    await expectError(await post({ dataset: 'http://x/y.csv', mapping: CITY }), 400, 'invalid_request');
    await expectError(await post({ dataset: `s3://${h.bucket}/missing.csv`, mapping: CITY }), 404, 'object_not_found');
    await expectError(await post({ dataset: `s3://${h.bucket}/cities.csv`, mapping: '999999' }), 404, 'mapping_not_found');
    await expectError(await post({ dataset: `s3://${h.bucket}/cities.csv`, mapping: { ...CITY, primaryKey: ['id'] } }), 400, 'invalid_request');
  });
});
