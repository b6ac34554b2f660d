import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/lib/net.js';
import { MAX_EVENT_BYTES } from '../src/api/webhook-body.js';
import { PgObjectifyLoads } from '../src/db/objectify-loads.js';
import { encodeKey } from '../src/objectify/convert.js';
import { ingestWorkflowId } from '../src/contracts/ingest.js';
import { ARTICLE } from './support/fixtures.js';
import { createTestApp, operatorHeaders } from './support/api.js';
import { expectRefused, listWorkflowIds, newEventsSecret, signedHeaders } from './support/edge.js';
import { startHarness, type Harness } from './support/harness.js';
import { startEntry, stopEntry, untilApiReady } from './support/processes.js';
import { uniqueId, waitFor } from './support/stack.js';
import type { StartedRun } from '../src/temporal/runs.js';

// Bad input over HTTP, hand-picked (test/bad-input-property.test.ts generates it for the two
// webhooks): wrong content types, malformed JSON, oversized and endless bodies, odd S3 records,
// wrong credentials on every secured route and SQL-looking values in every string field. A refusal
// is a 4xx with exactly the uniform error body, never a 5xx, a stack trace or a server path; what
// is accepted is stored and returned literally. No worker runs: at the end the task queue must
// hold exactly the runs that the valid requests below started.

const SECRET = newEventsSecret();
// Mixed case, so that a change of case is a different key.
const API_KEY = `Op3rator-Key-${randomBytes(6).toString('hex')}`;
const S3_EVENTS = '/api/v1/events/s3';
const EVENTS = '/api/v1/events';
const MiB = 1024 * 1024;

let h: Harness;
let app: ReturnType<typeof createTestApp>;
/** Workflow ids that valid requests started; nothing else may appear on the task queue. */
const expectedRuns = new Set<string>();
let tablesBefore: string[];

beforeAll(async () => {
  h = await startHarness({ worker: false, configOverrides: { EVENTS_SECRET: SECRET, API_KEY } });
  app = createTestApp(h);
  tablesBefore = await tables();
});

afterAll(async () => {
  await h?.stop();
});

// ---------------------------------------------------------------------------------------------
// Requests

const request = (method: string, path: string, init: { headers?: Record<string, string>; body?: string | Uint8Array } = {}): Promise<Response> =>
  Promise.resolve(app.request(path, { method, ...init }));

const webhookHeaders = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${h.config.WEBHOOK_TOKEN}`, 'content-type': 'application/json', ...extra });
const postS3 = (body: string | Uint8Array, headers: Record<string, string> = webhookHeaders()) => request('POST', S3_EVENTS, { headers, body });
const postSigned = (body: string, extra: Record<string, string> = {}) => request('POST', EVENTS, { headers: { ...signedHeaders(body, SECRET), ...extra }, body });

/** An S3 notification with one ObjectCreated record; `rawKey` as S3 sends it (percent-encoded). */
function s3Notification(rawKey: string, etag: string, object: Record<string, unknown> = {}): string {
  return JSON.stringify({ Records: [{ eventName: 's3:ObjectCreated:Put', s3: { bucket: { name: h.bucket }, object: { key: rawKey, eTag: etag, ...object } } }] });
}

/** S3's key encoding: percent-encoded UTF-8, a space as `+`. */
const s3Encode = (key: string) => encodeURIComponent(key).replace(/%20/g, '+');

function eventBody(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    schema_version: '1',
    event_id: uniqueId('evt'),
    event_type: 'asset.uploaded',
    source: 'tests/bad-input-http',
    timestamp: new Date().toISOString(),
    payload: { bucket: h.bucket, key: 'events/doc.txt', etag: 'abc123' },
    ...fields,
  });
}

/** A 202 naming exactly one run; the run is recorded as expected on the task queue. */
async function startedOne(res: Response): Promise<StartedRun> {
  const text = await res.text();
  expect(res.status, text).toBe(202);
  const body = JSON.parse(text) as { workflows?: StartedRun[] } & Partial<StartedRun>;
  const run = body.workflows ? body.workflows[0] : (body as StartedRun);
  if (body.workflows) expect(body.workflows).toHaveLength(1);
  expectedRuns.add(run!.workflowId);
  return run!;
}

/** The object key an ingest run was started with, read back from its start event in Temporal. */
async function startedKey(workflowId: string): Promise<string> {
  const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
  const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return defaultPayloadConverter.fromPayload<{ key: string }>(input!).key;
}

async function tables(): Promise<string[]> {
  const { rows } = await h.pool.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [h.config.DATABASE_SCHEMA]);
  return rows.map((r) => r.table_name);
}

// ---------------------------------------------------------------------------------------------
// The operator routes that take a JSON body, each with a valid body naming things that do not
// exist: accepted, none starts or changes anything (the mapping spec is registered, idempotently).

interface JsonRoute {
  method: string;
  template: string;
  path: string;
  body: unknown;
}

type Operation = { security?: Array<Record<string, string[]>>; requestBody?: { content: Record<string, unknown> } };

async function openApiOperations(): Promise<Array<{ method: string; template: string; operation: Operation }>> {
  const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, Operation>> };
  return Object.entries(doc.paths).flatMap(([template, item]) => Object.entries(item).map(([method, operation]) => ({ method: method.toUpperCase(), template, operation })));
}

/** A documented path with plausible values for its parameters. */
function concretePath(template: string): string {
  const id = template.startsWith('/api/v1/connectors/')
    ? randomUUID()
    : template.startsWith('/api/v1/workflows/')
      ? encodeURIComponent(`ingest:${h.bucket}/missing.txt@0123abcd`)
      : '7';
  return template.replace('{id}', id).replace('{type}', 'country').replace('{key}', 'de');
}

function validBodies(): Record<string, unknown> {
  return {
    'POST /api/v1/workflows/ingest': { bucket: h.bucket, key: 'missing/doc.txt' },
    'POST /api/v1/workflows/objectify': { dataset: `s3://${h.bucket}/missing/data.csv`, mapping: '999999' },
    'POST /api/v1/mappings': { objectType: 'country', primaryKey: ['code'], fields: [{ source: 'alpha_2', property: 'code', type: 'string', required: true }] },
    'POST /api/v1/connectors': { name: 'probe', kind: 's3-prefix', config: { bucket: 'no-such-bucket-here', prefix: 'in/' }, schedule: { every: '1h' } },
    'PATCH /api/v1/connectors/{id}': { name: 'renamed' },
    'POST /api/v1/connectors/{id}/pause': { note: 'probe' },
    'POST /api/v1/connectors/{id}/resume': { note: 'probe' },
    'POST /api/v1/workflows/{id}/cancel': { mode: 'terminate', reason: 'probe' },
    'POST /api/v1/workflows/{id}/retry': { reason: 'probe' },
  };
}

/** Every documented operation with a JSON body; fails if one has no valid body above. */
async function jsonRoutes(): Promise<JsonRoute[]> {
  const bodies = validBodies();
  const routes = (await openApiOperations()).filter(({ template, operation }) => template !== S3_EVENTS && template !== EVENTS && operation.requestBody?.content['application/json']);
  expect(routes.map(({ method, template }) => `${method} ${template}`).sort()).toEqual(Object.keys(bodies).sort());
  return routes.map(({ method, template }) => ({ method, template, path: concretePath(template), body: bodies[`${method} ${template}`] }));
}

/** `text` as a body declared as `type`, or as bytes with no type at all (a string body would be text/plain). */
function typedBody(text: string, headers: Record<string, string>, type: string | undefined) {
  const others = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'content-type'));
  return type === undefined ? { headers: others, body: new TextEncoder().encode(text) } : { headers: { ...others, 'content-type': type }, body: text };
}

const sendTyped = (route: JsonRoute, text: string, type: string | undefined) => request(route.method, route.path, typedBody(text, { authorization: `Bearer ${API_KEY}` }, type));

const WRONG_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined];

describe('1. content types', () => {
  it('operator JSON routes answer 415 unsupported_media_type to a valid JSON body sent as text, form, multipart or untyped', async () => {
    for (const route of await jsonRoutes()) {
      const text = JSON.stringify(route.body);
      for (const type of WRONG_TYPES) await expectRefused(await sendTyped(route, text, type), 415, 'unsupported_media_type');
      // The control: the same body as JSON passes the type check and validation, and reaches the handler.
      const res = await sendTyped(route, text, 'application/json; charset=utf-8');
      expect([200, 201, 404, 422], `${route.method} ${route.path}: ${await res.clone().text()}`).toContain(res.status);
    }
  });

  it('the S3 webhook and the events endpoint take JSON whatever the declared type (AWS SNS sends text/plain)', async () => {
    // The body is parsed as JSON in any case and, for events, authenticated byte for byte; the
    // unsigned content type adds nothing, and refusing it would lose deliveries from such senders.
    const { etag } = await h.put('typed/doc.txt', ARTICLE, 'text/plain');
    const notification = s3Notification('typed/doc.txt', etag);
    const event = eventBody();
    for (const type of [...WRONG_TYPES, 'application/json']) {
      const s3 = await startedOne(await request('POST', S3_EVENTS, typedBody(notification, webhookHeaders(), type)));
      expect(s3.workflowId).toBe(`ingest:${h.bucket}/typed/doc.txt@${etag}`);
      const signed = await startedOne(await request('POST', EVENTS, typedBody(event, signedHeaders(event, SECRET), type)));
      expect(signed.workflowId).toMatch(/^ingest:event:tests\/bad-input-http\/evt-/);
    }
  });
});

/** The text cut at several points, and broken in several ways; every one is checked to be malformed. */
function malformed(valid: string): string[] {
  const n = valid.length;
  const cuts = [0, 1, 2, valid.indexOf('"') + 2, n >> 2, n >> 1, (3 * n) >> 2, n - 2, n - 1];
  const variants = [
    ...new Set(cuts.map((cut) => valid.slice(0, cut))),
    `${valid.slice(0, -1)},}`,
    valid.replaceAll('"', "'"),
    valid.replace(/"(\w+)":/, '$1:'),
    `${valid}}`,
    `${valid} {}`,
    `/* comment */ ${valid}`,
    `${valid.slice(0, -1)}, "extra": NaN}`,
    ' ',
  ];
  for (const text of variants) expect(() => void JSON.parse(text), text).toThrow();
  return variants;
}

describe('2. malformed JSON', () => {
  it('every JSON route answers 400 to malformed or truncated JSON', async () => {
    for (const route of await jsonRoutes()) {
      for (const text of malformed(JSON.stringify(route.body))) await expectRefused(await sendTyped(route, text, 'application/json'), 400, 'invalid_request');
    }
    const { etag } = await h.put('malformed/doc.txt', ARTICLE, 'text/plain');
    for (const text of malformed(s3Notification('malformed/doc.txt', etag))) await expectRefused(await postS3(text), 400, 'invalid_json');
    for (const text of malformed(eventBody())) await expectRefused(await postSigned(text), 400, 'invalid_json');
  });
});

/** `head` + padding + `tail`, exactly `bytes` long (all ASCII). */
const padded = (head: string, tail: string, bytes: number) => `${head}${'x'.repeat(bytes - head.length - tail.length)}${tail}`;

/**
 * Streams up to `total` bytes (64 KiB chunks, made as it goes) until the server answers, then
 * hangs up. Returns the answer and how many bytes had been written when it came.
 */
async function streamUntilAnswered(port: number, path: string, headers: Record<string, string>, total: number) {
  const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path, headers });
  const chunk = Buffer.alloc(64 * 1024, ' ');
  let written = 0;
  let answered = false;
  const response = new Promise<{ res: IncomingMessage; bytesWritten: number }>((resolve, reject) => {
    req.once('response', (res) => resolve({ res, bytesWritten: written }));
    req.on('error', reject);
  });
  void response.then(() => (answered = true), () => (answered = true));
  while (!answered && written < total) {
    written += chunk.length;
    if (!req.write(chunk)) await Promise.race([once(req, 'drain').catch(() => undefined), response.catch(() => undefined)]);
  }
  if (!answered) req.end();
  try {
    const { res, bytesWritten } = await response;
    let body = '';
    for await (const part of res) body += String(part);
    return { status: res.statusCode, body, bytesWritten };
  } finally {
    req.destroy();
  }
}

describe('3. body size', () => {
  it('the webhook and events endpoints answer 413 to 1 MiB + 1 byte, and judge exactly 1 MiB by its content', async () => {
    expect(MAX_EVENT_BYTES).toBe(MiB);
    const s3 = (bytes: number) => padded('{"Records":[],"pad":"', '"}', bytes);
    await expectRefused(await postS3(s3(MiB)), 400, 'invalid_event');
    await expectRefused(await postS3(s3(MiB + 1)), 413, 'payload_too_large');

    const event = (bytes: number) => padded(eventBody({ event_type: 'tests.padding' }).slice(0, -1) + ',"pad":"', '"}', bytes);
    await expectRefused(await postSigned(event(MiB)), 422, 'unknown_event_type');
    await expectRefused(await request('POST', EVENTS, { headers: { 'content-type': 'application/json' }, body: event(MiB) }), 401, 'invalid_signature');
    await expectRefused(await postSigned(event(MiB + 1)), 413, 'payload_too_large');
    await expectRefused(await request('POST', EVENTS, { headers: { 'content-type': 'application/json' }, body: event(MiB + 1) }), 413, 'payload_too_large');
  });

  it('a real api process answers a streamed 100 MiB body with 413 long before it is sent, and stays healthy', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const api = startEntry('src/api/main.ts', { ...h.config, PORT: port });
    const base = `http://127.0.0.1:${port}`;
    try {
      await untilApiReady(api, port);
      const total = 100 * MiB;
      const endpoints = [
        { path: S3_EVENTS, headers: { authorization: `Bearer ${h.config.WEBHOOK_TOKEN}`, 'content-type': 'application/json' } },
        { path: EVENTS, headers: signedHeaders('{}', SECRET) },
      ];
      for (const { path, headers } of endpoints) {
        // Chunked, so the server must count as it reads; then declared up front with content-length.
        for (const length of [{}, { 'content-length': String(total) }] as Array<Record<string, string>>) {
          const answer = await streamUntilAnswered(port, path, { ...headers, ...length }, total);
          expect({ path, ...length, status: answer.status, code: (JSON.parse(answer.body) as { error: { code: string } }).error.code }).toEqual({ path, ...length, status: 413, code: 'payload_too_large' });
          expect(answer.bytesWritten, `${path}: bytes sent before the answer`).toBeLessThan(16 * MiB);
          expect((await fetch(`${base}/healthz`)).status).toBe(200);
        }
      }
      // Still serving real requests.
      const test = await fetch(`${base}${S3_EVENTS}`, { method: 'POST', headers: endpoints[0]!.headers, body: JSON.stringify({ Event: 's3:TestEvent' }) });
      expect(test.status).toBe(202);
    } finally {
      expect(await stopEntry(api), api.output()).toBe(0);
    }
  });
});

/** A key of exactly `bytes` UTF-8 bytes: two-byte characters in segments of 200 bytes (MinIO's limit per segment is 255). */
function keyOfBytes(bytes: number): string {
  const segment = `${'é'.repeat(100)}/`;
  let key = `long/${uniqueId('k')}/`;
  while (Buffer.byteLength(key + segment) < bytes) key += segment;
  return key + 'a'.repeat(bytes - Buffer.byteLength(key));
}

describe('4. S3 notification records', () => {
  it('refuses records with missing fields, absurd sizes or a NUL in the key (400 invalid_event)', async () => {
    const record = () => ({ eventName: 's3:ObjectCreated:Put', s3: { bucket: { name: h.bucket }, object: { key: 'odd/doc.txt', eTag: 'abc123', size: 10 } } });
    type S3Record = ReturnType<typeof record>;
    const defects: Array<[string, (r: S3Record) => unknown]> = [
      ['no eventName', (r) => ({ s3: r.s3 })],
      ['no s3', (r) => ({ eventName: r.eventName })],
      ['no bucket', (r) => ({ ...r, s3: { object: r.s3.object } })],
      ['no bucket name', (r) => ({ ...r, s3: { ...r.s3, bucket: {} } })],
      ['no object', (r) => ({ ...r, s3: { bucket: r.s3.bucket } })],
      ['no key', (r) => ({ ...r, s3: { ...r.s3, object: { eTag: 'abc123' } } })],
      ['neither eTag nor versionId', (r) => ({ ...r, s3: { ...r.s3, object: { key: 'odd/doc.txt' } } })],
      ...[-1, 1e30, 'NaN', Number.MAX_SAFE_INTEGER + 2, 1.5, '10'].map((size): [string, (r: S3Record) => unknown] => [`size ${size}`, (r) => ({ ...r, s3: { ...r.s3, object: { ...r.s3.object, size } } })]),
      ...['odd/%00.txt', 'odd/\u0000.txt', '%00', 'odd%2F%00%2F..%2Fx'].map((key): [string, (r: S3Record) => unknown] => [`key ${JSON.stringify(key)}`, (r) => ({ ...r, s3: { ...r.s3, object: { ...r.s3.object, key } } })]),
    ];
    for (const [name, defect] of defects) {
      const res = await postS3(JSON.stringify({ Records: [defect(record())] }));
      expect(res.status, name).toBe(400);
      await expectRefused(res, 400, 'invalid_event');
    }
    // Not JSON at all: NaN and Infinity are JavaScript, not JSON.
    for (const size of ['NaN', 'Infinity', '-Infinity']) await expectRefused(await postS3(s3Notification('odd/doc.txt', 'abc123').replace('"eTag"', `"size":${size},"eTag"`)), 400, 'invalid_json');
  });

  it('takes keys with ../ as data: the run names the key exactly, never a normalised path', async () => {
    // S3 keys are names, not paths (AWS allows these; the worker never makes a file path of one).
    for (const key of ['../../etc/passwd', 'a/../b.txt', './x.txt', 'dir/..']) {
      const run = await startedOne(await postS3(s3Notification(s3Encode(key), 'abc123')));
      expect(run.workflowId).toBe(ingestWorkflowId({ bucket: h.bucket, key, etag: 'abc123' }));
      expect(await startedKey(run.workflowId)).toBe(key);
    }
  });

  it('starts a run for a key of exactly 1,024 UTF-8 bytes and refuses 1,025 bytes (400), as S3 does', async () => {
    const key = keyOfBytes(1024);
    expect(Buffer.byteLength(key)).toBe(1024);
    const { etag } = await h.put(key, ARTICLE, 'text/plain');
    const run = await startedOne(await postS3(s3Notification(s3Encode(key), etag)));
    expect(run).toMatchObject({ workflowId: ingestWorkflowId({ bucket: h.bucket, key, etag }), duplicate: false });
    expect(await startedKey(run.workflowId)).toBe(key);

    const tooLong = keyOfBytes(1025);
    expect(Buffer.byteLength(tooLong)).toBe(1025);
    await expectRefused(await postS3(s3Notification(s3Encode(tooLong), etag)), 400, 'invalid_event');
  });

  it('keeps Unicode normalisation forms apart: NFC café.txt and NFD café.txt are two objects, two runs', async () => {
    const nfc = 'unicode/caf\u00e9.txt';
    const nfd = 'unicode/cafe\u0301.txt';
    expect(nfc.normalize('NFC')).toBe(nfd.normalize('NFC'));
    const keys = [nfc, nfd];
    const runs: StartedRun[] = [];
    for (const [i, key] of keys.entries()) {
      const { etag } = await h.put(key, `${ARTICLE} Version ${i}.`, 'text/plain');
      const run = await startedOne(await postS3(s3Notification(s3Encode(key), etag)));
      expect(run).toMatchObject({ workflowId: ingestWorkflowId({ bucket: h.bucket, key, etag }), duplicate: false });
      expect([...(await startedKey(run.workflowId))]).toEqual([...key]);
      runs.push(run);
    }
    expect(runs[0]!.workflowId).not.toBe(runs[1]!.workflowId);
  });
});

describe('5. credentials', () => {
  it('every secured operation in /openapi.json answers 401 to a missing, wrong or almost-right credential', async () => {
    const operations = await openApiOperations();
    // Every route under /api/v1 declares how it is secured.
    expect(operations.filter(({ template, operation }) => template.startsWith('/api/v1/') && !operation.security?.length).map(({ method, template }) => `${method} ${template}`)).toEqual([]);

    const bodies = validBodies();
    const tokens = { operatorApiKey: API_KEY, webhookToken: h.config.WEBHOOK_TOKEN };
    const { etag } = await h.put('auth/doc.txt', ARTICLE, 'text/plain');
    const signedEvent = eventBody({ payload: { bucket: h.bucket, key: 'auth/doc.txt', etag } });
    let checked = 0;
    for (const { method, template, operation } of operations.filter(({ operation: o }) => o.security?.length)) {
      const scheme = Object.keys(operation.security![0]!)[0]!;
      const path = concretePath(template);
      // What the route would accept: a notification or event that starts a run, or a valid body.
      const body = template === S3_EVENTS ? s3Notification('auth/doc.txt', etag) : template === EVENTS ? signedEvent : bodies[`${method} ${template}`];
      const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const send = (headers: Record<string, string>) => request(method, path, { headers: text === undefined ? headers : { 'content-type': 'application/json', ...headers }, body: text });

      if (scheme === 'webhookSignature') {
        const right = signedHeaders(signedEvent, SECRET);
        const signature = right['webhook-signature']!;
        const wrong: Array<Record<string, string>> = [
          {},
          { authorization: `Bearer ${API_KEY}` },
          { authorization: `Bearer ${h.config.WEBHOOK_TOKEN}` },
          signedHeaders(signedEvent, newEventsSecret()),
          signedHeaders(eventBody(), SECRET),
          signedHeaders(signedEvent, SECRET, { timestamp: Math.floor(Date.now() / 1000) - 3600 }),
          { ...right, 'webhook-signature': signature.replace('v1,', 'V1,') },
          { ...right, 'webhook-signature': `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}` },
          { ...right, 'webhook-id': `${right['webhook-id']}x` },
        ];
        for (const headers of wrong) await expectRefused(await send(headers), 401, 'invalid_signature');
        checked += 1;
        continue;
      }

      const token = tokens[scheme as keyof typeof tokens];
      expect(token, `${method} ${template}: unknown security scheme ${scheme}`).toBeDefined();
      const other = scheme === 'webhookToken' ? API_KEY : h.config.WEBHOOK_TOKEN;
      const changed = `${token.slice(0, -1)}${token.endsWith('a') ? 'b' : 'a'}`;
      const swappedCase = [...token].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
      const authorizations: Array<string | undefined> = [
        undefined,
        'Bearer wrong',
        `Basic ${Buffer.from(`user:${token}`).toString('base64')}`,
        `Basic ${token}`,
        token,
        `Bearer ${swappedCase}`,
        `Bearer ${token.toUpperCase()}`,
        `Bearer ${token.toLowerCase()}`,
        `Bearer ${token.slice(0, 4)} ${token.slice(4)}`,
        `Bearer\t${token}`,
        `Bearer${token}`,
        `Bearer\u00a0${token}`,
        `Bearer "${token}"`,
        `Bearer ${changed}`,
        `Bearer ${token}x`,
        `Bearer ${token.slice(0, -1)}`,
        `Bearer ${other}`,
      ];
      // A token that is all one case is its own upper- or lower-case form: only the others are wrong.
      for (const authorization of authorizations.filter((a) => a !== `Bearer ${token}`)) {
        const res = await send(authorization === undefined ? {} : { authorization });
        expect(res.headers.get('www-authenticate'), `${method} ${template} with ${JSON.stringify(authorization)}`).toMatch(/^Bearer realm=/);
        await expectRefused(res, 401, 'unauthorized');
      }
      checked += 1;
    }
    expect(checked).toBeGreaterThan(20);
  });
});

// ---------------------------------------------------------------------------------------------

const SQLISH = [`'; DROP TABLE assets; --`, `" OR 1=1 --`, '\\x00', '$1', `%' OR '%'='`, 'nul\u0000byte', `Robert'); DELETE FROM mappings; --`];
const query = (params: Record<string, string>) => new URLSearchParams(params).toString();
/** Those a header can carry, and Postgres text can hold: all but the one with a NUL. */
const SQLISH_NO_NUL = SQLISH.filter((v) => !v.includes('\u0000'));

describe('6. SQL-looking values are refused or kept literally', () => {
  it('in the filters of GET /api/v1/workflows and other query parameters (400)', async () => {
    const params = ['pipeline', 'status', 'source', 'stage', 'startedAfter', 'startedBefore', 'pageSize', 'pageToken'];
    const get = (path: string) => request('GET', path, { headers: operatorHeaders(h) });
    for (const value of SQLISH) {
      for (const name of params) await expectRefused(await get(`/api/v1/workflows?${query({ [name]: value })}`), 400, ['invalid_request', 'invalid_page_token']);
      await expectRefused(await get(`/api/v1/mappings?${query({ objectType: value })}`), 400, 'invalid_request');
      await expectRefused(await get(`/api/v1/objects/country?${query({ version: value })}`), 400, 'invalid_request');
      await expectRefused(await get(`/api/v1/objects/country?${query({ cursor: value })}`), 400, 'invalid_request');
    }
  });

  it('in path ids: workflow, mapping, connector, dataset and object type ids are not found or refused', async () => {
    const call = (method: string, path: string) => request(method, path, { headers: { authorization: `Bearer ${API_KEY}` } });
    for (const value of SQLISH) {
      const id = encodeURIComponent(value);
      for (const [method, path] of [['GET', ''], ['GET', '/history'], ['GET', '/stream'], ['POST', '/cancel'], ['POST', '/retry']] as const) {
        await expectRefused(await call(method, `/api/v1/workflows/${id}${path}`), [400, 404], ['workflow_not_found', 'invalid_request']);
      }
      await expectRefused(await call('GET', `/api/v1/mappings/${id}`), [400, 404], ['mapping_not_found', 'invalid_request']);
      await expectRefused(await call('GET', `/api/v1/datasets/${id}`), [400, 404], ['dataset_not_found', 'invalid_request']);
      for (const [method, path] of [['GET', ''], ['DELETE', ''], ['POST', '/sync'], ['POST', '/pause'], ['POST', '/resume']] as const) {
        await expectRefused(await call(method, `/api/v1/connectors/${id}${path}`), [400, 404], ['connector_not_found', 'invalid_request']);
      }
      await expectRefused(await call('GET', `/api/v1/objects/${id}`), 400, 'invalid_request');
      await expectRefused(await call('GET', `/api/v1/objects/${id}/de`), 400, 'invalid_request');
    }
  });

  it('in object keys: published objects keyed by such values are found by them, literally', async () => {
    const spec = { objectType: 'sqlish-objects', primaryKey: ['name'], fields: [{ source: 'name', property: 'name', type: 'string', required: true }] };
    const registered = await request('POST', '/api/v1/mappings', { headers: operatorHeaders(h), body: JSON.stringify(spec) });
    expect(registered.status).toBe(201);
    const mapping = (await registered.json()) as { id: string };

    // Publish a load the way objectify does, with the values as primary keys (Postgres text holds no NUL).
    const loads = new PgObjectifyLoads(h.pool);
    const { datasetVersionId } = await loads.registerDatasetVersion({ bucket: h.bucket, key: 'sqlish.csv', version: 'v1', etag: 'e1', sizeBytes: 1, format: 'csv', gzip: false });
    const { loadId } = await loads.open({ datasetVersionId, mappingId: mapping.id, objectType: spec.objectType, workflowId: 'objectify:test' });
    await loads.writeBatch(loadId, SQLISH_NO_NUL.map((name) => ({ key: encodeKey([name]), properties: { name } })), []);
    await loads.publish(loadId, { rowsRead: SQLISH_NO_NUL.length });

    const get = (path: string) => request('GET', path, { headers: { authorization: `Bearer ${API_KEY}` } });
    for (const name of SQLISH_NO_NUL) {
      const res = await get(`/api/v1/objects/${spec.objectType}/${encodeURIComponent(encodeKey([name]))}`);
      expect(res.status, name).toBe(200);
      expect(await res.json()).toMatchObject({ key: encodeKey([name]), properties: { name } });
    }
    await expectRefused(await get(`/api/v1/objects/${spec.objectType}/${encodeURIComponent('nul\u0000byte')}`), [400, 404], ['object_not_found', 'invalid_request']);
    const list = (await (await get(`/api/v1/objects/${spec.objectType}?limit=1000`)).json()) as { objects: Array<{ properties: { name: string } }> };
    expect(list.objects.map((o) => o.properties.name).sort()).toEqual(SQLISH_NO_NUL.toSorted());
    // A page cursor is the last key, base64url-encoded: one made from such a value is just a position.
    for (const value of SQLISH) {
      const res = await get(`/api/v1/objects/${spec.objectType}?cursor=${Buffer.from(value).toString('base64url')}`);
      if (res.status !== 200) await expectRefused(res, 400, 'invalid_request');
    }
  });

  it('in the Idempotency-Key: refused (400) or the literal name of one run', async () => {
    await h.put('idem/doc.txt', ARTICLE, 'text/plain');
    const start = (key: string) => request('POST', '/api/v1/workflows/ingest', { headers: operatorHeaders(h, { 'idempotency-key': key }), body: JSON.stringify({ bucket: h.bucket, key: 'idem/doc.txt' }) });
    for (const value of SQLISH_NO_NUL) {
      const res = await start(value);
      if (res.status !== 202) {
        await expectRefused(res, 400, 'invalid_request');
        continue;
      }
      const run = await startedOne(res);
      expect(run.workflowId).toBe(`ingest:key:${value}`);
      expect(await (await start(value)).json()).toEqual({ ...run, duplicate: true });
    }
  });

  it('in mapping specs: objectType and property names are refused, source names are stored literally', async () => {
    const register = (spec: unknown) => request('POST', '/api/v1/mappings', { headers: operatorHeaders(h), body: JSON.stringify(spec) });
    const spec = (objectType: string, property: string, source: string) => ({ objectType, primaryKey: [property], fields: [{ source, property, type: 'string' }] });
    for (const value of SQLISH) {
      await expectRefused(await register(spec(value, 'name', 'name')), 400, 'invalid_request');
      await expectRefused(await register(spec('sqlish', value, 'name')), 400, 'invalid_request');
      const res = await register(spec('sqlish', 'name', value));
      if (res.status !== 201) {
        await expectRefused(res, 400, 'invalid_request');
        continue;
      }
      const { id } = (await res.json()) as { id: string };
      const back = (await (await request('GET', `/api/v1/mappings/${id}`, { headers: operatorHeaders(h) })).json()) as { spec: { fields: Array<{ source: string }> } };
      expect(back.spec.fields[0]!.source).toBe(value);
    }
  });

  it('in connector names and configs: stored and returned literally, or refused', async () => {
    const call = (method: string, path: string, body?: unknown) => request(method, path, { headers: operatorHeaders(h), body: body === undefined ? undefined : JSON.stringify(body) });
    for (const value of SQLISH) {
      const definition = { name: value, kind: 's3-prefix', config: { bucket: h.bucket, prefix: value, suffix: value }, schedule: { every: '1h' } };
      const res = await call('POST', '/api/v1/connectors', definition);
      if (res.status !== 201) {
        await expectRefused(res, 400, 'invalid_request');
        continue;
      }
      const { id } = (await res.json()) as { id: string };
      expect(await (await call('GET', `/api/v1/connectors/${id}`)).json()).toMatchObject({ name: value, config: { bucket: h.bucket, prefix: value, suffix: value } });
      expect(await (await call('PATCH', `/api/v1/connectors/${id}`, { name: `${value} (2)` })).json()).toMatchObject({ name: `${value} (2)` });
      expect((await call('DELETE', `/api/v1/connectors/${id}`)).status).toBe(204);
    }
  });

  it('in signed events: a source is refused, an event type is unknown, an event id names its run literally', async () => {
    for (const value of SQLISH) {
      await expectRefused(await postSigned(eventBody({ source: value })), 400, 'invalid_event');
      await expectRefused(await postSigned(eventBody({ event_type: value })), 422, 'unknown_event_type');
      const res = await postSigned(eventBody({ event_id: value }));
      if (res.status !== 202) {
        await expectRefused(res, 400, 'invalid_event');
        continue;
      }
      const run = await startedOne(res);
      expect(run.workflowId).toBe(`ingest:event:tests/bad-input-http/${value}`);
      const history = await request('GET', `/api/v1/workflows/${encodeURIComponent(run.workflowId)}/history`, { headers: operatorHeaders(h) });
      expect(await history.json()).toMatchObject({ workflowId: run.workflowId, runId: run.runId, status: 'RUNNING' });
    }
  });

  it('left the schema whole: every table is there, holding only what was accepted', async () => {
    expect(await tables()).toEqual(tablesBefore);
    const count = async (sql: string) => Number((await h.pool.query<{ n: string }>(sql)).rows[0]!.n);
    expect(await count('SELECT count(*) AS n FROM assets')).toBe(0);
    expect(await count('SELECT count(*) AS n FROM connectors')).toBe(0);
    expect(await count('SELECT count(*) AS n FROM objects')).toBe(SQLISH_NO_NUL.length);
    const sources = await h.pool.query<{ source: string }>(`SELECT spec->'fields'->0->>'source' AS source FROM mappings WHERE object_type = 'sqlish' ORDER BY id`);
    expect(sources.rows.map((r) => r.source).sort()).toEqual(SQLISH_NO_NUL.toSorted());
  });
});

// Runs last: every request above has been answered.
it('started no workflow but those of the valid requests; a stray start would have been listed', async () => {
  // The control: a valid notification, started last; once visibility lists it, it lists the earlier ones too.
  const control = await startedOne(await postS3(s3Notification(uniqueId('control'), 'abc123')));
  const ids = await waitFor(async () => {
    const listed = await listWorkflowIds(h);
    return listed.includes(control.workflowId) && listed;
  }, { timeoutMs: 30_000, intervalMs: 200, description: 'the control run to be listed' });
  expect(ids).toEqual([...expectedRuns].sort());
});
