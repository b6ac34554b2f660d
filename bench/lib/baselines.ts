import { createReadStream } from 'node:fs';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Log } from '../../scripts/lib/process.js';
import { describeError } from '../../scripts/lib/wait.js';
import { COPY_TABLE_DDL } from './dataset.js';
import { fmtInt, fmtMiB, since, ticker } from './report.js';

// The baselines DESIGN.md names, run on the same file, servers and database as objectify: what the
// hardware does without Harvester in the way.

/** Counts the bytes that flow through it. */
function byteMeter(): { meter: Transform; bytes: () => number } {
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { meter, bytes: () => bytes };
}

/** Raw S3 GetObject of the whole file, the bytes read and dropped: the floor of any S3 loader. */
export async function s3GetObject(s3: S3Client, bucket: string, key: string, log: Log, signal: AbortSignal): Promise<{ ms: number; bytes: number }> {
  const { meter, bytes } = byteMeter();
  const started = performance.now();
  const stop = ticker(1_000, () => log(`S3 GetObject: ${fmtMiB(bytes())}`));
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    if (!out.Body) throw new Error(`s3://${bucket}/${key}: GetObject returned no body`);
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    await pipeline(out.Body as Readable, meter, sink, { signal });
  } finally {
    stop();
  }
  return { ms: since(started), bytes: bytes() };
}

/**
 * `COPY bench_copy FROM STDIN (FORMAT csv, HEADER)`, the file streamed from disk: Postgres' own
 * bulk path into an equivalent typed table with the same primary key. Only the COPY is timed.
 */
export async function copyBaseline(pool: pg.Pool, file: string, log: Log, signal: AbortSignal): Promise<{ ms: number; rows: number; bytes: number }> {
  const client = await pool.connect();
  try {
    await client.query(COPY_TABLE_DDL);
    await checkpoint(client, log);
    const { meter, bytes } = byteMeter();
    const copy = client.query(copyFrom('COPY bench_copy (id, name, amount, count, day, active) FROM STDIN WITH (FORMAT csv, HEADER true)'));
    const started = performance.now();
    const stop = ticker(1_000, () => log(`COPY: ${fmtMiB(bytes())} sent`));
    try {
      await pipeline(createReadStream(file), meter, copy, { signal });
    } finally {
      stop();
    }
    const ms = since(started);
    log(`COPY: ${fmtInt(copy.rowCount)} rows committed`);
    return { ms, rows: copy.rowCount, bytes: bytes() };
  } finally {
    client.release();
  }
}

/**
 * Flushes dirty pages before a timed database phase, so that a phase does not pay for the
 * checkpoint the previous one caused. Needs superuser (or pg_checkpoint); without it the phases
 * simply share that cost, which is said.
 */
export async function checkpoint(client: pg.ClientBase, log: Log): Promise<void> {
  try {
    await client.query('CHECKPOINT');
  } catch (err) {
    log(`CHECKPOINT refused (${describeError(err)}): this phase may pay for an earlier one's writes`);
  }
}
