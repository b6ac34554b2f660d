import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTICLE } from './support/fixtures.js';
import { createTestApp, operatorHeaders } from './support/api.js';
import { listWorkflowIds, newEventsSecret, signedHeaders } from './support/edge.js';
import { startHarness, type Harness } from './support/harness.js';
import { uniqueId, waitFor } from './support/stack.js';
import type { StartedRun } from '../src/temporal/runs.js';

// Fault scenario 7: a sender that delivers the same thing many times at once (a retry storm, a
// webhook queue flushed after an outage). 50 identical deliveries arrive concurrently on each entry
// point; every one must be acknowledged, all must name the same run, and Temporal must hold
// exactly one execution of it. No worker runs, so the runs stay open while the test looks at them.

const BURST = 50;
const SECRET = newEventsSecret();

let h: Harness;
let app: ReturnType<typeof createTestApp>;
/** Every workflow id this file expects on its task queue. */
const started: string[] = [];

beforeAll(async () => {
  h = await startHarness({ worker: false, configOverrides: { EVENTS_SECRET: SECRET } });
  app = createTestApp(h);
});

afterAll(async () => {
  await h?.stop();
});

/** Fires `BURST` copies of one request at the same time; every answer must be 2xx. */
async function burst(send: () => Response | Promise<Response>): Promise<unknown[]> {
  const answers = await Promise.all(Array.from({ length: BURST }, () => Promise.resolve(send())));
  const bodies = await Promise.all(answers.map(async (res) => ({ status: res.status, body: await res.json() })));
  expect(bodies.filter((b) => b.status < 200 || b.status > 299)).toEqual([]);
  return bodies.map((b) => b.body);
}

/**
 * The answers name one run, exactly one of them as the start and the rest as duplicates, and
 * Temporal holds exactly one execution of that id: listed once on the task queue, counted once
 * among all executions (closed ones included), and described as that same run, still open.
 */
async function expectOneRun(runs: StartedRun[]): Promise<string> {
  const workflowId = runs[0]!.workflowId;
  expect(new Set(runs.map((r) => `${r.workflowId} ${r.runId}`)).size).toBe(1);
  expect(runs.filter((r) => !r.duplicate)).toHaveLength(1);

  // Visibility is eventually consistent: wait until it lists the run, then it must be the only one.
  const byId = `WorkflowId = '${workflowId}'`;
  const listed = await waitFor(async () => {
    const ids = await listWorkflowIds(h, byId);
    return ids.length > 0 && ids;
  }, { timeoutMs: 30_000, intervalMs: 100, description: `visibility to list ${workflowId}` });
  expect(listed).toEqual([workflowId]);
  expect((await h.client.workflow.count(byId)).count).toBe(1);
  const description = await h.client.workflow.getHandle(workflowId).describe();
  expect({ runId: description.runId, status: description.status.name }).toEqual({ runId: runs[0]!.runId, status: 'RUNNING' });

  started.push(workflowId);
  return workflowId;
}

describe(`${BURST} identical deliveries at once`, () => {
  it('S3 notifications for one upload: all 202, one ingest run', async () => {
    const key = `burst/${uniqueId('s3')}.txt`;
    const { etag } = await h.put(key, ARTICLE, 'text/plain');
    const record = { eventName: 's3:ObjectCreated:Put', s3: { bucket: { name: h.bucket }, object: { key: encodeURIComponent(key), eTag: etag, size: ARTICLE.length } } };
    const body = JSON.stringify({ EventName: 's3:ObjectCreated:Put', Key: `${h.bucket}/${key}`, Records: [record] });
    const headers = { authorization: `Bearer ${h.config.WEBHOOK_TOKEN}`, 'content-type': 'application/json' };

    const answers = (await burst(() => app.request('/api/v1/events/s3', { method: 'POST', headers, body }))) as Array<{ workflows: StartedRun[] }>;
    for (const answer of answers) expect(answer.workflows).toHaveLength(1);
    const workflowId = await expectOneRun(answers.map((a) => a.workflows[0]!));
    expect(workflowId).toBe(`ingest:${h.bucket}/${key}@${etag}`);
  });

  it('signed asset.uploaded events with one event_id: all 202, one ingest run', async () => {
    const key = `burst/${uniqueId('event')}.txt`;
    await h.put(key, ARTICLE, 'text/plain');
    const eventId = uniqueId('evt');
    const body = JSON.stringify({
      schema_version: '1',
      event_id: eventId,
      event_type: 'asset.uploaded',
      source: 'tests/burst',
      timestamp: new Date().toISOString(),
      payload: { bucket: h.bucket, key },
    });
    // One delivery repeated: the same webhook-id, timestamp and signature every time.
    const headers = signedHeaders(body, SECRET);

    const answers = (await burst(() => app.request('/api/v1/events', { method: 'POST', headers, body }))) as Array<StartedRun & { eventId: string }>;
    expect(new Set(answers.map((a) => a.eventId))).toEqual(new Set([eventId]));
    expect(await expectOneRun(answers)).toBe(`ingest:event:tests/burst/${eventId}`);
  });

  it('POST /api/v1/workflows/ingest with one Idempotency-Key: all 202, one run', async () => {
    const key = `burst/${uniqueId('api')}.txt`;
    await h.put(key, ARTICLE, 'text/plain');
    const idempotencyKey = uniqueId('idem');
    const headers = operatorHeaders(h, { 'idempotency-key': idempotencyKey });
    const body = JSON.stringify({ bucket: h.bucket, key });

    const answers = (await burst(() => app.request('/api/v1/workflows/ingest', { method: 'POST', headers, body }))) as StartedRun[];
    expect(await expectOneRun(answers)).toBe(`ingest:key:${idempotencyKey}`);
  });

  // Runs last: the bursts above left nothing else behind on the task queue.
  it('left exactly one workflow per burst on the task queue', async () => {
    expect(started).toHaveLength(3);
    expect(await listWorkflowIds(h)).toEqual([...started].sort());
    expect((await h.client.workflow.count(`TaskQueue = '${h.config.TEMPORAL_TASK_QUEUE}'`)).count).toBe(3);
  });
});
