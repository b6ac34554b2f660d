import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EVENT_BYTES } from '../src/api/webhook-body.js';
import { TOLERANCE_SECONDS } from '../src/events/signature.js';
import { createTestApp } from './support/api.js';
import { expectNoInternals, expectRefused, newEventsSecret, signedHeaders } from './support/edge.js';
import { startHarness, type Harness } from './support/harness.js';
import { uniqueId, waitFor } from './support/stack.js';

// Property-based bad input for the two webhook entry points, on the real
// Temporal, MinIO and Postgres: POST /api/v1/events/s3 (bearer token) and POST /api/v1/events
// (Standard Webhooks signature). fast-check throws generated bodies and headers at them and every
// answer must be 2xx or 4xx, never 5xx; every refusal has exactly the uniform body
// { error: { code, message, requestId } } with no stack frame or server path in it; and invalid
// input starts no run: the status and code are checked per request (the primary check), and at the
// end the harness's task queue must hold no workflow at all (with a control showing that a real
// start would have been seen there). No worker runs: nothing needs to execute.
//
// Invalid bodies are built from a valid one plus one defect, so each expected answer is known by
// construction; where the valid base would start a run (an ObjectCreated record with an ETag, an
// asset.uploaded event with an etag), the defect alone is what must stop it.

const NUM_RUNS = 150;
const SECRET = newEventsSecret();
const OTHER_SECRET = newEventsSecret();
const S3_EVENTS = '/api/v1/events/s3';
const EVENTS = '/api/v1/events';
/** Stands for the harness's bucket in generated values, which exist before the harness does. */
const TEST_BUCKET = '<test bucket>';

let h: Harness;
let app: ReturnType<typeof createTestApp>;

beforeAll(async () => {
  h = await startHarness({ worker: false, configOverrides: { EVENTS_SECRET: SECRET } });
  app = createTestApp(h);
});

afterAll(async () => {
  await h?.stop();
});

// ---------------------------------------------------------------------------------------------
// Assertions

/** What a JSON endpoint must answer for text that is not a valid body: by whether it parses. */
function jsonRefusal(text: string): 'invalid_json' | 'invalid_event' {
  try {
    JSON.parse(text);
    return 'invalid_event';
  } catch {
    return 'invalid_json';
  }
}

// ---------------------------------------------------------------------------------------------
// Generic values

/** Printable ASCII without space: always a valid, untrimmed header value. */
const headerText = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const notAString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }));
const notAnObject = fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }));
const notANumber = fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }));
const longString = (min: number, max: number) => fc.integer({ min, max }).map((n) => 'x'.repeat(n));
/** Any JSON text, any JSON-able value, and plain text. */
const arbitraryText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.json(),
  fc.anything().map((value) => JSON.stringify(value) ?? 'undefined'),
);
const validBucket = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]$/);
const contentType = fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x');

const MISSING = Symbol('missing');
/** A field path and its replacement (MISSING deletes it). */
type Change = readonly [path: readonly string[], value: unknown];

/** A deep copy of `value` with `changes` applied. */
function withChanges<T>(value: T, changes: readonly Change[]): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  for (const [path, replacement] of changes) {
    let at = copy;
    for (const step of path.slice(0, -1)) at = at[step] as Record<string, unknown>;
    const last = path.at(-1)!;
    if (replacement === MISSING) delete at[last];
    // defineProperty: a key such as "__proto__" becomes an own property, as JSON.parse makes it.
    else Object.defineProperty(at, last, { value: replacement, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

const change = (path: readonly string[], value: fc.Arbitrary<unknown>): fc.Arbitrary<Change[]> => value.map((v) => [[path, v]]);

// ---------------------------------------------------------------------------------------------
// S3 notifications

const CREATE_EVENTS = ['ObjectCreated:Put', 'ObjectCreated:Post', 'ObjectCreated:Copy', 'ObjectCreated:CompleteMultipartUpload'];
const createEventName = fc.tuple(fc.boolean(), fc.constantFrom(...CREATE_EVENTS)).map(([minio, name]) => (minio ? `s3:${name}` : name));
/** Event names that create no content: removals, reads, metadata-only changes, and noise. */
const otherEventName = fc.oneof(
  fc.constantFrom(
    's3:ObjectRemoved:Delete',
    'ObjectRemoved:DeleteMarkerCreated',
    's3:ObjectCreated:PutTagging',
    's3:ObjectCreated:PutRetention',
    's3:ObjectCreated:PutLegalHold',
    'ObjectCreated:put',
    'ObjectCreated',
    's3:ObjectAccessed:Get',
    'ObjectRestore:Completed',
    's3:Replication:OperationFailedReplication',
  ),
  fc.string({ minLength: 1, maxLength: 128 }).filter((name) => !name.includes('ObjectCreated')),
);

/** A key as notifications carry it: percent-encoded, `+` for a space; traversal-looking keys included. */
const eventKey = fc
  .oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), fc.constantFrom('../../etc/passwd', 'a/../../b', './x', 'ü/日本 語.txt'))
  .filter((key) => !key.includes('\0'))
  .map((key) => encodeURIComponent(key).replace(/%20/g, '+'));

interface S3Record {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string; eTag?: string; versionId?: string; size?: number; contentType?: string } };
}

const s3Record = (eventName: fc.Arbitrary<string>, key: fc.Arbitrary<string>): fc.Arbitrary<S3Record> =>
  fc
    .record({
      eventName,
      bucket: validBucket,
      key,
      eTag: fc.stringMatching(/^[0-9a-f]{32}$/),
      versionId: fc.option(fc.uuid(), { nil: undefined }),
      size: fc.option(fc.nat(), { nil: undefined }),
      contentType: fc.option(fc.constantFrom('text/plain', 'application/pdf'), { nil: undefined }),
    })
    .map(({ eventName: name, bucket, key: k, ...object }) => ({ eventName: name, s3: { bucket: { name: bucket }, object: { key: k, ...object } } }));

/** Well-formed records that WOULD start an ingest run on their own. */
const createRecord = s3Record(createEventName, eventKey);
/** Well-formed records that create no content; their keys are never decoded, so anything goes. */
const ignoredRecord = s3Record(otherEventName, fc.oneof(eventKey, fc.string({ minLength: 1, maxLength: 200 }), fc.constantFrom('%', '%00', 'bad%E0%A4%A', '\u0000')));

const badBucketName = fc.oneof(
  fc.stringMatching(/^[a-z0-9]{0,2}$/),
  fc.stringMatching(/^[a-z0-9]{64,80}$/),
  fc.tuple(validBucket, fc.constantFrom('A', 'Z', '_', ' ', '/', '!', 'ü', '\u0000'), fc.nat()).map(([b, c, at]) => b.slice(0, at % b.length) + c + b.slice(at % b.length)),
  fc.tuple(validBucket, fc.constantFrom('-', '.')).map(([b, c]) => c + b),
  fc.tuple(validBucket, fc.constantFrom('-', '.')).map(([b, c]) => b + c),
  notAString,
);

/** Bad key endings that are not valid percent-encoded UTF-8, whatever precedes them. */
const BAD_ESCAPES = ['%', '%G0', '%e', '%C3', '%E2%82', '%FF', '%C0%AF', '%ED%A0%80'];

/** One defect, each enough on its own to make a create record (and so its notification) invalid. */
const recordDefect: fc.Arbitrary<Change[]> = fc.oneof(
  change(['eventName'], fc.oneof(fc.constant(MISSING), fc.constant(''), longString(129, 300), notAString)),
  change(['s3'], fc.oneof(fc.constant(MISSING), notAnObject)),
  change(['s3', 'bucket'], fc.oneof(fc.constant(MISSING), notAnObject)),
  change(['s3', 'bucket', 'name'], fc.oneof(fc.constant(MISSING), badBucketName)),
  change(['s3', 'object'], fc.oneof(fc.constant(MISSING), notAnObject)),
  change(['s3', 'object', 'key'], fc.oneof(fc.constant(MISSING), fc.constant(''), notAString, longString(3073, 4000))),
  // Decoded longer than S3's 1,024 bytes (ASCII, then two-byte characters).
  change(['s3', 'object', 'key'], fc.oneof(fc.integer({ min: 1025, max: 3072 }).map((n) => 'a'.repeat(n)), fc.integer({ min: 513, max: 1536 }).map((n) => 'ä'.repeat(n)))),
  change(['s3', 'object', 'key'], fc.tuple(eventKey, fc.constantFrom('%00', '\u0000'), fc.nat()).map(([k, nul, at]) => k.slice(0, at % (k.length + 1)) + nul + k.slice(at % (k.length + 1)))),
  change(['s3', 'object', 'key'], fc.tuple(eventKey, fc.constantFrom(...BAD_ESCAPES)).map(([k, bad]) => k + bad)),
  change(['s3', 'object', 'size'], fc.oneof(fc.integer({ min: -1e12, max: -1 }), fc.double({ min: 0.001, max: 1e9, noNaN: true }).filter((x) => !Number.isInteger(x)), fc.integer({ min: 5 * 1024 ** 4 + 1, max: Number.MAX_SAFE_INTEGER }), fc.constant(1e300), notANumber)),
  change(['s3', 'object', 'eTag'], fc.oneof(longString(129, 300), notAString)),
  change(['s3', 'object', 'versionId'], fc.oneof(longString(1025, 1500), notAString)),
  change(['s3', 'object', 'contentType'], fc.oneof(longString(257, 400), notAString)),
  // Nothing that names the version.
  fc.tuple(fc.constantFrom(MISSING, '', '""'), fc.constantFrom(MISSING, '', 'null')).map(([eTag, versionId]): Change[] => [
    [['s3', 'object', 'eTag'], eTag],
    [['s3', 'object', 'versionId'], versionId],
  ]),
);

const defectiveRecord = fc.tuple(createRecord, recordDefect).map(([record, defect]) => withChanges(record, defect));
const goodRecords = fc.array(fc.oneof(createRecord, ignoredRecord), { maxLength: 3 });

/** Notifications that must be refused as a whole: one bad record among good ones, or a bad frame. */
const invalidNotification = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(goodRecords, defectiveRecord, goodRecords).map(([before, bad, after]) => ({ Records: [...before, bad, ...after] })) },
  fc.constant({ Records: [] }),
  notAnObject.filter((v) => !Array.isArray(v)).map((Records) => ({ Records })),
  fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }).map((Records) => ({ Records })),
  ignoredRecord.map((record) => ({ Records: Array.from({ length: 1001 }, () => record) })),
  fc.array(createRecord, { minLength: 1, maxLength: 3 }),
  fc.array(createRecord, { minLength: 1, maxLength: 3 }).map((records) => ({ records })),
  fc.constantFrom({ Event: 's3:testevent' }, { Event: 'TestEvent' }, { EventName: 's3:ObjectCreated:Put', Key: 'bucket/key' }, {}),
);

/** Valid notifications that start nothing: test events, and records that create no content. */
const ignoredNotification = fc.oneof(
  fc.array(ignoredRecord, { minLength: 1, maxLength: 5 }).map((Records) => ({ Records })),
  fc.tuple(fc.array(ignoredRecord, { minLength: 1, maxLength: 3 }), validBucket).map(([Records, bucket]) => ({ EventName: 's3:ObjectRemoved:Delete', Key: `${bucket}/x`, Records })),
  validBucket.map((Bucket) => ({ Event: 's3:TestEvent', Bucket, Service: 'Amazon S3' })),
);

function postS3(body: string | Uint8Array, headers: Record<string, string | undefined>): Promise<Response> {
  const defined = Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return Promise.resolve(app.request(S3_EVENTS, { method: 'POST', body, headers: defined }));
}
const webhookAuth = () => `Bearer ${h.config.WEBHOOK_TOKEN}`;

describe('POST /api/v1/events/s3 with generated bodies', () => {
  it('answers 400 to any body that is not JSON or not an S3 notification', async () => {
    const body = fc.oneof(arbitraryText, fc.uint8Array({ maxLength: 300 }));
    await fc.assert(
      fc.asyncProperty(body, contentType, async (raw, type) => {
        const res = await postS3(raw, { authorization: webhookAuth(), 'content-type': type });
        // The handler reads UTF-8 text (invalid bytes become U+FFFD, a BOM is dropped).
        await expectRefused(res, 400, jsonRefusal(typeof raw === 'string' ? raw : new TextDecoder().decode(raw)));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('refuses a notification with one malformed record as a whole (400), whatever else it holds', async () => {
    await fc.assert(
      fc.asyncProperty(invalidNotification, async (notification) => {
        await expectRefused(await postS3(JSON.stringify(notification), { authorization: webhookAuth() }), 400, 'invalid_event');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('acknowledges test events and records that create no content with 202 and no workflow', async () => {
    await fc.assert(
      fc.asyncProperty(ignoredNotification, async (notification) => {
        const res = await postS3(JSON.stringify(notification), { authorization: webhookAuth() });
        const text = await res.text();
        expect(res.status, text).toBe(202);
        expectNoInternals(text);
        const ignored = 'Records' in notification ? notification.Records.map((r) => ({ eventName: r.eventName.replace(/^s3:/, ''), reason: expect.any(String) as unknown })) : [{ eventName: 's3:TestEvent', reason: 'test event' }];
        expect(JSON.parse(text)).toEqual({ workflows: [], ignored });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('answers 401 without the right bearer token, even to a notification that would start a run', async () => {
    // Placeholders, filled in per request: <token> is the webhook token, <TOKEN> the same upper-cased,
    // <token-1> one character short, <api-key> the operator API key. Random header values hold no
    // space, so they cannot spell "Bearer <token>" either.
    const authorization = fc.oneof(
      fc.constant(undefined),
      headerText,
      fc.tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER'), fc.constantFrom('<token>x', 'x<token>', '<TOKEN>', '<token-1>', '<api-key>')).map(([scheme, token]) => `${scheme} ${token}`),
      fc.constantFrom('Basic <token>', 'Token <token>', 'Bearer:<token>', 'Bearer\t<token>', '<token>'),
    );
    const fill = (value: string) => {
      const token = h.config.WEBHOOK_TOKEN;
      return value.replace('<token-1>', token.slice(0, -1)).replace('<TOKEN>', token.toUpperCase()).replace('<token>', token).replace('<api-key>', h.config.API_KEY);
    };
    const body = fc.oneof(createRecord.map((record) => JSON.stringify({ Records: [record] })), arbitraryText);
    await fc.assert(
      fc.asyncProperty(authorization, body, async (auth, raw) => {
        await expectRefused(await postS3(raw, { authorization: auth === undefined ? undefined : fill(auth), 'content-type': 'application/json' }), 401, 'unauthorized');
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Signed events

const KNOWN_TYPES = ['asset.uploaded', 'dataset.objectify.requested', 'connector.sync.requested'];
const utf8 = new TextEncoder();
const bytesOf = (text: string) => utf8.encode(text);

/** Standard Webhooks headers over the exact bytes, with this file's secret unless told otherwise. */
function signed(body: Uint8Array, options: { secret?: string; id?: string; timestamp?: number; scheme?: string } = {}): Record<string, string> {
  return signedHeaders(body, options.secret ?? SECRET, options);
}

function postEvent(body: Uint8Array, headers: Record<string, string | undefined>): Promise<Response> {
  const defined = Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return Promise.resolve(app.request(EVENTS, { method: 'POST', body, headers: defined }));
}
const postSigned = (body: Uint8Array) => postEvent(body, signed(body));

const isoTimestamp = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
const traceId = fc.stringMatching(/^[0-9a-f]{32}$/).filter((id) => !/^0+$/.test(id));
const EXAMPLE_FIELDS = { schema_version: '1', event_id: 'evt-example', source: 'tests/bad-input', timestamp: '2025-01-31T12:00:00Z' };
const envelopeFields = fc.record(
  {
    schema_version: fc.constantFrom('1', '1.0', '1.7'),
    event_id: fc.string({ minLength: 1, maxLength: 60 }),
    source: fc.stringMatching(/^[A-Za-z0-9._:/-]{1,40}$/),
    timestamp: isoTimestamp,
    trace_id: traceId,
  },
  { requiredKeys: ['schema_version', 'event_id', 'source', 'timestamp'] },
);

/** An asset.uploaded payload with an etag: the api starts ingest for it without looking first. */
const assetPayload = fc.record(
  {
    bucket: validBucket,
    key: fc.string({ minLength: 1, maxLength: 100 }),
    etag: fc.string({ minLength: 1, maxLength: 40 }),
    size: fc.nat(),
    contentType: fc.constantFrom('text/plain', 'text/csv'),
  },
  { requiredKeys: ['bucket', 'key', 'etag'] },
);
const objectifyPayload = fc.record(
  {
    dataset: fc.tuple(validBucket, fc.string({ minLength: 1, maxLength: 60 })).map(([bucket, key]) => `s3://${bucket}/${key}`),
    mapping: fc.stringMatching(/^[1-9][0-9]{0,17}$/),
    etag: fc.string({ minLength: 1, maxLength: 40 }),
    maxRejectRatio: fc.double({ min: 0, max: 1, noNaN: true }),
  },
  { requiredKeys: ['dataset', 'mapping'] },
);
const syncPayload = fc.uuid({ version: 4 }).map((connectorId) => ({ connectorId }));

const envelope = (eventType: fc.Arbitrary<unknown>, payload: fc.Arbitrary<unknown>) =>
  fc.tuple(envelopeFields, eventType, payload).map(([fields, event_type, p]) => ({ ...fields, event_type, payload: p }));

/** A valid asset.uploaded event: accepted, it would start an ingest run. */
const startingEvent = envelope(fc.constant('asset.uploaded'), assetPayload);

/** One envelope defect, each enough to be refused as invalid_event. */
const envelopeDefect: fc.Arbitrary<Change[]> = fc.oneof(
  change(['schema_version'], fc.oneof(fc.constantFrom(MISSING, '', '2', '1.', '1.x', '01', ' 1', '1.0.0', 'v1'), notAString)),
  change(['event_id'], fc.oneof(fc.constantFrom(MISSING, ''), longString(201, 300), notAString)),
  change(['event_type'], fc.oneof(fc.constantFrom(MISSING, ''), longString(201, 300), notAString)),
  change(['source'], fc.oneof(fc.constantFrom(MISSING, '', 'has space', 'ünïcode', 'a?b', 'a#b', 'a\\b', 'new\nline'), longString(201, 300), notAString)),
  change(['timestamp'], fc.oneof(fc.constantFrom(MISSING, '', 'yesterday', '2025-01-31', '31/01/2025 12:00', '2025-13-01T00:00:00Z', '2025-01-31T25:00:00Z'), fc.integer(), fc.string().filter((s) => !/^\d{4}-/.test(s)), notAString)),
  change(['trace_id'], fc.oneof(fc.constant('0'.repeat(32)), fc.stringMatching(/^[0-9a-f]{31}$/), fc.stringMatching(/^[0-9a-f]{33}$/), traceId.map((id) => `A${id.slice(1)}`), fc.string().filter((s) => !/^[0-9a-f]{32}$/.test(s)), notAString)),
  change(['payload'], fc.oneof(fc.constant(MISSING), notAnObject)),
);

/** Event types no pipeline handles, including Object.prototype's names and near-misses. */
const unknownType = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'ASSET.UPLOADED', 'asset.uploaded ', ' asset.uploaded', 'asset.uploaded\u0000', 'asset', 'ingest', 'asset.uploaded.v2'),
  fc.string({ minLength: 1, maxLength: 200 }).filter((type) => !KNOWN_TYPES.includes(type)),
);

// Not "__proto__": the envelope's loose payload parse drops an own "__proto__" key (zod never copies
// it, so nothing is polluted), and the payload schema then judges the payload without it.
const extraKey = fc.constantFrom('Bucket', 'Key', 'eTag', 'version', 'extra', 'constructor', 'toString');

/** Payloads their event type refuses, each a valid payload plus one defect. */
const invalidPayloadEvent = fc.oneof(
  envelope(
    fc.constant('asset.uploaded'),
    fc
      .tuple(
        assetPayload,
        fc.oneof(
          change(['bucket'], fc.oneof(fc.constantFrom(MISSING, '', 'ab'), longString(64, 100), notAString)),
          change(['key'], fc.oneof(fc.constantFrom(MISSING, ''), longString(1025, 1500), notAString)),
          change(['versionId'], fc.oneof(fc.constant(''), longString(1025, 1500), notAString)),
          change(['etag'], fc.oneof(fc.constant(''), longString(201, 300), notAString)),
          change(['size'], fc.oneof(fc.integer({ min: -1e9, max: -1 }), fc.constant(1.5), notANumber)),
          change(['contentType'], fc.oneof(fc.constant(''), longString(256, 300), notAString)),
          extraKey.chain((key) => change([key], fc.jsonValue())),
        ),
      )
      .map(([payload, defect]) => withChanges(payload, defect)),
  ),
  envelope(
    fc.constant('dataset.objectify.requested'),
    fc
      .tuple(
        objectifyPayload,
        fc.oneof(
          change(['dataset'], fc.oneof(fc.constantFrom(MISSING, '', 'http://bucket/key', 's3://BAD/key', 's3://bucket', 's3://bucket/', 's3://ab/key', 's3:/bucket/key', 's3://bucket/line\nbreak'), notAString)),
          change(['dataset'], fc.integer({ min: 1025, max: 1300 }).map((n) => `s3://bucket/${'k'.repeat(n)}`)),
          change(['mapping'], fc.oneof(fc.constantFrom(MISSING, '', 'abc', '1.5', '-1', ' 1', '1'.repeat(19), 'city'), fc.integer(), notAString)),
          change(['maxRejectRatio'], fc.oneof(fc.double({ min: -1e6, max: -1e-9, noNaN: true }), fc.double({ min: 1.000001, max: 1e6, noNaN: true }), notANumber)),
          change(['versionId'], fc.oneof(fc.constant(''), notAString)),
          change(['etag'], fc.oneof(fc.constant(''), longString(201, 300), notAString)),
          extraKey.chain((key) => change([key], fc.jsonValue())),
        ),
      )
      .map(([payload, defect]) => withChanges(payload, defect)),
  ),
  envelope(
    fc.constant('connector.sync.requested'),
    fc
      .tuple(
        syncPayload,
        fc.oneof(
          change(['connectorId'], fc.oneof(fc.constantFrom(MISSING, '', 'x', 'not-a-uuid', '{7d444840-9dc0-11d1-b245-5ffdce74fad2}', '7d4448409dc011d1b2455ffdce74fad2'), fc.string({ maxLength: 40 }), notAString)),
          extraKey.chain((key) => change([key], fc.jsonValue())),
        ),
      )
      .map(([payload, defect]) => withChanges(payload, defect)),
  ),
);

describe('POST /api/v1/events with generated bodies', () => {
  /** Seconds from now (within the tolerance), or any text. */
  const timestampHeader = fc.oneof(fc.integer({ min: -200, max: 200 }).map((offset) => ({ offset })), headerText.map((text) => ({ text })), fc.integer().map((n) => ({ text: String(n) })));
  const randomSignature = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `v1,${Buffer.from(b).toString('base64')}`);
  const signatureHeader = fc.oneof(
    randomSignature,
    fc.array(randomSignature, { minLength: 2, maxLength: 3 }).map((all) => all.join(' ')),
    headerText,
    fc.constantFrom('v1,', 'v1', 'v2,abc', `v1,${'A'.repeat(44)}`),
  );

  it('answers 401 to unsigned or randomly signed bodies, whatever they hold', async () => {
    const body = fc.oneof(arbitraryText.map(bytesOf), fc.uint8Array({ maxLength: 300 }), startingEvent.map((e) => bytesOf(JSON.stringify(e))));
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.option(headerText, { nil: undefined }),
        fc.option(timestampHeader, { nil: undefined }),
        fc.option(signatureHeader, { nil: undefined }),
        async (raw, id, timestamp, signature) => {
          const seconds = timestamp && ('offset' in timestamp ? String(Math.floor(Date.now() / 1000) + timestamp.offset) : timestamp.text);
          const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': seconds, 'webhook-signature': signature };
          await expectRefused(await postEvent(raw, headers), 401, 'invalid_signature');
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('answers 401 to a valid event whose signature is almost right', async () => {
    // A stale or future timestamp, signed correctly; margins of 10 s keep the clock out of it.
    const skew = fc.integer({ min: TOLERANCE_SECONDS + 10, max: 10 * 365 * 86_400 }).chain((s) => fc.constantFrom(s, -s));
    const forgery = fc.oneof(
      fc.constant({ kind: 'other secret' as const }),
      fc.constant({ kind: 'other id' as const }),
      fc.constantFrom(' ', '\n', '\t').map((pad) => ({ kind: 'body changed after signing' as const, pad })),
      startingEvent.map((other) => ({ kind: 'other body' as const, other })),
      skew.map((seconds) => ({ kind: 'stale or future' as const, seconds })),
      fc.constantFrom('v2', 'V1', 'v1a', 'v0', '').map((scheme) => ({ kind: 'other scheme' as const, scheme })),
      // From 2: without its one '=' of padding a signature still decodes to the same 32 bytes.
      fc.integer({ min: 2, max: 43 }).map((cut) => ({ kind: 'truncated' as const, cut })),
    );
    await fc.assert(
      fc.asyncProperty(startingEvent, forgery, async (event, f) => {
        const body = bytesOf(JSON.stringify(event));
        let headers = signed(body);
        let sent = body;
        if (f.kind === 'other secret') headers = signed(body, { secret: OTHER_SECRET });
        if (f.kind === 'other id') headers = { ...headers, 'webhook-id': `${headers['webhook-id']}x` };
        if (f.kind === 'body changed after signing') sent = bytesOf(JSON.stringify(event) + f.pad);
        if (f.kind === 'other body') {
          fc.pre(JSON.stringify(f.other) !== JSON.stringify(event));
          sent = bytesOf(JSON.stringify(f.other));
        }
        if (f.kind === 'stale or future') headers = signed(body, { timestamp: Math.floor(Date.now() / 1000) + f.seconds });
        if (f.kind === 'other scheme') headers = signed(body, { scheme: f.scheme });
        if (f.kind === 'truncated') headers = { ...headers, 'webhook-signature': headers['webhook-signature']!.slice(0, -f.cut) };
        await expectRefused(await postEvent(sent, headers), 401, 'invalid_signature');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('answers 400 to signed bodies that are not JSON or not an envelope (401 if not UTF-8)', async () => {
    const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    const body = fc.oneof(arbitraryText.map(bytesOf), fc.uint8Array({ maxLength: 300 }));
    await fc.assert(
      fc.asyncProperty(body, async (raw) => {
        let text: string;
        try {
          text = strict.decode(raw);
        } catch {
          // The signature covers bytes that must be UTF-8 (JSON is): anything else is refused there.
          await expectRefused(await postSigned(raw), 401, 'invalid_signature');
          return;
        }
        await expectRefused(await postSigned(raw), 400, jsonRefusal(text));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('answers 400 invalid_event to a signed envelope with one bad field, even one that would start a run', async () => {
    const event = fc.tuple(fc.oneof(startingEvent, envelope(fc.constantFrom(...KNOWN_TYPES), syncPayload)), envelopeDefect).map(([e, defect]) => withChanges(e, defect));
    await fc.assert(
      fc.asyncProperty(event, async (e) => {
        await expectRefused(await postSigned(bytesOf(JSON.stringify(e))), 400, 'invalid_event');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('answers 422 unknown_event_type to a signed event no pipeline handles', async () => {
    await fc.assert(
      fc.asyncProperty(envelope(unknownType, fc.oneof(assetPayload, fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }))), async (e) => {
        await expectRefused(await postSigned(bytesOf(JSON.stringify(e))), 422, 'unknown_event_type');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('answers 422 invalid_payload to a signed event whose payload its type refuses', async () => {
    await fc.assert(
      fc.asyncProperty(invalidPayloadEvent, async (e) => {
        await expectRefused(await postSigned(bytesOf(JSON.stringify(e))), 422, 'invalid_payload');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('answers 422 to a signed, well-formed event naming a mapping or connector that does not exist', async () => {
    // This test's schema is fresh: it holds no mapping and no connector.
    const event = fc.oneof(
      envelope(fc.constant('dataset.objectify.requested'), objectifyPayload).map((e) => ({ e, code: 'mapping_not_found' })),
      envelope(fc.constant('connector.sync.requested'), syncPayload).map((e) => ({ e, code: 'connector_not_found' })),
    );
    await fc.assert(
      fc.asyncProperty(event, async ({ e, code }) => {
        await expectRefused(await postSigned(bytesOf(JSON.stringify(e))), 422, code);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  /** A signed asset.uploaded event without etag or versionId: the api looks the object up first. */
  const lookupEvent = (fields: object, bucket: string, key: string) =>
    bytesOf(JSON.stringify({ ...fields, event_type: 'asset.uploaded', payload: { bucket: bucket === TEST_BUCKET ? h.bucket : bucket, key } }));
  /** The test's bucket (empty: nothing is ever put) or one that does not exist. */
  const missingBucket = fc.oneof(fc.constant(TEST_BUCKET), fc.stringMatching(/^[a-z0-9]{3,20}$/).map((b) => `nx-${b}`));

  it('answers 422 object_not_found to a signed asset.uploaded event for an object that does not exist', async () => {
    // MinIO refuses "." and ".." path segments, also with spaces around them (see the next test).
    const plain = fc.stringMatching(/^[A-Za-z0-9 _.()'!*,;=@&$+-]{1,20}$/).filter((s) => s.trim() !== '.' && s.trim() !== '..');
    const segment = fc.oneof(plain, fc.constantFrom('ü', 'ß', '日本', 'emoji-😀', '%2F', '?q', '#f', '\\', 'tab\t', 'del\u007f'));
    const key = fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/'));
    await fc.assert(
      fc.asyncProperty(envelopeFields, missingBucket, fc.oneof(key, key.map((k) => `/${k}`), key.map((k) => `${k}/`)), async (fields, bucket, k) => {
        await expectRefused(await postSigned(lookupEvent(fields, bucket, k)), 422, 'object_not_found');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('answers 4xx, not 500, to a signed asset.uploaded event naming an object S3 refuses to look up', async () => {
    // Within the payload schema (bucket 3 to 63 characters, key 1 to 1,024 characters) but not a
    // name S3/MinIO accepts: a HEAD answers 400, or the SDK cannot even encode the key. The answer
    // may be 400 or 422 with any code; it must not be a 500, and must start no run. The examples
    // make each kind of name fail deterministically while the api answers such names with a 500.
    const oddKey = fc.oneof(
      fc.constantFrom('.', '..', '../../etc/passwd', 'a/../b', 'a/./b', 'double//slash', 'nul\u0000byte', '\ud800', 'x\udfffy'),
      fc.tuple(fc.stringMatching(/^[a-z0-9/]{0,30}$/), fc.constantFrom('\u0000', '\ud800', '\udc00', '/../', '/./', '//')).map(([k, odd]) => `${k}${odd}x`),
      // Within 1,024 characters but not within S3's 1,024 bytes.
      fc.integer({ min: 342, max: 1024 }).map((n) => '€'.repeat(n)),
      fc.integer({ min: 513, max: 1024 }).map((n) => 'ä'.repeat(n)),
    );
    const oddBucket = fc.oneof(
      fc.constantFrom('ABC', 'has_underscore', '192.168.1.1', 'a b', 'nx-a-', '-nx-a', 'nx-.a', 'nx-a..b', 'nx-a.-b', 'nx/a', 'nx?a'),
      fc.tuple(fc.stringMatching(/^[a-z0-9]{3,20}$/), fc.constantFrom('A', '_', ' ', '..', '.-', '-.', '!', 'ü')).map(([b, odd]) => `nx-${b}${odd}${b}`),
    );
    const name = fc.oneof(fc.record({ bucket: missingBucket, key: oddKey }), fc.record({ bucket: oddBucket, key: fc.constant('k') }));
    await fc.assert(
      fc.asyncProperty(envelopeFields, name, async (fields, { bucket, key }) => {
        await expectRefused(await postSigned(lookupEvent(fields, bucket, key)), [400, 422]);
      }),
      {
        numRuns: NUM_RUNS,
        examples: [
          { bucket: 'nx-aaa', key: '..' },
          { bucket: TEST_BUCKET, key: 'a/../b' },
          { bucket: TEST_BUCKET, key: 'nul\u0000byte' },
          { bucket: TEST_BUCKET, key: '\ud800' },
          { bucket: TEST_BUCKET, key: '€'.repeat(342) },
          { bucket: 'ABC', key: 'k' },
        ].map((name): [typeof EXAMPLE_FIELDS, { bucket: string; key: string }] => [EXAMPLE_FIELDS, name]),
      },
    );
  });
});

describe('both endpoints', () => {
  it('answer 413 above 1 MiB, before the token or signature is looked at', async () => {
    const oversize = fc.integer({ min: 1, max: 64 * 1024 }).map((extra) => JSON.stringify({ Records: [], pad: 'x'.repeat(MAX_EVENT_BYTES + extra) }));
    await fc.assert(
      fc.asyncProperty(oversize, fc.boolean(), async (raw, signIt) => {
        await expectRefused(await postS3(raw, { authorization: webhookAuth() }), 413, 'payload_too_large');
        const bytes = bytesOf(raw);
        await expectRefused(await postEvent(bytes, signIt ? signed(bytes) : {}), 413, 'payload_too_large');
      }),
      { numRuns: 10 },
    );
  });

  it('answer other methods with a uniform 401, 404 or 405', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE'), fc.constantFrom(S3_EVENTS, EVENTS, `${S3_EVENTS}/`, `${EVENTS}/x`), arbitraryText, async (method, path, raw) => {
        const init = method === 'GET' ? { method } : { method, body: raw };
        // The operator API's key check covers /api/v1/*, so a route it does not know may answer 401.
        const res = await app.request(path, { ...init, headers: { authorization: webhookAuth(), 'content-type': 'application/json' } });
        await expectRefused(res, [401, 404, 405], ['unauthorized', 'not_found', 'method_not_allowed']);
      }),
      { numRuns: 50 },
    );
  });

  // Runs last: every property above has had its requests answered.
  it('started no workflow on this task queue; a valid notification would have shown up there', async () => {
    const query = `TaskQueue = '${h.config.TEMPORAL_TASK_QUEUE}'`;
    const list = async () => {
      const ids: string[] = [];
      for await (const run of h.client.workflow.list({ query })) ids.push(run.workflowId);
      return ids;
    };
    expect(await list()).toEqual([]);

    // The control: the same listing sees a run that a valid notification starts.
    const record = { eventName: 's3:ObjectCreated:Put', s3: { bucket: { name: h.bucket }, object: { key: encodeURIComponent(uniqueId('control')), eTag: 'abc123' } } };
    const res = await postS3(JSON.stringify({ Records: [record] }), { authorization: webhookAuth() });
    expect(res.status).toBe(202);
    const { workflows } = (await res.json()) as { workflows: Array<{ workflowId: string }> };
    expect(workflows).toHaveLength(1);
    const seen = await waitFor(async () => {
      const ids = await list();
      return ids.length > 0 && ids;
    }, { timeoutMs: 10_000, description: 'the control run to be listed' });
    expect(seen).toEqual([workflows[0]!.workflowId]);
    await h.client.workflow.getHandle(workflows[0]!.workflowId).terminate('control run of bad-input-property.test.ts');
  });
});
