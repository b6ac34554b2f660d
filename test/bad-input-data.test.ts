import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, deflateRawSync, gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngest } from '../src/pipelines/ingest.js';
import { startObjectify } from '../src/pipelines/objectify.js';
import { describeRun } from '../src/temporal/runs.js';
import { connectorSyncWorkflow, type ConnectorSyncWorkflow } from '../src/contracts/connector-sync.js';
import type { ObjectifyInput, ObjectifyResult } from '../src/contracts/objectify.js';
import { createTestApp, expectError, operatorCall } from './support/api.js';
import { startHarness, type Harness } from './support/harness.js';
import { uniqueId } from './support/stack.js';
import { zipOf } from './support/zip.js';


// Hostile data on the real stack (Temporal, MinIO, Postgres, the in-process worker): ragged CSV,
// wrong encodings, decompression bombs, hostile names in mapping specs, connector redirects to
// private addresses. The rule for every case: nothing crashes and nothing answers 5xx; a failure
// is a non-retryable Temporal failure whose message says what to fix (or rows are rejected one by
// one, with reasons, under the run's maxRejectRatio); a failed load leaves the published objects
// as they were, and no load rows or temp files behind. Every fixture is generated here.

type Json = Record<string, unknown>;
const MiB = 1024 * 1024;

/** A local HTTP server that records the paths it is asked for. */
class TestServer {
  readonly requests: string[] = [];
  private readonly server: http.Server;

  constructor(handle: (res: http.ServerResponse) => void) {
    this.server = http.createServer((req, res) => {
      this.requests.push(req.url ?? '');
      handle(res);
    });
  }

  /** Listens on `host`, or on IPv4 loopback where IPv6 is missing; answers the port. */
  async listen(host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port: 0, host, ipv6Only: false }, resolve);
    }).catch(async () => new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve)));
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const REMOTE_CSV = 'code,name,population\nde,Germany,83\nfr,France,68\n';
/** What the allow-listed source answers: the CSV, or a redirect. */
let redirect: { status: number; location: string } | undefined;
const source = new TestServer((res) => {
  if (redirect) res.writeHead(redirect.status, { location: redirect.location }).end();
  else res.writeHead(200, { 'content-type': 'text/csv' }).end(REMOTE_CSV);
});
/** The private target the redirects point at: it must never be asked anything. */
const privateTarget = new TestServer((res) => res.writeHead(200, { 'content-type': 'text/csv' }).end('code\nxx\n'));
let sourcePort: number;
let privatePort: number;

let h: Harness;
let app: ReturnType<typeof createTestApp>;
let call: ReturnType<typeof operatorCall>;

beforeAll(async () => {
  sourcePort = await source.listen('127.0.0.1');
  // Dual-stack where the machine has IPv6, so that 127.0.0.1, [::1] and localhost all reach it.
  privatePort = await privateTarget.listen('::');
  // Only the source is allow-listed: not the private target's port, nor [::1] or localhost.
  h = await startHarness({ configOverrides: { CONNECTOR_ALLOWED_HOSTS: `127.0.0.1:${sourcePort}` } });
  app = createTestApp(h);
  call = operatorCall(app, h);
});

afterAll(async () => {
  await h?.stop();
  await source.close();
  await privateTarget.close();
});

// ---------------------------------------------------------------------------------------------
// Helpers

function countrySpec(objectType: string): Json {
  return {
    objectType,
    primaryKey: ['code'],
    fields: [
      { source: 'code', property: 'code', type: 'string', required: true, transform: ['trim', 'uppercase'] },
      { source: 'name', property: 'name', type: 'string', required: true },
      { source: 'population', property: 'population', type: 'integer' },
    ],
  };
}

/** Registers a spec over the API; its id. */
async function register(spec: Json): Promise<string> {
  const res = await call('POST', '/api/v1/mappings', spec);
  expect([200, 201], await res.clone().text()).toContain(res.status);
  return ((await res.json()) as { id: string }).id;
}

interface Run {
  workflowId: string;
  result?: ObjectifyResult;
  error?: unknown;
}

/** Uploads `body` and runs objectify on it to the end (batches of 2 rows by default). */
async function objectify(key: string, body: string | Uint8Array, mappingId: string, extra: Partial<ObjectifyInput> = {}): Promise<Run> {
  const { etag } = await h.put(key, body);
  const input = { dataset: { bucket: h.bucket, key, etag }, mappingId, maxRejectRatio: 0.05, batchRows: 2, ...extra };
  const { workflowId } = await startObjectify(h.client, h.config, input);
  return h.client.workflow.getHandle(workflowId).result().then(
    (result: ObjectifyResult) => ({ workflowId, result }),
    (error: unknown) => ({ workflowId, error }),
  );
}

/** The published objects of a type over GET /api/v1/objects, by key; null when none were ever published. */
async function objectsOf(type: string): Promise<{ version: string; byKey: Record<string, Json> } | null> {
  const res = await call('GET', `/api/v1/objects/${type}?limit=1000`);
  if (res.status === 404) {
    await expectError(res, 404, 'object_type_not_found');
    return null;
  }
  expect(res.status).toBe(200);
  const page = JSON.parse(await res.text()) as { version: string; objects: Array<{ key: string; properties: Json }> };
  return { version: page.version, byKey: Object.fromEntries(page.objects.map((o) => [o.key, o.properties])) };
}

async function rejectsOf(loadId: string): Promise<Array<[number, string]>> {
  const { rows } = await h.pool.query<{ row_number: string; reason: string }>('SELECT row_number, reason FROM objectify_rejects WHERE load_id = $1 ORDER BY row_number', [loadId]);
  return rows.map((r) => [Number(r.row_number), r.reason]);
}

/** No load rows of the run (its objects and rejects go with them) and no temp files on the worker. */
async function expectNothingLeft(workflowId: string): Promise<void> {
  const { rows } = await h.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM objectify_loads WHERE workflow_id = $1', [workflowId]);
  expect(rows[0]!.n).toBe(0);
  expect(await readdir(h.scratchDir)).toEqual([]);
}

/**
 * A run that failed for good: its failure is non-retryable, of `type`, with a message matching
 * `message`, and it left nothing behind. Answers the message.
 */
async function expectFailedForGood(run: Run, type: string, message: RegExp): Promise<string> {
  expect(run.result, 'the run should have failed').toBeUndefined();
  const status = await describeRun(h.client, h.config, run.workflowId);
  expect(status.status).toBe('FAILED');
  expect(status.failure).toMatchObject({ type, nonRetryable: true });
  expect(status.failure!.message).toMatch(message);
  await expectNothingLeft(run.workflowId);
  return status.failure!.message;
}

// ---------------------------------------------------------------------------------------------
// 1. Ragged CSV

describe('ragged CSV', () => {
  let mapping: string;
  // A BOM, CRLF, LF and lone CR line ends, an empty line, short and long rows.
  const RAGGED =
    '\ufeffcode,name,population\r\n' +
    'de,Germany,83\r\n' + //             row 1
    'fr,France\r\n' + //                 row 2: one field short
    'it,Italy,59,extra\r\n' + //         row 3: one field too many
    '\r\n' + //                          an empty line is not a row
    'es,Spain,48\rpt,Portugal,10\r\n' + // a bare CR ends row 4; row 5
    'at,Aus\rtria,9\r\n' + //            a bare CR inside a field: rows 6 and 7, both short
    'nl,Netherlands,17\n'; //            row 8

  beforeAll(async () => {
    mapping = await register(countrySpec('country'));
  });

  it('loads the good rows and rejects the ragged ones with a row-level reason, across resumed reads', async () => {
    // One batch of two rows per loadRows call: every call resumes with a ranged read after the BOM.
    const run = await objectify('ragged.csv', RAGGED, mapping, { maxRejectRatio: 0.5, limits: { batchesPerCall: 1 } });
    expect(run.result).toMatchObject({ rowsRead: 8, rowsRejected: 4, objects: 4 });
    expect((await objectsOf('country'))?.byKey).toEqual({
      DE: { code: 'DE', name: 'Germany', population: 83 },
      ES: { code: 'ES', name: 'Spain', population: 48 },
      PT: { code: 'PT', name: 'Portugal', population: 10 },
      NL: { code: 'NL', name: 'Netherlands', population: 17 },
    });
    expect(await rejectsOf(run.result!.loadId)).toEqual([
      [2, 'row has 2 fields, the header has 3'],
      [3, 'row has 4 fields, the header has 3'],
      [6, 'row has 2 fields, the header has 3'],
      [7, 'row has 2 fields, the header has 3'],
    ]);
  });

  it('fails when the rejects pass maxRejectRatio, saying which rows and why, with nothing published', async () => {
    const before = await objectsOf('country');
    const run = await objectify('ragged-strict.csv', RAGGED, mapping, { maxRejectRatio: 0.2 });
    const message = await expectFailedForGood(run, 'TooManyRejects', /^4 of 8 rows rejected \(50\.00%\), above maxRejectRatio 20\.00%; nothing was published/);
    // The rejects are discarded with the load: the failure itself names the first ones.
    expect(message).toContain('first rejected: row 2: row has 2 fields, the header has 3; row 3: row has 4 fields, the header has 3; row 6:');
    expect(await objectsOf('country')).toEqual(before);
  });

  it('fails a CSV with a quote that is never closed, naming the row, with nothing published', async () => {
    const before = await objectsOf('country');
    const run = await objectify('unclosed.csv', 'code,name,population\nde,Germany,83\nfr,"France,68\nit,Italy,59\n', mapping);
    await expectFailedForGood(run, 'CorruptContent', /unclosed\.csv: the CSV cannot be parsed: row 2 opens a quoted field that is never closed/);
    expect(await objectsOf('country')).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Encodings

describe('encodings', () => {
  const TEXT = 'code,name,population\r\nat,Österreich,9\r\ncn,中国,1410\r\njp,日本 🗾,125\r\n';
  const EXPECTED = {
    AT: { code: 'AT', name: 'Österreich', population: 9 },
    CN: { code: 'CN', name: '中国', population: 1410 },
    JP: { code: 'JP', name: '日本 🗾', population: 125 },
  };
  const utf16le = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  const utf16be = (text: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);

  it('loads a UTF-16 CSV with a BOM (LE and BE) like its UTF-8 original, across resumed reads', async () => {
    const mapping = await register(countrySpec('place16'));
    // One row per call: each call reads the file from its start again and skips to the offset.
    for (const [key, bytes] of [['le.csv', utf16le(TEXT)], ['be.csv', utf16be(TEXT)]] as const) {
      const run = await objectify(key, bytes, mapping, { batchRows: 1, limits: { batchesPerCall: 1 } });
      expect(run.result).toMatchObject({ rowsRead: 3, rowsRejected: 0, objects: 3 });
      expect((await objectsOf('place16'))?.byKey).toEqual(EXPECTED);
    }
  });

  it('rejects the rows of a Latin-1 CSV as not UTF-8 (never U+FFFD), failing over the ratio with that reason', async () => {
    const mapping = await register(countrySpec('latin'));
    const run = await objectify('latin1.csv', Buffer.from('code,name,population\nat,Österreich,9\nfr,França,68\nde,Deutschland,83\n', 'latin1'), mapping);
    const message = await expectFailedForGood(run, 'TooManyRejects', /^2 of 3 rows rejected/);
    expect(message).toContain('first rejected: row 1: column "name" is not valid UTF-8; row 2: column "name" is not valid UTF-8');
    expect(await objectsOf('latin')).toBeNull();

    // A Latin-1 header means the whole file is: it fails at once, saying so.
    const header = await objectify('latin1-header.csv', Buffer.from('code,näme,population\nde,Deutschland,83\n', 'latin1'), mapping);
    await expectFailedForGood(header, 'CorruptContent', /the header row is not valid UTF-8: save the file as UTF-8/);
    expect(await objectsOf('latin')).toBeNull();
  });

  it('rejects only the rows with invalid UTF-8 or a NUL byte, with the column, and loads the rest literally', async () => {
    const mapping = await register(countrySpec('mixed'));
    const good = Array.from({ length: 250 }, (_, i) => `c${i},Name ${i} ✓,${i}\n`).join('');
    const bytes = Buffer.concat([
      Buffer.from(`code,name,population\n${good}`),
      Buffer.from('bad,Caf'), Buffer.from([0xe9, 0xc3, 0x28]), Buffer.from(',1\n'), // row 251: invalid sequences
      Buffer.from('nul,a\0b,2\n'), //                                                 row 252: a NUL past the binary sniff
    ]);
    const run = await objectify('mixed.csv', bytes, mapping, { batchRows: 100 });
    expect(run.result).toMatchObject({ rowsRead: 252, rowsRejected: 2, objects: 250 });
    expect(await rejectsOf(run.result!.loadId)).toEqual([
      [251, 'column "name" is not valid UTF-8'],
      [252, 'column "name" contains a NUL character (U+0000), which cannot be stored'],
    ]);
    const objects = await objectsOf('mixed');
    expect(objects?.byKey.C7).toEqual({ code: 'C7', name: 'Name 7 ✓', population: 7 });
    expect(JSON.stringify(objects)).not.toContain('\ufffd');
  });

  it('refuses a PNG and random bytes named .csv or .jsonl as binary, for good', async () => {
    const mapping = await register(countrySpec('binary'));
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6360000000000200019e5c9c0000000049454e44ae426082', 'hex');
    // Deterministic noise: SHA-256 in counter mode.
    const noise = Buffer.concat(Array.from({ length: 2048 }, (_, i) => createHash('sha256').update(`noise ${i}`).digest()));
    for (const [key, bytes, reason] of [
      ['image.csv', png, /image\.csv: the file looks binary, not CSV text: it has a NUL byte at offset 8/],
      ['noise.csv', noise, /noise\.csv: (the file looks binary, not CSV text|the header row is not valid UTF-8)/],
      ['image.jsonl', png, /image\.jsonl: the file looks binary, not JSON Lines text/],
    ] as const) {
      await expectFailedForGood(await objectify(key, bytes, mapping), 'CorruptContent', reason);
    }
    expect(await objectsOf('binary')).toBeNull();
  });

  it('rejects JSON Lines lines that are not JSON objects or not UTF-8, with the reason, and loads UTF-16 JSON Lines', async () => {
    const mapping = await register(countrySpec('lines'));
    const lines = Buffer.concat([
      Buffer.from('{"code":"de","name":"Germany","population":83}\n'),
      Buffer.from('{"code":"fr","name":\n'), //                          row 2: not JSON
      Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d, 0x0a]), // row 3: {"n":"\xe9"}
      Buffer.from('["it","Italy"]\n'), //                                 row 4: not an object
      Buffer.from('{"code":"es","name":"Spain","population":48}\n'),
    ]);
    const ok = await objectify('lines.jsonl', lines, mapping, { maxRejectRatio: 0.6 });
    expect(ok.result).toMatchObject({ rowsRead: 5, rowsRejected: 3, objects: 2 });
    const rejects = await rejectsOf(ok.result!.loadId);
    expect(rejects.map(([row]) => row)).toEqual([2, 3, 4]);
    expect(rejects[0]![1]).toMatch(/^line is not valid JSON: /);
    expect(rejects.slice(1)).toEqual([[3, 'line is not valid UTF-8'], [4, 'line is an array, not a JSON object']]);

    const before = await objectsOf('lines');
    const over = await objectify('lines-strict.jsonl', lines, mapping);
    const message = await expectFailedForGood(over, 'TooManyRejects', /^3 of 5 rows rejected/);
    expect(message).toMatch(/first rejected: row 2: line is not valid JSON: .*; row 3: line is not valid UTF-8; row 4: line is an array/);
    expect(await objectsOf('lines')).toEqual(before);

    const utf16 = await objectify('lines16.jsonl', utf16le('{"code":"jp","name":"日本 🗾","population":125}\r\n{"code":"at","name":"Österreich"}\r\n'), mapping);
    expect(utf16.result).toMatchObject({ rowsRead: 2, rowsRejected: 0, objects: 2 });
    expect((await objectsOf('lines'))?.byKey).toEqual({ JP: EXPECTED.JP, AT: { code: 'AT', name: 'Österreich', population: null } });
  });

  it('rejects values Postgres cannot store (NUL, lone surrogates, deep JSON, long keys) row by row, instead of failing the batch for ever', async () => {
    const mapping = await register({
      objectType: 'value',
      primaryKey: ['id'],
      fields: [
        { source: 'id', property: 'id', type: 'string', required: true },
        { source: 'text', property: 'text', type: 'string' },
        { source: 'meta', property: 'meta', type: 'json' },
      ],
    });
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const hostileKey = 'emoji 🙂 "quoted" \\ back/slash:colon%';
    // Keys join their values with ":", so a value's ":" and "%" are escaped in the key.
    const storedKey = hostileKey.replace(/%/g, '%25').replace(/:/g, '%3A');
    const lines = [
      '{"id":"ok","text":"fine","meta":{"a":[1,2]}}',
      '{"id":"nul","text":"a\\u0000b"}',
      '{"id":"lone","text":"x\\ud800y"}',
      '{"id":"key-nul","meta":{"k\\u0000":1}}',
      `{"id":"deep","meta":${nested(100)}}`,
      `{"id":"deeper","meta":${nested(100_000)}}`,
      '{"id":"huge","meta":1e999}',
      JSON.stringify({ id: 'k'.repeat(10_000), text: 'a key of 10,000 characters' }),
      JSON.stringify({ id: 'long-text', text: 'y'.repeat(100_000) }),
      JSON.stringify({ id: hostileKey, text: 'ok' }),
    ];
    const run = await objectify('values.jsonl', lines.join('\n'), mapping, { maxRejectRatio: 0.8 });
    expect(run.result).toMatchObject({ rowsRead: 10, rowsRejected: 7, objects: 3 });
    expect(await rejectsOf(run.result!.loadId)).toEqual([
      [2, 'column "text" contains a NUL character (U+0000), which cannot be stored'],
      [3, 'column "text" contains an unpaired UTF-16 surrogate, which is not Unicode text'],
      [4, 'column "meta" has a key that contains a NUL character (U+0000), which cannot be stored'],
      [5, 'column "meta" nests deeper than 64 levels'],
      [6, 'column "meta" nests deeper than 64 levels'],
      [7, 'column "meta" holds Infinity, which is not a finite number'],
      [8, 'primary key is 10000 bytes long, above the limit of 1024'],
    ]);
    const objects = (await objectsOf('value'))!.byKey;
    expect(Object.keys(objects).sort()).toEqual([storedKey, 'long-text', 'ok'].sort());
    expect(objects['long-text']).toEqual({ id: 'long-text', text: 'y'.repeat(100_000), meta: null });
    const one = await call('GET', `/api/v1/objects/value/${encodeURIComponent(storedKey)}`);
    expect(one.status).toBe(200);
    expect(((await one.json()) as { properties: Json }).properties).toEqual({ id: hostileKey, text: 'ok', meta: null });
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Decompression bombs

/**
 * Gzip of `header` and then `row` repeated up to `totalBytes`, built without holding it: one
 * member of 4 MiB of rows, compressed once, repeated (gzip readers take concatenated members).
 */
function gzipBomb(header: string, row: string, totalBytes: number): Buffer {
  const block = Buffer.from(row.repeat(Math.floor((4 * MiB) / row.length)));
  const member = gzipSync(block, { level: 9 });
  return Buffer.concat([gzipSync(header), ...Array.from({ length: Math.ceil(totalBytes / block.length) }, () => member)]);
}

/** Samples this process's memory (the worker runs in it) while `work` runs; answers the growth at its peak. */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ value: T; growth: number }> {
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  try {
    const value = await work();
    return { value, growth: peak - base };
  } finally {
    clearInterval(timer);
  }
}

describe('decompression bombs', () => {
  const GiB = 1024 * MiB;

  it.each([
    ['bomb.csv.gz', 'code,name,population\n', 'x,y,1\n'],
    ['bomb.jsonl.gz', '{"code":"x","name":"y"}\n', '{"code":"x","name":"y","population":1}\n'],
  ])('stops %s (4 GiB from a few MiB) within seconds, for good, naming the limit', async (key, header, row) => {
    const mapping = await register(countrySpec('bomb'));
    const bomb = gzipBomb(header, row, 4 * GiB);
    expect(bomb.length).toBeLessThan(16 * MiB);
    const { value: run, growth } = await peakGrowth(() => objectify(key, bomb, mapping, { batchRows: 5000 }));
    const message = await expectFailedForGood(run, 'ObjectTooLarge', /the gzip data expands more than 100 times .*refused as a decompression bomb \(limit MAX_GZIP_RATIO\)/);
    // It stopped after megabytes, not gigabytes: the message says how far it got.
    const expanded = Number(/\((\d+) bytes from the first/.exec(message)?.[1]);
    expect(expanded).toBeGreaterThan(MiB);
    expect(expanded).toBeLessThan(16 * MiB);
    const { startTime, closeTime } = await h.client.workflow.getHandle(run.workflowId).describe();
    expect(closeTime!.getTime() - startTime.getTime()).toBeLessThan(60_000);
    expect(growth).toBeLessThan(512 * MiB);
    expect(await objectsOf('bomb')).toBeNull();
  });

  it('fails a .csv stored with Content-Encoding gzip clearly rather than reading it as text', async () => {
    const mapping = await register(countrySpec('bomb'));
    const key = 'encoded.csv';
    const out = await h.s3.send(new PutObjectCommand({ Bucket: h.bucket, Key: key, Body: gzipBomb('code,name\n', 'x,y\n', 64 * MiB), ContentEncoding: 'gzip', ContentType: 'text/csv' }));
    const { workflowId } = await startObjectify(h.client, h.config, { dataset: { bucket: h.bucket, key, etag: out.ETag!.replace(/"/g, '') }, mappingId: mapping, maxRejectRatio: 0.05, batchRows: 100 });
    const error = await h.client.workflow.getHandle(workflowId).result().then(() => undefined, (err: unknown) => err);
    await expectFailedForGood({ workflowId, error }, 'CorruptContent', /the file is gzip-compressed but was read as plain text \(name it \.gz\)/);
  });

  it('ingest refuses a DOCX zip bomb before unzipping it, whatever sizes its directory declares, and leaves no temp files', async () => {
    for (const [key, declared] of [['bomb.docx', 'true'], ['lying-bomb.docx', 'small']] as const) {
      const bytes = docxBomb(GiB, declared === 'small' ? 4096 : undefined);
      expect(bytes.length).toBeLessThan(8 * MiB);
      const { etag } = await h.put(key, bytes, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
      const { value: started, growth } = await peakGrowth(async () => {
        const run = await startIngest(h.client, h.config, { bucket: h.bucket, key, etag });
        await h.client.workflow.getHandle(run.workflowId).result().catch(() => undefined);
        return run;
      });
      const status = await describeRun(h.client, h.config, started.workflowId);
      expect(status.status).toBe('FAILED');
      expect(status.failure).toMatchObject({ type: 'UnsupportedContent', nonRetryable: true });
      expect(status.failure!.message).toMatch(new RegExp(`${key.replace('.', '\\.')}: unsupported content: the DOCX unzips to more than \\d+ bytes .*refused as a zip bomb`));
      expect(growth).toBeLessThan(512 * MiB);
      expect(await readdir(h.scratchDir)).toEqual([]);
      const { rows } = await h.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM assets WHERE key = $1', [key]);
      expect(rows[0]!.n).toBe(0);
    }
  });
});

/**
 * A DOCX whose word/document.xml inflates to about `size` bytes from a few MiB: one deflate
 * segment of paragraphs, flushed (so it refers to nothing before it) and repeated. `declare`
 * overrides the uncompressed size the zip's directory states.
 */
function docxBomb(size: number, declare?: number): Buffer {
  const w = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
  const head = Buffer.from(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="${w}"><w:body>`);
  const tail = Buffer.from('</w:body></w:document>');
  const block = Buffer.from('<w:p><w:r><w:t>boom</w:t></w:r></w:p>'.repeat(Math.floor((4 * MiB) / 38)));
  const flushed = (bytes: Buffer) => deflateRawSync(bytes, { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
  const segment = flushed(block);
  const copies = Math.ceil(size / block.length);
  const documentXml = Buffer.concat([flushed(head), ...Array.from({ length: copies }, () => segment), deflateRawSync(tail)]);
  const contentTypes =
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>' +
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>';
  const rels =
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>';
  return zipOf([
    { name: '[Content_Types].xml', data: Buffer.from(contentTypes) },
    { name: '_rels/.rels', data: Buffer.from(rels) },
    { name: 'word/document.xml', data: documentXml, deflated: true, size: declare ?? head.length + copies * block.length + tail.length },
  ]);
}


// ---------------------------------------------------------------------------------------------
// 4. Hostile names in mapping specs

describe('mapping specs with hostile names', () => {
  const base = { objectType: 'hostile', primaryKey: ['id'], fields: [{ source: 'id', property: 'id', type: 'string', required: true }] };
  const withField = (field: Json): Json => ({ ...base, fields: [...base.fields, { type: 'string', ...field }] });
  const nestedDefault = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
  const NOT_A_PROPERTY = /fields\.1\.property: property is a letter or _, then up to 62 letters, digits or _/;
  const refused: Array<[string, Json, RegExp]> = [
    ...['a"b', 'a\\b', '$a', 'a.b', 'a\u0000b', '🙂', 'x'.repeat(10_000), ''].map((property): [string, Json, RegExp] => [`property ${JSON.stringify(property.slice(0, 12))}`, withField({ source: 'a', property }), NOT_A_PROPERTY]),
    ['a property mapped twice', withField({ source: 'other', property: 'id' }), /property "id" is mapped twice/],
    ['an objectType that is SQL', { ...base, objectType: "'; DROP TABLE objects; --" }, /objectType: objectType is a lowercase letter/],
    ['an empty source', withField({ source: '', property: 'a' }), /fields\.1\.source: /],
    ['a source of 10,000 characters', withField({ source: 'x'.repeat(10_000), property: 'a' }), /fields\.1\.source: .*256/],
    ['a source with a NUL', withField({ source: 'a\u0000b', property: 'a' }), /fields\.1\.source: "a\\u0000b" contains a NUL character/],
    ['a source with a lone surrogate', withField({ source: 'a\ud800', property: 'a' }), /fields\.1\.source: .* contains an unpaired UTF-16 surrogate/],
    ['a split separator with a NUL', withField({ source: 'a', property: 'a', type: 'json', transform: [{ split: { separator: '\u0000' } }] }), /separator: .*NUL/],
    ['a default with a NUL', withField({ source: 'a', property: 'a', default: 'x\u0000' }), /default contains a NUL character/],
    ['a default nested 100 deep', withField({ source: 'a', property: 'a', type: 'json', default: nestedDefault(100) }), /default nests deeper than 64 levels/],
    ['a primary key named __proto__ that no field has', { ...base, primaryKey: ['__proto__'] }, /primary key "__proto__" is not the property of any field/],
  ];

  it('refuses names that are not identifiers and text that cannot be stored with 400 and the reason, as a mapping and inline in a run', async () => {
    await h.put('hostile.csv', 'id\n1\n');
    for (const [label, spec, reason] of refused) {
      const direct = await expectError(await call('POST', '/api/v1/mappings', spec), 400, 'invalid_request');
      expect(direct.error.message, label).toMatch(reason);
      const inline = await expectError(await call('POST', '/api/v1/workflows/objectify', { dataset: `s3://${h.bucket}/hostile.csv`, mapping: spec }), 400, 'invalid_request');
      expect(inline.error.message, label).toMatch(reason);
    }
    // Nothing was stored, and the SQL stayed data.
    expect(((await (await call('GET', '/api/v1/mappings?objectType=hostile')).json()) as { mappings: unknown[] }).mappings).toEqual([]);
    expect((await h.pool.query("SELECT to_regclass('objects') AS t")).rows[0]).toEqual({ t: 'objects' });
  });

  it('stores names like __proto__, constructor and toString literally and loads them as data, polluting no prototype', async () => {
    const names: Array<[source: string, property: string, type?: string]> = [
      ['id', 'id'],
      ['__proto__', '__proto__', 'json'],
      ['constructor', 'constructor'],
      ['prototype', 'prototype'],
      ['toString', 'toString'],
      ['hasOwnProperty', 'hasOwnProperty'],
      ['say "hi"', 'quoted'],
      ['back\\slash', 'backslash'],
      ['$price.usd', 'price', 'number'],
      ['🙂', 'emoji'],
      ['é'.repeat(256), 'long_source'],
      ['id', 'id_again'], // the same source twice is fine: two properties from one column
    ];
    const spec = { objectType: 'proto', primaryKey: ['id'], fields: names.map(([source, property, type]) => ({ source, property, type: type ?? 'string', required: false, transform: [] })) };
    const registered = await call('POST', '/api/v1/mappings', spec);
    expect(registered.status).toBe(201);
    const { id } = (await registered.json()) as { id: string };
    const stored = (await (await call('GET', `/api/v1/mappings/${id}`)).json()) as { spec: { fields: Array<{ source: string; property: string }> } };
    expect(stored.spec.fields.map((f) => [f.source, f.property])).toEqual(names.map(([source, property]) => [source, property]));

    /** What each load must store, the same from JSON Lines and from CSV: every value literally. */
    const expected = (key: string): Json =>
      Object.fromEntries<unknown>([
        ['id', key], ['__proto__', { polluted: true }], ['constructor', 'c'], ['prototype', 'p'], ['toString', 't'], ['hasOwnProperty', 'h'],
        ['quoted', 'q'], ['backslash', 'b'], ['price', 1.5], ['emoji', 'smile'], ['long_source', 'long'], ['id_again', key],
      ]);
    const row = (key: string, proto: unknown) =>
      [key, proto, 'c', 'p', 't', 'h', 'q', 'b', 1.5, 'smile', 'long'] as const;
    const sources = names.slice(0, 11).map(([source]) => source);

    // JSON Lines: "__proto__" is an own key of the parsed line (fromEntries, so it is one here too).
    const line = JSON.stringify(Object.fromEntries(sources.map((source, i) => [source, row('j1', { polluted: true })[i]])));
    expect(line).toContain('"__proto__":{"polluted":true}');
    const fromJsonl = await objectify('proto.jsonl', `${line}\n`, id);
    expect(fromJsonl.result).toMatchObject({ rowsRead: 1, rowsRejected: 0, objects: 1 });
    await expectLiteral('j1', expected('j1'));

    // CSV, through an objectify run with the same spec inline: a column named __proto__ stays a column.
    const quote = (cell: string) => (/[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);
    const csv = `${sources.map(quote).join(',')}\n${row('c1', '{"polluted":true}').map((v) => quote(String(v))).join(',')}\n`;
    await h.put('proto.csv', csv, 'text/csv');
    const res = await call('POST', '/api/v1/workflows/objectify?wait=60s', { dataset: `s3://${h.bucket}/proto.csv`, mapping: spec });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'COMPLETED', result: { rowsRead: 1, rowsRejected: 0, objects: 1 } });
    await expectLiteral('c1', expected('c1'));
  });

  /** The object over the API, parsed as data: own "__proto__" and friends, and Object.prototype untouched. */
  async function expectLiteral(key: string, properties: Json): Promise<void> {
    const res = await call('GET', `/api/v1/objects/proto/${key}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('"__proto__":{"polluted":true}');
    const got = (JSON.parse(text) as { properties: Json }).properties;
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(got, '__proto__')?.value).toEqual({ polluted: true });
    expect(Object.keys(got).sort()).toEqual(Object.keys(properties).sort());
    for (const name of Object.keys(properties)) expect(Object.getOwnPropertyDescriptor(got, name)?.value, name).toEqual(properties[name]);
    // Postgres holds the key as data too.
    const { rows } = await h.pool.query<{ p: unknown }>("SELECT o.properties -> '__proto__' AS p FROM objects o JOIN object_type_heads t ON t.load_id = o.load_id WHERE t.object_type = 'proto' AND o.key = $1", [key]);
    expect(rows[0]?.p).toEqual({ polluted: true });
    // And nothing reached a prototype in this process, which runs the worker.
    expect(({} as Json).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(typeof ({} as { toString: unknown }).toString).toBe('function');
  }
});

// ---------------------------------------------------------------------------------------------
// 5. Connector redirects to private addresses

describe('connector redirects to private addresses', () => {
  let connectorId: string;

  const status = async () => (((await (await call('GET', `/api/v1/connectors/${connectorId}`)).json()) as { status: { cursor: { position: Json } | null } }).status);

  beforeAll(async () => {
    const res = await call('POST', '/api/v1/connectors', { name: 'redirecting', kind: 'http-csv', config: { url: `http://127.0.0.1:${sourcePort}/export.csv?token=secret` }, schedule: { every: '1h' }, mapping: countrySpec('remote') });
    expect(res.status, await res.clone().text()).toBe(201);
    connectorId = ((await res.json()) as { id: string }).id;
    // A first sync that works, so that there is a cursor to keep.
    redirect = undefined;
    const ok: unknown = await h.client.workflow.execute<ConnectorSyncWorkflow>(connectorSyncWorkflow.workflowType, { taskQueue: h.config.TEMPORAL_TASK_QUEUE, workflowId: uniqueId(`connector-sync:${connectorId}`), args: [{ connectorId }] });
    expect(ok).toMatchObject({ kind: 'http-csv', changed: true, objects: 2 });
  });

  // <private> is the port of the server that must never be asked, <source> the allow-listed one's.
  const REDIRECTS: Array<[status: number, location: string, reason: RegExp, requests: number]> = [
    [301, 'http://169.254.169.254/latest/meta-data', /redirected to http:\/\/169\.254\.169\.254\/latest\/meta-data: 169\.254\.169\.254 is not a public address/, 1],
    [302, 'http://127.0.0.1:<private>/x.csv', /127\.0\.0\.1 is not a public address; add 127\.0\.0\.1:\d+ to CONNECTOR_ALLOWED_HOSTS/, 1],
    [307, 'http://[::1]:<private>/', /redirected to http:\/\/\[::1\]:\d+\/: ::1 is not a public address/, 1],
    [308, 'http://localhost/', /redirected to http:\/\/localhost\/: localhost resolves to .*, which is not a public address/, 1],
    [301, 'http://localhost:<private>/x.csv', /localhost resolves to .*, which is not a public address/, 1],
    [302, 'http://0x7f000001:<private>/', /redirected to http:\/\/127\.0\.0\.1:\d+\/: 127\.0\.0\.1 is not a public address/, 1],
    [307, 'http://[::ffff:127.0.0.1]:<private>/', /is not a public address/, 1],
    [308, '//127.0.0.1:<private>/protocol-relative.csv', /127\.0\.0\.1 is not a public address/, 1],
    [301, 'file:///etc/passwd', /redirected to file:\/\/\/etc\/passwd: only http and https URLs are fetched, not file:/, 1],
    [302, 'http://127.0.0.1:<source>/loop', /more than 5 redirects \(a redirect loop\?\)/, 6],
  ];

  it.each(REDIRECTS)('a %i to %s fails the sync for good, reaching no private address and keeping the cursor', async (code, template, reason, requests) => {
    const location = template.replace('<private>', String(privatePort)).replace('<source>', String(sourcePort));
    const before = { requests: source.requests.length, cursor: (await status()).cursor, objects: await objectsOf('remote') };
    redirect = { status: code, location };
    const workflowId = uniqueId(`connector-sync:${connectorId}`);
    const error = await h.client.workflow.execute<ConnectorSyncWorkflow>(connectorSyncWorkflow.workflowType, { taskQueue: h.config.TEMPORAL_TASK_QUEUE, workflowId, args: [{ connectorId }] }).then(() => undefined, (err: unknown) => err);
    redirect = undefined;
    expect(error, `${code} to ${location}`).toBeDefined();

    const run = await describeRun(h.client, h.config, workflowId);
    expect(run.status).toBe('FAILED');
    expect(run.failure).toMatchObject({ type: 'UnsafeUrl', nonRetryable: true });
    expect(run.failure!.message, `${code} to ${location}`).toMatch(reason);
    expect(run.failure!.message).not.toContain('secret');
    // One request (no retry), or the six of a loop, to the allowed source; none to the private one.
    expect(source.requests.length - before.requests).toBe(requests);
    expect(privateTarget.requests).toEqual([]);
    expect((await status()).cursor).toEqual(before.cursor);
    expect(await objectsOf('remote')).toEqual(before.objects);
  });
});
