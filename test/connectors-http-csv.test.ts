import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ScheduleNotFoundError, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectError, operatorCall } from './support/api.js';
import { startHarness, type Harness } from './support/harness.js';
import { waitFor } from './support/stack.js';

// An http-csv connector on the real stack: a local HTTP server plays the Google Sheets export,
// with content and ETag the test changes; syncs are started through the connector's Temporal
// Schedule and followed with the Temporal client.

/** A CSV source: honours If-None-Match, can change its ETag without changing content, or go down. */
class CsvSource {
  body = '';
  etag = '';
  down = false;
  requests: Array<{ ifNoneMatch: string | undefined; status: number }> = [];
  private readonly server = http.createServer((req, res) => {
    const ifNoneMatch = req.headers['if-none-match'];
    const status = this.down ? 503 : ifNoneMatch === this.etag ? 304 : 200;
    this.requests.push({ ifNoneMatch, status });
    if (status === 200) res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', etag: this.etag }).end(this.body);
    else res.writeHead(status).end();
  });

  set(body: string, etag = `"${createHash('md5').update(body).digest('hex')}"`): void {
    this.body = body;
    this.etag = etag;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const COUNTRY = {
  objectType: 'country',
  primaryKey: ['code'],
  fields: [
    { source: 'code', property: 'code', type: 'string', required: true, transform: ['trim', 'uppercase'] },
    { source: 'name', property: 'name', type: 'string', required: true },
    { source: 'population', property: 'population', type: 'integer' },
  ],
};

const V1 = 'code,name,population\nde,Germany,83000000\nfr,France,68000000\nit,Italy,59000000\n';
const V2 = 'code,name,population\nde,Germany,84500000\nfr,France,68000000\nes,Spain,48000000\n';

const source = new CsvSource();
let port: number;
let h: Harness;
let app: ReturnType<typeof createTestApp>;
let call: ReturnType<typeof operatorCall>;

beforeAll(async () => {
  port = await source.listen();
  // Loopback is refused unless allow-listed: allow this one server, nothing else.
  h = await startHarness({ configOverrides: { CONNECTOR_ALLOWED_HOSTS: `127.0.0.1:${port}` } });
  app = createTestApp(h);
  call = operatorCall(app, h);
});

afterAll(async () => {
  await h?.stop();
  await source.close();
});

type Json = Record<string, unknown>;

async function createConnector(body: Json): Promise<{ id: string; scheduleId: string }> {
  const res = await call('POST', '/api/v1/connectors', body);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string; scheduleId: string };
}

/** Sync now through the API; the run's result, or its failure. */
async function syncNow(id: string): Promise<{ workflowId: string; result: Json }> {
  const res = await call('POST', `/api/v1/connectors/${id}/sync`);
  expect(res.status).toBe(202);
  const { workflowId, started } = (await res.json()) as { workflowId: string; started: boolean };
  expect(started).toBe(true);
  expect(workflowId).toMatch(new RegExp(`^connector-sync:${id}-`));
  return { workflowId, result: (await h.client.workflow.getHandle(workflowId).result()) as Json };
}

/** A failed sync's cause: the activity failure inside the workflow's failure. */
function activityFailure(err: unknown): ApplicationFailure {
  const inner = (err as WorkflowFailedError).cause?.cause;
  if (!(inner instanceof ApplicationFailure)) throw new Error(`not an activity's ApplicationFailure: ${String(inner)}`, { cause: err });
  return inner;
}

const objects = async () => {
  const page = (await (await call('GET', '/api/v1/objects/country')).json()) as { version: string; objects: Array<{ key: string; properties: Json }> };
  return { version: page.version, byKey: Object.fromEntries(page.objects.map((o) => [o.key, o.properties])) };
};
const datasetVersions = async () => Number((await h.pool.query<{ n: string }>('SELECT count(*) AS n FROM dataset_versions')).rows[0]!.n);
const status = async (id: string) => (await (await call('GET', `/api/v1/connectors/${id}`)).json()) as { status: { paused: boolean; note: string | null; cursor: { position: Json; checkedAt: string } | null; lastSync: Json | null; nextRuns: string[] } };

describe('http-csv connector', () => {
  let id: string;
  let scheduleId: string;

  it('is created with a Temporal Schedule that skips overlaps and pauses on failure', async () => {
    source.set(V1);
    ({ id, scheduleId } = await createConnector({ name: 'countries', kind: 'http-csv', config: { url: `http://127.0.0.1:${port}/export?format=csv` }, schedule: { every: '1h' }, mapping: COUNTRY }));
    expect(scheduleId).toBe(`connector-sync:${id}`);

    const schedule = await h.client.schedule.getHandle(scheduleId).describe();
    expect(schedule.spec.intervals).toMatchObject([{ every: 3_600_000 }]);
    expect(schedule.policies).toMatchObject({ overlap: 'SKIP', pauseOnFailure: true });
    expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'connectorSync', taskQueue: h.config.TEMPORAL_TASK_QUEUE, args: [{ connectorId: id }] });
    expect(schedule.state.paused).toBe(false);
    expect((await status(id)).status).toMatchObject({ paused: false, cursor: null, lastSync: null });
  });

  it('imports every row on the first sync', async () => {
    const { result } = await syncNow(id);
    expect(result).toMatchObject({ kind: 'http-csv', changed: true, rowsRead: 3, rowsRejected: 0, objects: 3 });
    const { byKey } = await objects();
    expect(byKey).toEqual({
      DE: { code: 'DE', name: 'Germany', population: 83000000 },
      FR: { code: 'FR', name: 'France', population: 68000000 },
      IT: { code: 'IT', name: 'Italy', population: 59000000 },
    });
    const { cursor } = (await status(id)).status;
    expect(cursor?.position).toMatchObject({ etag: source.etag, sequence: 1, sha256: createHash('sha256').update(V1).digest('hex') });
  });

  it('makes no new version while the source is unchanged, even under a new ETag', async () => {
    const versions = await datasetVersions();
    const { version } = await objects();
    const before = (await status(id)).status.cursor!.checkedAt;

    expect((await syncNow(id)).result).toEqual({ kind: 'http-csv', changed: false, reason: 'not-modified' });
    expect(source.requests.at(-1)).toEqual({ ifNoneMatch: source.etag, status: 304 });

    source.set(V1, '"regenerated-export"');
    expect((await syncNow(id)).result).toEqual({ kind: 'http-csv', changed: false, reason: 'same-content' });
    expect(await datasetVersions()).toBe(versions);
    expect((await objects()).version).toBe(version);

    // The check is recorded, and the new validators are kept for the next conditional request.
    const { cursor } = (await status(id)).status;
    expect(cursor!.checkedAt > before).toBe(true);
    expect(cursor!.position).toMatchObject({ etag: '"regenerated-export"', sequence: 1 });
  });

  it('imports changed rows as a new version', async () => {
    source.set(V2);
    const { result } = await syncNow(id);
    expect(result).toMatchObject({ changed: true, rowsRead: 3, objects: 3 });
    const { byKey } = await objects();
    expect(Object.keys(byKey).sort()).toEqual(['DE', 'ES', 'FR']);
    expect(byKey.DE).toMatchObject({ population: 84500000 });
    expect((await status(id)).status.cursor!.position).toMatchObject({ sequence: 2, etag: source.etag });
  });

  it('fails visibly after retries when the source is down, keeps the cursor, and pauses the schedule', async () => {
    const cursorBefore = (await status(id)).status.cursor!.position;
    const requestsBefore = source.requests.length;
    source.down = true;
    const res = await call('POST', `/api/v1/connectors/${id}/sync`);
    const { workflowId } = (await res.json()) as { workflowId: string };
    const failure = await h.client.workflow.getHandle(workflowId).result().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(activityFailure(failure).message).toContain('HTTP 503');
    expect(source.requests.length - requestsBefore).toBe(4);
    source.down = false;

    const after = await waitFor(async () => {
      const s = (await status(id)).status;
      return s.paused && s.lastSync?.status === 'FAILED' ? s : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100, description: 'the schedule to pause itself after the failed sync' });
    expect(after.cursor!.position).toEqual(cursorBefore);
    expect(after.nextRuns).toEqual([]);
    expect(after.lastSync).toMatchObject({ workflowId, status: 'FAILED', pipeline: 'connector-sync', source: id });
  });

  it('pauses and resumes the Temporal Schedule', async () => {
    const res = await call('POST', `/api/v1/connectors/${id}/resume`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: { paused: boolean } }).status.paused).toBe(false);
    expect((await h.client.schedule.getHandle(scheduleId).describe()).state).toMatchObject({ paused: false, note: 'resumed through the API' });

    await call('POST', `/api/v1/connectors/${id}/pause`, { note: 'maintenance' });
    expect((await h.client.schedule.getHandle(scheduleId).describe()).state).toMatchObject({ paused: true, note: 'maintenance' });
    await call('POST', `/api/v1/connectors/${id}/resume`);
    expect((await h.client.schedule.getHandle(scheduleId).describe()).state.paused).toBe(false);
  });

  it('updates the schedule with the connector, and a new mapping re-imports the same file', async () => {
    const res = await call('PATCH', `/api/v1/connectors/${id}`, { schedule: { cron: '30 6 * * 1-5', timezone: 'Europe/Berlin' }, mapping: { ...COUNTRY, fields: COUNTRY.fields.slice(0, 2) } });
    expect(res.status).toBe(200);
    const schedule = await h.client.schedule.getHandle(scheduleId).describe();
    expect(schedule.spec.timezone).toBe('Europe/Berlin');
    expect(schedule.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 6, end: 6, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }] });

    const { result } = await syncNow(id);
    expect(result).toMatchObject({ changed: true, objects: 3 });
    expect((await objects()).byKey.DE).toEqual({ code: 'DE', name: 'Germany' });
  });

  it('refuses loopback and link-local URLs that are not allow-listed, bad schedules, names and mappings', async () => {
    const base = { kind: 'http-csv', schedule: { every: '15m' }, mapping: COUNTRY };
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://127.0.0.1/export.csv', `http://127.0.0.1:${port + 1}/x.csv`, 'http://[::1]/x.csv', 'file:///etc/passwd']) {
      const body = await expectError(await call('POST', '/api/v1/connectors', { ...base, name: `bad ${url}`, config: { url } }), 400, 'unsafe_url');
      expect(body.error.message).toMatch(/not a public address|only http and https/);
    }
    await expectError(await call('POST', '/api/v1/connectors', { ...base, name: 'bad cron', config: { url: `http://127.0.0.1:${port}/` }, schedule: { cron: 'every day at noon' } }), 400, 'invalid_schedule');
    await expectError(await call('POST', '/api/v1/connectors', { ...base, name: 'bad zone', config: { url: `http://127.0.0.1:${port}/` }, schedule: { cron: '0 * * * *', timezone: 'Mars/Olympus' } }), 400, 'invalid_request');
    await expectError(await call('POST', '/api/v1/connectors', { ...base, name: 'too often', config: { url: `http://127.0.0.1:${port}/` }, schedule: { every: '5s' } }), 400, 'invalid_request');
    await expectError(await call('POST', '/api/v1/connectors', { ...base, name: 'countries', config: { url: `http://127.0.0.1:${port}/` } }), 409, 'connector_name_taken');
    await expectError(await call('POST', '/api/v1/connectors', { ...base, name: 'no mapping', config: { url: `http://127.0.0.1:${port}/` }, mapping: '999999' }), 422, 'mapping_not_found');
    await expectError(await call('GET', '/api/v1/connectors/not-a-connector'), 404, 'connector_not_found');
    await expectError(await call('POST', '/api/v1/connectors/00000000-0000-4000-8000-000000000000/sync'), 404, 'connector_not_found');

    // Nothing half-made: refused requests left no row and no schedule.
    const list = (await (await call('GET', '/api/v1/connectors')).json()) as { connectors: Array<{ name: string }> };
    expect(list.connectors.map((c) => c.name)).toEqual(['countries']);
  });

  it('refuses a connector whose host resolves to loopback at sync time: the sync fails for good', async () => {
    // "localhost" is a name, so creation cannot judge it; the connection-time check does.
    const { id: local } = await createConnector({ name: 'via dns', kind: 'http-csv', config: { url: `http://localhost:${port}/x.csv` }, schedule: { every: '1h' }, mapping: COUNTRY });
    const { workflowId } = (await (await call('POST', `/api/v1/connectors/${local}/sync`)).json()) as { workflowId: string };
    const failure = (await h.client.workflow.getHandle(workflowId).result().catch((err: unknown) => err)) as WorkflowFailedError;
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(activityFailure(failure)).toMatchObject({ type: 'UnsafeUrl', nonRetryable: true });
    expect(activityFailure(failure).message).toMatch(/resolves to .*not a public address/);
    await call('DELETE', `/api/v1/connectors/${local}`);
  });

  it('deletes the connector together with its schedule', async () => {
    const res = await call('DELETE', `/api/v1/connectors/${id}`);
    expect(res.status).toBe(204);
    await expect(h.client.schedule.getHandle(scheduleId).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    await expectError(await call('GET', `/api/v1/connectors/${id}`), 404, 'connector_not_found');
    expect((await h.pool.query('SELECT 1 FROM connector_cursors WHERE connector_id = $1', [id])).rowCount).toBe(0);
  });
});
