import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiMetrics } from '../src/api/metrics.js';
import type { StartedRun } from '../src/temporal/runs.js';
import { ARTICLE } from './support/fixtures.js';
import { createTestApp, operatorHeaders } from './support/api.js';
import { startHarness, type Harness } from './support/harness.js';

// GET /metrics: request counts and latency by route pattern and status, workflow starts by
// pipeline, channel and outcome (duplicates apart), and refused webhook deliveries, in the
// Prometheus text format. No worker: the runs only have to start.

let h: Harness;
let app: ReturnType<typeof createTestApp>;

beforeAll(async () => {
  h = await startHarness({ worker: false });
  app = createTestApp(h, { metrics: new ApiMetrics() });
});

afterAll(async () => {
  await h?.stop();
});

/** The samples of the exposition, `name{labels}` → value. */
async function scrape(): Promise<Map<string, number>> {
  const res = await app.request('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

const notification = (key: string, etag: string) => ({
  Records: [{ eventName: 's3:ObjectCreated:Put', s3: { bucket: { name: h.bucket }, object: { key, eTag: etag, size: ARTICLE.length } } }],
});

function postS3(body: unknown, token = h.config.WEBHOOK_TOKEN): Promise<Response> {
  return Promise.resolve(
    app.request('/api/v1/events/s3', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  );
}

it('counts requests by route pattern, starts by outcome, and refused deliveries', async () => {
  const { etag } = await h.put('metrics/report.txt', ARTICLE, 'text/plain');

  expect((await postS3(notification('metrics/report.txt', etag), 'wrong-token')).status).toBe(401);
  expect((await postS3('not json')).status).toBe(400);
  expect((await postS3(notification('metrics/report.txt', etag))).status).toBe(202);
  expect((await postS3(notification('metrics/report.txt', etag))).status).toBe(202);
  // The same object through the operator API: the notification's run, a duplicate.
  const started = await app.request('/api/v1/workflows/ingest', {
    method: 'POST',
    headers: operatorHeaders(h),
    body: JSON.stringify({ bucket: h.bucket, key: 'metrics/report.txt' }),
  });
  expect(started.status).toBe(202);
  const run = (await started.json()) as StartedRun;
  expect(run.duplicate).toBe(true);
  expect((await app.request(`/api/v1/workflows/${encodeURIComponent(run.workflowId)}`, { headers: operatorHeaders(h) })).status).toBe(200);
  expect((await app.request('/no/such/route')).status).toBe(404);

  const samples = await scrape();
  const value = (sample: string): number | undefined => samples.get(sample);
  expect(value('harvester_webhook_rejects_total{endpoint="s3",status="401"}')).toBe(1);
  expect(value('harvester_webhook_rejects_total{endpoint="s3",status="400"}')).toBe(1);
  expect(value('harvester_workflow_starts_total{pipeline="ingest",channel="s3",outcome="started"}')).toBe(1);
  expect(value('harvester_workflow_starts_total{pipeline="ingest",channel="s3",outcome="duplicate"}')).toBe(1);
  expect(value('harvester_workflow_starts_total{pipeline="ingest",channel="api",outcome="duplicate"}')).toBe(1);
  expect(value('harvester_http_requests_total{method="POST",route="/api/v1/events/s3",status="202"}')).toBe(2);
  // Patterns, not paths: the workflow id is not a label value.
  expect(value('harvester_http_requests_total{method="GET",route="/api/v1/workflows/:id",status="200"}')).toBe(1);
  expect(value('harvester_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
  expect([...samples.keys()].some((name) => name.includes(encodeURIComponent(run.workflowId)) || name.includes(run.workflowId))).toBe(false);
  expect(value('harvester_http_request_duration_seconds_count{method="POST",route="/api/v1/events/s3"}')).toBe(4);
  expect(value('harvester_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/api/v1/events/s3"}')).toBe(4);
});
