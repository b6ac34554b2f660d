// The HTTP edge on the real Temporal, MinIO and Postgres, through app.request().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../test/support/harness.js';
import { ARTICLE } from '../../test/support/fixtures.js';
import { createTestApp } from '../../test/support/api.js';
import { MAX_EVENT_BYTES } from './webhook-body.js';

let h: Harness;
let app: ReturnType<typeof createTestApp>;
let readinessFails: string | undefined;

beforeAll(async () => {
  h = await startHarness();
  app = createTestApp(h, {
    readiness: {
      temporal: () => h.client.workflowService.getSystemInfo({}),
      postgres: () => h.pool.query('SELECT 1'),
      s3: async (signal) => {
        if (readinessFails) throw new Error(readinessFails);
        await h.storage.bucketExists(h.bucket, signal);
      },
    },
  });
});

afterAll(async () => {
  await h?.stop();
});

const webhook = () => ({ authorization: `Bearer ${h.config.WEBHOOK_TOKEN}`, 'content-type': 'application/json' });
const operator = () => ({ authorization: `Bearer ${h.config.API_KEY}`, 'content-type': 'application/json' });

function minioEvent(bucket: string, rawKey: string, etag: string, size: number) {
  return {
    EventName: 's3:ObjectCreated:Put',
    Key: `${bucket}/${rawKey}`,
    Records: [
      {
        eventVersion: '2.0',
        eventSource: 'minio:s3',
        eventName: 's3:ObjectCreated:Put',
        s3: { bucket: { name: bucket }, object: { key: rawKey, size, eTag: etag, contentType: 'text/plain' } },
      },
    ],
  };
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.requestId.length).toBeGreaterThan(0);
  return body;
}

describe('health', () => {
  it('answers /healthz and /readyz, and names what is not ready', async () => {
    expect((await app.request('/healthz')).status).toBe(200);
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(200);
    readinessFails = 'bucket unreachable';
    try {
      const body = await expectError(await app.request('/readyz'), 503, 'not_ready');
      expect(body.error.message).toContain('s3: bucket unreachable');
    } finally {
      readinessFails = undefined;
    }
  });
});

describe('POST /api/v1/events/s3', () => {
  it('requires the webhook token', async () => {
    const body = JSON.stringify(minioEvent(h.bucket, 'a.txt', 'e', 1));
    await expectError(await app.request('/api/v1/events/s3', { method: 'POST', body }), 401, 'unauthorized');
    const wrong = { authorization: 'Bearer not-the-token', 'content-type': 'application/json' };
    await expectError(await app.request('/api/v1/events/s3', { method: 'POST', body, headers: wrong }), 401, 'unauthorized');
    // The operator key is not the webhook token.
    await expectError(await app.request('/api/v1/events/s3', { method: 'POST', body, headers: operator() }), 401, 'unauthorized');
  });

  it('refuses malformed JSON, non-events and oversized bodies', async () => {
    await expectError(await app.request('/api/v1/events/s3', { method: 'POST', body: '{"Records": [', headers: webhook() }), 400, 'invalid_json');
    await expectError(await app.request('/api/v1/events/s3', { method: 'POST', body: '{"hello":"world"}', headers: webhook() }), 400, 'invalid_event');
    const huge = JSON.stringify({ Records: [], pad: 'x'.repeat(MAX_EVENT_BYTES) });
    await expectError(await app.request('/api/v1/events/s3', { method: 'POST', body: huge, headers: webhook() }), 413, 'payload_too_large');
  });

  it('acknowledges test events and non-create events without starting anything', async () => {
    const test = await app.request('/api/v1/events/s3', { method: 'POST', body: JSON.stringify({ Event: 's3:TestEvent', Bucket: h.bucket }), headers: webhook() });
    expect(test.status).toBe(202);
    expect(await test.json()).toMatchObject({ workflows: [] });
    const removed = { ...minioEvent(h.bucket, 'gone.txt', 'e1', 1) };
    removed.Records[0]!.eventName = 's3:ObjectRemoved:Delete';
    const res = await app.request('/api/v1/events/s3', { method: 'POST', body: JSON.stringify(removed), headers: webhook() });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ workflows: [], ignored: [{ eventName: 'ObjectRemoved:Delete' }] });
  });

  it('starts one ingest run per object version; a repeated delivery is a duplicate', async () => {
    const { etag } = await h.put('inbox/hello world.txt', ARTICLE, 'text/plain');
    const body = JSON.stringify(minioEvent(h.bucket, 'inbox%2Fhello+world.txt', etag, ARTICLE.length));
    const first = await app.request('/api/v1/events/s3', { method: 'POST', body, headers: webhook() });
    expect(first.status).toBe(202);
    const started = (await first.json()) as { workflows: Array<{ workflowId: string; runId: string; duplicate: boolean }> };
    expect(started.workflows).toEqual([{ workflowId: `ingest:${h.bucket}/inbox/hello world.txt@${etag}`, runId: expect.any(String) as unknown, duplicate: false }]);

    const again = await app.request('/api/v1/events/s3', { method: 'POST', body, headers: webhook() });
    expect(await again.json()).toEqual({ workflows: [{ ...started.workflows[0], duplicate: true }], ignored: [] });
  });
});

describe('operator API', () => {
  it('requires the API key', async () => {
    await expectError(await app.request('/api/v1/workflows/x'), 401, 'unauthorized');
    await expectError(await app.request('/api/v1/workflows/ingest', { method: 'POST', body: '{}', headers: webhook() }), 401, 'unauthorized');
  });

  it('starts ingest for an object, keyed like its notification, and reports its status until COMPLETED', async () => {
    const key = 'api/ü & more?.txt';
    const { etag } = await h.put(key, ARTICLE, 'text/plain');
    const res = await app.request('/api/v1/workflows/ingest', { method: 'POST', body: JSON.stringify({ bucket: h.bucket, key }), headers: operator() });
    expect(res.status).toBe(202);
    const run = (await res.json()) as { workflowId: string; runId: string; duplicate: boolean };
    expect(run).toMatchObject({ workflowId: `ingest:${h.bucket}/${key}@${etag}`, duplicate: false });

    await h.client.workflow.getHandle(run.workflowId).result();
    const status = await app.request(`/api/v1/workflows/${encodeURIComponent(run.workflowId)}`, { headers: operator() });
    expect(status.status).toBe(200);
    const body = (await status.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      workflowId: run.workflowId,
      runId: run.runId,
      pipeline: 'ingest',
      status: 'COMPLETED',
      stage: 'completed',
      progress: 1,
      failure: null,
      result: { format: 'text', language: 'eng', key },
    });
    expect(body.historyLength).toBeGreaterThan(10);
    expect(body.uiUrl).toBe(`${h.config.TEMPORAL_UI_URL}/namespaces/${h.config.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(run.workflowId)}/${run.runId}/history`);
  });

  it('answers 404 for an unknown object or workflow, and 400 for a bad body', async () => {
    await expectError(
      await app.request('/api/v1/workflows/ingest', { method: 'POST', body: JSON.stringify({ bucket: h.bucket, key: 'nope.txt' }), headers: operator() }),
      404,
      'object_not_found',
    );
    await expectError(await app.request(`/api/v1/workflows/${encodeURIComponent('ingest:nope/x@y')}`, { headers: operator() }), 404, 'workflow_not_found');
    await expectError(await app.request('/api/v1/workflows/ingest', { method: 'POST', body: JSON.stringify({ bucket: h.bucket }), headers: operator() }), 400, 'invalid_request');
    await expectError(await app.request('/api/v1/workflows/ingest', { method: 'POST', body: '{"bucket":', headers: operator() }), 400, 'invalid_request');
  });
});
