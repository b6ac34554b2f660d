import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTICLE } from './support/fixtures.js';
import { createTestApp, deferred, expectError, heldUntil, operatorHeaders } from './support/api.js';
import { startHarness, type Harness } from './support/harness.js';
import { uniqueId, waitFor } from './support/stack.js';

// Starting runs (?wait=, Idempotency-Key, traceparent) and finding them again (visibility search),
// through the API on the real servers. Runs of objects under `held/` wait in `analyse` until the
// test releases them.

let h: Harness;
let app: ReturnType<typeof createTestApp>;
const release = deferred();

beforeAll(async () => {
  h = await startHarness({
    activities: (real) => ({
      ...real,
      async analyse(input: Parameters<typeof real.analyse>[0]) {
        if (Context.current().info.workflowExecution?.workflowId.includes('/held/')) await heldUntil(release.promise);
        return real.analyse(input);
      },
    }),
  });
  app = createTestApp(h);
});

afterAll(async () => {
  release.resolve();
  await h?.stop();
});

type Started = { workflowId: string; runId: string; duplicate: boolean };

function startRequest(body: unknown, options: { query?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return Promise.resolve(
    app.request(`/api/v1/workflows/ingest${options.query ?? ''}`, {
      method: 'POST',
      headers: operatorHeaders(h, options.headers),
      body: JSON.stringify(body),
    }),
  );
}

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);

describe('POST /api/v1/workflows/ingest?wait=', () => {
  it('answers 200 with the result when the run completes in time', async () => {
    await h.put('wait/quick.txt', ARTICLE, 'text/plain');
    const res = await startRequest({ bucket: h.bucket, key: 'wait/quick.txt' }, { query: '?wait=60s' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'COMPLETED', duplicate: false, result: { stage: 'completed', format: 'text', key: 'wait/quick.txt' } });
  });

  it('answers 408 with where to look when the run is still going', async () => {
    await h.put('held/slow.txt', ARTICLE, 'text/plain');
    const res = await startRequest({ bucket: h.bucket, key: 'held/slow.txt' }, { query: '?wait=300ms' });
    const body = await expectError(res, 408, 'wait_timeout');
    expect(body.workflowId).toMatch(/^ingest:.*\/held\/slow\.txt@/);
    expect(body.statusUrl).toBe(`/api/v1/workflows/${encodeURIComponent(body.workflowId as string)}`);
    expect(body.error.message).toContain('/stream');
  });

  it('answers a failed run with its failure', async () => {
    await h.put('wait/picture.png', PNG, 'image/png');
    const res = await startRequest({ bucket: h.bucket, key: 'wait/picture.png' }, { query: '?wait=60s' });
    const body = await expectError(res, 422, 'run_failed');
    expect(body).toMatchObject({ status: 'FAILED', failure: { type: 'UnsupportedContent', nonRetryable: true } });
  });

  it('refuses a malformed wait', async () => {
    await expectError(await startRequest({ bucket: h.bucket, key: 'x' }, { query: '?wait=soon' }), 400, 'invalid_request');
  });
});

describe('Idempotency-Key', () => {
  it('returns the same run for the same key, even after the object changed, and refuses a different request', async () => {
    const key = `idem-${uniqueId('k')}`;
    await h.put('idem/doc.txt', ARTICLE, 'text/plain');
    const first = await startRequest({ bucket: h.bucket, key: 'idem/doc.txt' }, { headers: { 'idempotency-key': key } });
    expect(first.status).toBe(202);
    const run = (await first.json()) as Started;
    expect(run.duplicate).toBe(false);
    await h.client.workflow.getHandle(run.workflowId).result();

    await h.put('idem/doc.txt', `${ARTICLE}\nA second version.`, 'text/plain');
    // Key order and spacing do not matter: the request is the same.
    const again = await app.request('/api/v1/workflows/ingest', {
      method: 'POST',
      headers: operatorHeaders(h, { 'idempotency-key': key }),
      body: `{ "key": "idem/doc.txt",   "bucket": "${h.bucket}" }`,
    });
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ ...run, duplicate: true });

    await h.put('idem/other.txt', ARTICLE, 'text/plain');
    await expectError(await startRequest({ bucket: h.bucket, key: 'idem/other.txt' }, { headers: { 'idempotency-key': key } }), 409, 'idempotency_key_reused');
    await expectError(await startRequest({ bucket: h.bucket, key: 'idem/doc.txt' }, { headers: { 'idempotency-key': 'has space' } }), 400, 'invalid_request');
  });

  it('keeps the trace id of a traceparent header with the run', async () => {
    await h.put('trace/doc.txt', ARTICLE, 'text/plain');
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await startRequest({ bucket: h.bucket, key: 'trace/doc.txt' }, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    const run = (await res.json()) as Started;
    expect((await h.client.workflow.getHandle(run.workflowId).describe()).memo).toMatchObject({ traceId });
    await h.client.workflow.getHandle(run.workflowId).result();
  });
});

describe('GET /api/v1/workflows', () => {
  type Page = { runs: Array<{ workflowId: string; status: string; stage: string | null; source: string | null; pipeline: string }>; nextPageToken: string | null };

  async function list(query: string): Promise<Page> {
    const res = await app.request(`/api/v1/workflows?${query}`, { headers: operatorHeaders(h) });
    expect(res.status).toBe(200);
    return (await res.json()) as Page;
  }

  it('filters by pipeline, status, source, stage and start time, running first, then latest closed, page by page', async () => {
    // Three runs in a second bucket of their own: one completed, one failed, one held in analyse.
    const bucket = uniqueId('list').toLowerCase();
    await h.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = (key: string, body: string | Uint8Array) => h.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await put('a.txt', ARTICLE);
    await put('b.png', PNG);
    await put('held/c.txt', ARTICLE);

    // One after the other, so their start and close times order them.
    const started: Started[] = [];
    for (const key of ['a.txt', 'b.png', 'held/c.txt']) {
      const run = (await (await startRequest({ bucket, key })).json()) as Started;
      started.push(run);
      if (!key.startsWith('held/')) await h.client.workflow.getHandle(run.workflowId).result().catch(() => undefined);
    }
    const [a, b, c] = started as [Started, Started, Started];

    // Visibility is eventually consistent: wait until it has caught up with all three.
    const settled = await waitFor(
      async () => {
        const page = await list(`source=${bucket}`);
        const states = page.runs.map((r) => `${r.status}/${r.stage ?? ''}`).sort();
        return states.join(' ') === 'COMPLETED/completed FAILED/extracting RUNNING/analysing' ? page : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, description: 'visibility to show the three runs' },
    );
    expect(settled.runs.map((r) => r.workflowId)).toEqual([c.workflowId, b.workflowId, a.workflowId]);
    expect(settled.runs.every((r) => r.pipeline === 'ingest' && r.source === bucket)).toBe(true);

    const ids = async (query: string) => (await list(`source=${bucket}&${query}`)).runs.map((r) => r.workflowId);
    expect(await ids('pipeline=ingest')).toEqual([c.workflowId, b.workflowId, a.workflowId]);
    expect(await ids('pipeline=objectify')).toEqual([]);
    expect(await ids('status=COMPLETED')).toEqual([a.workflowId]);
    expect(await ids('status=FAILED')).toEqual([b.workflowId]);
    expect(await ids('status=RUNNING')).toEqual([c.workflowId]);
    expect(await ids('stage=analysing')).toEqual([c.workflowId]);
    const startOf = async (run: Started) => (await h.client.workflow.getHandle(run.workflowId).describe()).startTime.toISOString();
    expect(await ids(`startedAfter=${encodeURIComponent(await startOf(b))}`)).toEqual([c.workflowId, b.workflowId]);
    expect(await ids(`startedBefore=${encodeURIComponent(await startOf(b))}`)).toEqual([a.workflowId]);
    expect(await list(`source=other-${bucket}`)).toEqual({ runs: [], nextPageToken: null });

    // Pages of one, following the opaque token, give the same order.
    const paged: string[] = [];
    let token: string | null = null;
    do {
      const page: Page = await list(`source=${bucket}&pageSize=1${token ? `&pageToken=${token}` : ''}`);
      paged.push(...page.runs.map((r) => r.workflowId));
      token = page.nextPageToken;
    } while (token);
    expect(paged).toEqual([c.workflowId, b.workflowId, a.workflowId]);
    // A token continues only the list it came from.
    const first = await list(`source=${bucket}&pageSize=1`);
    const misuse = await app.request(`/api/v1/workflows?pageSize=1&status=FAILED&pageToken=${first.nextPageToken}`, { headers: operatorHeaders(h) });
    await expectError(misuse, 400, 'invalid_page_token');

    await h.client.workflow.getHandle(c.workflowId).terminate('test over');
  });

  it('refuses filters it cannot express safely', async () => {
    const bad = (query: string) => app.request(`/api/v1/workflows?${query}`, { headers: operatorHeaders(h) });
    await expectError(await bad(`source=${encodeURIComponent("x' OR 1=1")}`), 400, 'invalid_request');
    await expectError(await bad('status=SLEEPING'), 400, 'invalid_request');
    await expectError(await bad('startedAfter=yesterday'), 400, 'invalid_request');
    await expectError(await bad('pageSize=0'), 400, 'invalid_request');
    await expectError(await bad('pageToken=bm90LWEtdG9rZW4'), 400, 'invalid_page_token');
  });
});
