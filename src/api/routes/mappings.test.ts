// Mapping specs over the API, stored in this file's own Postgres schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectError, operatorHeaders } from '../../../test/support/api.js';
import { startHarness, type Harness } from '../../../test/support/harness.js';

let h: Harness;
let app: ReturnType<typeof createTestApp>;

beforeAll(async () => {
  h = await startHarness({ worker: false });
  app = createTestApp(h);
});

afterAll(async () => {
  await h?.stop();
});

const COUNTRY = {
  objectType: 'country',
  primaryKey: ['code'],
  strict: false,
  fields: [
    { source: 'alpha_2', property: 'code', type: 'string', required: true, transform: ['trim', 'uppercase'] },
    { source: 'numeric', property: 'numericCode', type: 'integer' },
  ],
};

type Mapping = { id: string; objectType: string; version: number; spec: Record<string, unknown>; createdAt: string };

function register(spec: unknown): Promise<Response> {
  return Promise.resolve(app.request('/api/v1/mappings', { method: 'POST', headers: operatorHeaders(h), body: JSON.stringify(spec) }));
}

describe('POST /api/v1/mappings', () => {
  it('registers versions per object type, and the same spec again finds its version', async () => {
    const first = await register(COUNTRY);
    expect(first.status).toBe(201);
    const v1 = (await first.json()) as Mapping;
    expect(v1).toMatchObject({ objectType: 'country', version: 1, spec: { primaryKey: ['code'] } });

    // The same spec with its keys in another order and a default left out is the same spec.
    const reordered = { fields: COUNTRY.fields, primaryKey: ['code'], objectType: 'country' };
    const again = await register(reordered);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(v1);

    const changed = await register({ ...COUNTRY, strict: true });
    expect(changed.status).toBe(201);
    expect(await changed.json()).toMatchObject({ objectType: 'country', version: 2 });

    const other = await register({ ...COUNTRY, objectType: 'region' });
    expect(await other.json()).toMatchObject({ objectType: 'region', version: 1 });
  });

  it('gives concurrent registrations distinct versions', async () => {
    const specs = Array.from({ length: 6 }, (_, i) => ({ ...COUNTRY, objectType: 'city', fields: [...COUNTRY.fields, { source: `extra_${i}`, property: `extra${i}`, type: 'string' }] }));
    const results = (await Promise.all(specs.map(async (s) => (await register(s)).json()))) as Mapping[];
    expect(results.map((m) => m.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses invalid specs with the reason', async () => {
    const bad = async (spec: unknown, pattern: RegExp) => {
      const body = await expectError(await register(spec), 400, 'invalid_request');
      expect(body.error.message).toMatch(pattern);
    };
    await bad({ ...COUNTRY, primaryKey: ['nope'] }, /primaryKey/);
    await bad({ ...COUNTRY, fields: [{ source: 'a', property: 'code', type: 'money' }] }, /type/);
    await bad({ ...COUNTRY, objectType: 'Country; DROP TABLE objects' }, /objectType/);
    await bad({ ...COUNTRY, fields: [...COUNTRY.fields, { source: 'x', property: 'code', type: 'string' }] }, /twice|unique|duplicate/i);
  });

  it('requires the API key', async () => {
    await expectError(await app.request('/api/v1/mappings', { method: 'POST', body: JSON.stringify(COUNTRY) }), 401, 'unauthorized');
  });
});

describe('GET /api/v1/mappings', () => {
  it('lists newest first, filters by object type, and reads one by id', async () => {
    const created = (await (await register({ ...COUNTRY, objectType: 'airport' })).json()) as Mapping;
    const list = (await (await app.request('/api/v1/mappings?objectType=airport', { headers: operatorHeaders(h) })).json()) as { mappings: Mapping[] };
    expect(list.mappings).toEqual([created]);
    const all = (await (await app.request('/api/v1/mappings', { headers: operatorHeaders(h) })).json()) as { mappings: Mapping[] };
    expect(all.mappings[0]).toEqual(created);
    expect(all.mappings.length).toBeGreaterThan(1);

    const one = await app.request(`/api/v1/mappings/${created.id}`, { headers: operatorHeaders(h) });
    expect(await one.json()).toEqual(created);
    await expectError(await app.request('/api/v1/mappings/999999', { headers: operatorHeaders(h) }), 404, 'mapping_not_found');
    await expectError(await app.request('/api/v1/mappings/abc', { headers: operatorHeaders(h) }), 404, 'mapping_not_found');
  });
});
