// POST /api/v1/events on the real Temporal, MinIO and Postgres, through app.request().
import { createHmac, randomBytes } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/common';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../../test/support/harness.js';
import { ARTICLE } from '../../../test/support/fixtures.js';
import { uniqueId } from '../../../test/support/stack.js';
import { PgMappingRepository } from '../../db/mappings.js';
import { eventWorkflowId } from '../../contracts/common.js';
import { createTestApp } from '../../../test/support/api.js';
import { MAX_EVENT_BYTES } from '../webhook-body.js';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const SOURCE = 'tests/events';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

let h: Harness;
let app: ReturnType<typeof createTestApp>;
const logLines: string[] = [];

beforeAll(async () => {
  h = await startHarness({ configOverrides: { EVENTS_SECRET: SECRET } });
  app = createTestApp(h, { log: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }) });
});

afterAll(async () => {
  await h?.stop();
});

/** Standard Webhooks headers made with node:crypto, independently of the library the api uses. */
function signedHeaders(body: string, options: { secret?: string; id?: string; timestamp?: number } = {}): Record<string, string> {
  const id = options.id ?? `msg_${randomBytes(8).toString('hex')}`;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const key = Buffer.from((options.secret ?? SECRET).slice('whsec_'.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
}

function envelope(payload: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return {
    schema_version: '1',
    event_id: uniqueId('evt'),
    event_type: 'asset.uploaded',
    source: SOURCE,
    timestamp: new Date().toISOString(),
    payload,
    ...overrides,
  };
}

const post = (body: string, headers: Record<string, string>) => app.request('/api/v1/events', { method: 'POST', body, headers });
const postSigned = (event: unknown, extra: Record<string, string> = {}) => {
  const body = JSON.stringify(event);
  return post(body, { ...signedHeaders(body), ...extra });
};

interface Accepted {
  eventId: string;
  eventType: string;
  pipeline: string;
  workflowId: string;
  runId: string;
  duplicate: boolean;
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.requestId.length).toBeGreaterThan(0);
  return body;
}

async function expectNoRun(eventId: string) {
  await expect(h.client.workflow.getHandle(eventWorkflowId('ingest', SOURCE, eventId)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

describe('POST /api/v1/events', () => {
  it('starts ingest for a signed asset.uploaded event, keeps its trace id, and collapses a redelivery', async () => {
    const key = 'events/article.txt';
    const { etag } = await h.put(key, ARTICLE, 'text/plain');
    const event = envelope({ bucket: h.bucket, key }, { trace_id: TRACE_ID });
    const body = JSON.stringify(event);
    const headers = signedHeaders(body);

    const res = await post(body, headers);
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as Accepted;
    expect(accepted).toEqual({
      eventId: event.event_id,
      eventType: 'asset.uploaded',
      pipeline: 'ingest',
      workflowId: eventWorkflowId('ingest', SOURCE, event.event_id),
      runId: expect.any(String) as unknown,
      duplicate: false,
    });

    const handle = h.client.workflow.getHandle(accepted.workflowId);
    await handle.result();
    const run = await handle.describe();
    expect(run.status.name).toBe('COMPLETED');
    expect(run.memo).toEqual({ traceId: TRACE_ID });
    // No versionId or etag in the payload: the api pinned the version that existed at the event.
    const { rows } = await h.pool.query<{ version: string; workflow_id: string }>('SELECT version, workflow_id FROM assets WHERE bucket = $1 AND key = $2', [h.bucket, key]);
    expect(rows).toEqual([{ version: etag, workflow_id: accepted.workflowId }]);

    // The same delivery again, and the sender's later retry signed anew: one run.
    const again = await post(body, headers);
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ ...accepted, duplicate: true });
    const retried = await postSigned(event);
    expect(await retried.json()).toEqual({ ...accepted, duplicate: true });

    const logged = logLines.filter((line) => line.includes(event.event_id)).join('\n');
    for (const field of [event.event_id, 'asset.uploaded', SOURCE, accepted.workflowId, TRACE_ID]) expect(logged).toContain(field);
    const allLogs = logLines.join('\n');
    expect(allLogs).not.toContain(SECRET.slice('whsec_'.length));
    expect(allLogs).not.toContain(headers['webhook-signature']!.slice(3));
  });

  it('takes the trace id from traceparent when the event has none, and uses the given version', async () => {
    const key = 'events/traced.txt';
    const { etag } = await h.put(key, ARTICLE, 'text/plain');
    const event = envelope({ bucket: h.bucket, key, etag, contentType: 'text/plain' });
    const traceId = randomBytes(16).toString('hex');
    const res = await postSigned(event, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(res.status).toBe(202);
    const { workflowId } = (await res.json()) as Accepted;
    const handle = h.client.workflow.getHandle(workflowId);
    await handle.result();
    expect((await handle.describe()).memo).toEqual({ traceId });
  });

  describe('answers 401 and starts nothing', () => {
    let key: string;
    beforeAll(async () => {
      key = 'events/unsigned.txt';
      await h.put(key, ARTICLE, 'text/plain');
    });

    it.each([
      ['a tampered body', (body: string) => ({ body: body.replace('"schema_version":"1"', '"schema_version":"1.0"'), headers: signedHeaders(body) })],
      ['a wrong secret', (body: string) => ({ body, headers: signedHeaders(body, { secret: `whsec_${randomBytes(24).toString('base64')}` }) })],
      ['a stale timestamp', (body: string) => ({ body, headers: signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000) - 301 }) })],
      ['a future timestamp', (body: string) => ({ body, headers: signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000) + 301 }) })],
      ['no signature headers', (body: string) => ({ body, headers: { 'content-type': 'application/json' } })],
      ['the operator API key instead', (body: string) => ({ body, headers: { 'content-type': 'application/json', authorization: `Bearer ${h.config.API_KEY}` } })],
    ])('for %s', async (_name, make) => {
      const event = envelope({ bucket: h.bucket, key });
      const { body, headers } = make(JSON.stringify(event));
      const res = await expectError(await post(body, headers), 401, 'invalid_signature');
      expect(res.error.message).not.toMatch(/secret|whsec/i);
      await expectNoRun(event.event_id);
    });
  });

  it('starts objectify for a signed dataset.objectify.requested event', async () => {
    await h.put('events/regions.csv', 'code,name\nn,North\ns,South\n', 'text/csv');
    const { mapping } = await new PgMappingRepository(h.pool).register({
      objectType: 'region',
      primaryKey: ['code'],
      strict: false,
      fields: [
        { source: 'code', property: 'code', type: 'string', required: true, transform: ['uppercase'] },
        { source: 'name', property: 'name', type: 'string', required: false, transform: [] },
      ],
    });
    const event = envelope({ dataset: `s3://${h.bucket}/events/regions.csv`, mapping: mapping.id }, { event_type: 'dataset.objectify.requested' });
    const res = await postSigned(event);
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as Accepted;
    expect(accepted).toMatchObject({ pipeline: 'objectify', workflowId: eventWorkflowId('objectify', SOURCE, event.event_id), duplicate: false });
    expect(await h.client.workflow.getHandle(accepted.workflowId).result()).toMatchObject({ objectType: 'region', objects: 2 });
    const unknownMapping = envelope({ dataset: `s3://${h.bucket}/events/regions.csv`, mapping: '999999' }, { event_type: 'dataset.objectify.requested' });
    await expectError(await postSigned(unknownMapping), 422, 'mapping_not_found');
  });

  it('syncs a connector through its schedule for a signed connector.sync.requested event', async () => {
    const created = await app.request('/api/v1/connectors', {
      method: 'POST',
      headers: { authorization: `Bearer ${h.config.API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'event-driven', kind: 's3-prefix', config: { bucket: h.bucket, prefix: 'events/synced/' }, schedule: { every: '1d' } }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await h.put('events/synced/note.txt', 'A note that arrives between two scheduled syncs and is wanted now.', 'text/plain');

    const res = await postSigned(envelope({ connectorId: id }, { event_type: 'connector.sync.requested' }));
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as Accepted;
    expect(accepted).toMatchObject({ pipeline: 'connector-sync', duplicate: false });
    expect(accepted.workflowId.startsWith(`connector-sync:${id}-`)).toBe(true);
    expect(await h.client.workflow.getHandle(accepted.workflowId, accepted.runId).result()).toMatchObject({ kind: 's3-prefix', ingested: 1 });

    const missing = envelope({ connectorId: '00000000-0000-4000-8000-000000000000' }, { event_type: 'connector.sync.requested' });
    await expectError(await postSigned(missing), 422, 'connector_not_found');
    await expectError(await postSigned(envelope({ connectorId: 'x' }, { event_type: 'connector.sync.requested' })), 422, 'invalid_payload');
  });

  it('answers 422 for an event type no pipeline handles', async () => {
    for (const type of ['connector.sync', 'constructor', '__proto__']) {
      const event = envelope({ bucket: h.bucket, key: 'x.txt' }, { event_type: type });
      await expectError(await postSigned(event), 422, 'unknown_event_type');
    }
  });

  it('answers 400 for a signed body that is not JSON or not an envelope', async () => {
    const notJson = '{"schema_version": "1",';
    await expectError(await post(notJson, signedHeaders(notJson)), 400, 'invalid_json');
    const payload = { bucket: h.bucket, key: 'x.txt' };
    const bad: Record<string, unknown>[] = [
      { schema_version: '2' },
      { schema_version: '1.x' },
      { event_id: '' },
      { event_id: 'e'.repeat(201) },
      { source: 'has spaces' },
      { source: 's'.repeat(201) },
      { timestamp: 'yesterday' },
      { trace_id: 'not-a-trace-id' },
      { trace_id: '0'.repeat(32) },
      { payload: [payload] },
      { payload: 'text' },
    ];
    for (const overrides of bad) {
      const event = envelope(payload, overrides);
      await expectError(await postSigned(event), 400, 'invalid_event');
      await expectNoRun(event.event_id);
    }
    const noId: Record<string, unknown> = envelope(payload);
    delete noId.event_id;
    await expectError(await postSigned(noId), 400, 'invalid_event');
  });

  it('accepts a 1.x envelope with fields it does not know yet', async () => {
    const key = 'events/minor.txt';
    const { etag } = await h.put(key, ARTICLE, 'text/plain');
    const res = await postSigned(envelope({ bucket: h.bucket, key, etag }, { schema_version: '1.3', subject: 'added in 1.3' }));
    expect(res.status).toBe(202);
    await h.client.workflow.getHandle(((await res.json()) as Accepted).workflowId).result();
  });

  it('answers 422 for a payload its event type does not accept, or an object that does not exist', async () => {
    for (const payload of [{ bucket: h.bucket }, { bucket: h.bucket, key: 'x.txt', extra: true }, { bucket: h.bucket, key: 'x.txt', size: -1 }]) {
      const event = envelope(payload);
      await expectError(await postSigned(event), 422, 'invalid_payload');
      await expectNoRun(event.event_id);
    }
    const missing = envelope({ bucket: h.bucket, key: 'events/never-uploaded.txt' });
    await expectError(await postSigned(missing), 422, 'object_not_found');
    await expectNoRun(missing.event_id);
  });

  it('answers 413 above 1 MiB, before looking at the signature', async () => {
    const event = envelope({ bucket: h.bucket, key: 'x.txt' }, { pad: 'x'.repeat(MAX_EVENT_BYTES) });
    await expectError(await postSigned(event), 413, 'payload_too_large');
    await expectError(await post(JSON.stringify(event), { 'content-type': 'application/json' }), 413, 'payload_too_large');
  });

  it('is documented in the OpenAPI document with its signature scheme, next to the S3 route', async () => {
    const doc = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'Harvester', version: '1' } });
    expect(doc.paths?.['/api/v1/events']?.post?.security).toEqual([{ webhookSignature: [] }]);
    expect(doc.components?.securitySchemes?.webhookSignature).toMatchObject({ type: 'apiKey', in: 'header', name: 'webhook-signature' });
    expect(doc.components?.schemas?.EventEnvelope).toBeDefined();
    // The S3 route shares the prefix and still answers.
    const s3 = await app.request('/api/v1/events/s3', { method: 'POST', body: '{}', headers: { authorization: `Bearer ${h.config.WEBHOOK_TOKEN}` } });
    expect(s3.status).toBe(400);
  });
});
