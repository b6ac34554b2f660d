import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Log } from '../../scripts/lib/process.js';
import { describeError } from '../../scripts/lib/wait.js';
import type { MappingSpec } from '../../src/objectify/spec.js';
import { fmtInt, fmtMiB, ticker } from './report.js';

// The benchmark's dataset: N deterministic rows with one column of each common type, the mapping
// that objectify loads them through, and the typed table that COPY loads them into.

export const CSV_HEADER = 'id,name,amount,count,day,active';

/** One property per column; `name` carries the transforms so objectify does real conversion work. */
export const MAPPING: MappingSpec = {
  objectType: 'bench_row',
  primaryKey: ['id'],
  strict: false,
  fields: [
    { source: 'id', property: 'id', type: 'string', required: true, transform: [] },
    { source: 'name', property: 'name', type: 'string', required: false, transform: ['trim', 'uppercase'] },
    { source: 'amount', property: 'amount', type: 'number', required: false, transform: [] },
    { source: 'count', property: 'count', type: 'integer', required: false, transform: [] },
    { source: 'day', property: 'day', type: 'date', required: false, transform: [] },
    { source: 'active', property: 'active', type: 'boolean', required: false, transform: [] },
  ],
};

/** The same columns, typed, with the same key: what a hand-written loader would COPY into. */
export const COPY_TABLE_DDL =
  'CREATE TABLE bench_copy (id text PRIMARY KEY, name text, amount double precision, count integer, day date, active boolean)';

const NAMES = ['ada', 'grace', 'alan', 'edsger', 'barbara', 'donald', 'margaret', 'ken', 'dennis', 'frances'];
const DAY_MS = 86_400_000;
const FIRST_DAY = Date.UTC(2020, 0, 1);
const ROWS_PER_CHUNK = 10_000;

/** mulberry32: a tiny seeded PRNG, so every run (and every machine) gets the same file. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function* csvChunks(rows: number, onRows: (done: number) => void): Generator<string> {
  const next = random(42);
  const width = String(rows).length;
  yield `${CSV_HEADER}\n`;
  for (let start = 1; start <= rows; start += ROWS_PER_CHUNK) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(start + ROWS_PER_CHUNK, rows + 1); i++) {
      // Padded with spaces and lowercase, so trim and uppercase have something to do.
      const name = `${' '.repeat(Math.floor(next() * 3))}${NAMES[i % NAMES.length]} ${Math.floor(next() * 1000)}  `;
      const amount = (next() * 100_000).toFixed(2);
      const count = Math.floor(next() * 10_000);
      const day = new Date(FIRST_DAY + Math.floor(next() * 2_192) * DAY_MS).toISOString().slice(0, 10);
      const active = next() < 0.5 ? 'true' : 'false';
      lines.push(`id-${String(i).padStart(width, '0')},"${name}",${amount},${count},${day},${active}\n`);
    }
    onRows(start - 1 + lines.length);
    yield lines.join('');
  }
}

/** Writes the CSV to `file` with progress; returns its size in bytes. */
export async function generateCsv(file: string, rows: number, log: Log, signal: AbortSignal): Promise<number> {
  let written = 0;
  const stop = ticker(1_000, () => log(`generate: ${fmtInt(written)} / ${fmtInt(rows)} rows`));
  try {
    await pipeline(Readable.from(csvChunks(rows, (done) => (written = done))), createWriteStream(file), { signal });
  } finally {
    stop();
  }
  return (await stat(file)).size;
}

/** Uploads the file (multipart, streamed from disk) to a bucket of its own; returns its ETag. */
export async function uploadCsv(s3: S3Client, file: string, bucket: string, key: string, log: Log, signal: AbortSignal): Promise<string> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const size = (await stat(file)).size;
  const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: createReadStream(file), ContentType: 'text/csv' } });
  let sent = 0;
  upload.on('httpUploadProgress', (p) => (sent = p.loaded ?? sent));
  const stop = ticker(1_000, () => log(`upload: ${fmtMiB(sent)} / ${fmtMiB(size)}`));
  const onAbort = (): void => void upload.abort().catch((err: unknown) => log(`upload: abort failed: ${describeError(err)}`));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const out = await upload.done();
    const etag = (out.ETag ?? '').replace(/"/g, '');
    if (!etag) throw new Error(`s3://${bucket}/${key}: the upload returned no ETag`);
    return etag;
  } finally {
    stop();
    signal.removeEventListener('abort', onAbort);
  }
}
