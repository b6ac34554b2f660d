import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runScript, scriptLog } from '../scripts/lib/cli.js';
import type { Config } from '../src/config.js';
import { createPool } from '../src/db/pool.js';
import { DEFAULT_BATCH_ROWS } from '../src/contracts/objectify.js';
import { createS3Client } from '../src/storage/s3.js';
import { copyBaseline, s3GetObject } from './lib/baselines.js';
import { benchmarkMain, type Cleanups } from './lib/cleanups.js';
import { generateCsv, uploadCsv } from './lib/dataset.js';
import { runObjectify, startBenchWorker, type ObjectifyRun, type WorkerTimings } from './lib/objectify-run.js';
import { fmtInt, fmtMiB, fmtSeconds, machineLine, phaseTable, ratioLine, since, type PhaseResult } from './lib/report.js';
import { startStack } from './lib/stack.js';
import { tableSizes, verifyLoads } from './lib/verify.js';

// `npm run bench:objectify [-- --rows N --batch-rows N]`: objectify of a generated CSV against a
// plain COPY of the same file into the same database, plus a raw S3 GetObject of it, side by side
// on servers this script starts and stops (see README, "Benchmarks").

const log = scriptLog('bench');
const BUCKET = 'bench-datasets';

interface Options {
  rows: number;
  batchRows: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: { rows: { type: 'string', default: '1000000' }, 'batch-rows': { type: 'string', default: String(DEFAULT_BATCH_ROWS) } },
    strict: true,
  });
  const positive = (name: string, text: string): number => {
    const n = Number(text.replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, not "${text}"`);
    return n;
  };
  return { rows: positive('rows', values.rows), batchRows: positive('batch-rows', values['batch-rows']) };
}

async function bench(options: Options, cleanups: Cleanups, signal: AbortSignal): Promise<void> {
  const { rows, batchRows } = options;
  log(`machine: ${machineLine()}; ${fmtInt(rows)} rows, batchRows ${fmtInt(batchRows)}`);
  const { config, dataDir } = await startStack(log, cleanups, signal);
  // Steps that take no signal still end the run at the next of these checks after a Ctrl-C.
  signal.throwIfAborted();

  const file = join(dataDir, `rows-${rows}.csv`);
  let started = performance.now();
  const size = await generateCsv(file, rows, log, signal);
  log(`generated ${file}: ${fmtInt(rows)} rows, ${fmtMiB(size)} in ${fmtSeconds(since(started))} s`);

  const pool = createPool(config, 4);
  cleanups.add('close the database pool', () => pool.end());
  const s3 = createS3Client(config);
  cleanups.add('close the S3 client', () => Promise.resolve(s3.destroy()));
  const key = `bench/rows-${rows}.csv`;
  started = performance.now();
  const etag = await uploadCsv(s3, file, BUCKET, key, log, signal);
  log(`uploaded s3://${BUCKET}/${key} in ${fmtSeconds(since(started))} s`);

  const worker = await startBenchWorker(config, pool, dataDir, cleanups, log);
  signal.throwIfAborted();

  log('phase 1/3: raw S3 GetObject of the file');
  const get = await s3GetObject(s3, BUCKET, key, log, signal);
  log('phase 2/3: COPY of the file into bench_copy');
  const copy = await copyBaseline(pool, file, log, signal);
  signal.throwIfAborted();
  log(`phase 3/3: objectify s3://${BUCKET}/${key}`);
  const run = await runObjectify({ worker, config, pool, log, signal }, { bucket: BUCKET, key, etag }, batchRows);

  log('checking both loads against each other');
  const verified = await verifyLoads(pool, rows, copy.rows, run.result);
  const sizes = await tableSizes(pool);
  const pgVersion = (await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?';
  printReport({ options, size, pgVersion, get, copy, run, timings: worker.timings, verified, sizes, config });
}

function printReport(r: {
  options: Options;
  size: number;
  pgVersion: string;
  get: { ms: number; bytes: number };
  copy: { ms: number; rows: number; bytes: number };
  run: ObjectifyRun;
  timings: WorkerTimings;
  verified: string;
  sizes: string;
  config: Config;
}): void {
  const { rows } = r.options;
  const s3: PhaseResult = { phase: 'S3 GetObject (raw read)', rows, ms: r.get.ms, bytes: r.get.bytes, note: 'bytes only, no parsing' };
  const copy: PhaseResult = { phase: 'COPY into bench_copy', rows: r.copy.rows, ms: r.copy.ms, bytes: r.copy.bytes, note: 'local file → typed table' };
  const obj: PhaseResult = { phase: 'objectify', rows: r.run.result.objects, ms: r.run.ms, bytes: r.size, note: 'S3 → objects, start to result' };
  const out = [
    '',
    `objectify benchmark: ${fmtInt(rows)} rows, ${fmtMiB(r.size)} CSV, batchRows ${fmtInt(r.options.batchRows)}`,
    `machine: ${machineLine()}; Postgres ${r.pgVersion} (database ${new URL(r.config.DATABASE_URL).pathname.slice(1)})`,
    '',
    phaseTable([s3, copy, obj]),
    '',
    ratioLine({ name: 'objectify', result: obj }, { name: 'COPY', result: copy }),
    ratioLine({ name: 'objectify', result: obj }, { name: 'raw S3 GetObject', result: s3 }),
    '',
    'where objectify spends its time (measured in the worker):',
    ...breakdown(r.run, r.timings),
    '',
    `check: ${r.verified}`,
    `on disk: ${r.sizes}`,
    '',
  ];
  process.stdout.write(out.join('\n'));
}

function breakdown(run: ObjectifyRun, timings: WorkerTimings): string[] {
  const entries: [label: string, ms: number][] = [];
  let inActivities = 0;
  for (const [name, t] of timings.activities) {
    if (t.calls === 0) continue;
    inActivities += t.ms;
    entries.push([`${name} (${fmtInt(t.calls)} call${t.calls === 1 ? '' : 's'})`, t.ms]);
    if (name === 'loadRows') {
      const w = timings.writeBatch;
      // writeBatch also JSON-encodes the batch in Node before the one round trip to Postgres.
      const nodeMs = (w.cpuUs ?? 0) / 1000;
      entries.push([`  writeBatch: JSON encode + upsert transaction (${fmtInt(w.calls)})`, w.ms]);
      entries.push(['    CPU in this process (encoding, wire protocol)', nodeMs]);
      entries.push(['    waiting for Postgres (unnest upsert, commit)', w.ms - nodeMs]);
      entries.push(['  the rest: S3 read, CSV parse, convert, heartbeats', t.ms - w.ms]);
    }
  }
  entries.push(['Temporal: start, scheduling, workflow tasks, result', run.ms - inActivities]);
  const width = Math.max(...entries.map(([label]) => label.length));
  const lines = entries.map(([label, ms]) => `  ${label.padEnd(width)}  ${fmtSeconds(ms).padStart(7)} s  ${((100 * ms) / run.ms).toFixed(0).padStart(3)}%`);
  const cpu = (run.cpu.user + run.cpu.system) / 1000;
  lines.push(`  this process used ${fmtSeconds(cpu)} s of CPU in those ${fmtSeconds(run.ms)} s (${((100 * cpu) / run.ms).toFixed(0)}% of one core); the workflow history has ${run.historyLength} events`);
  return lines;
}

const USAGE = 'usage: npm run bench:objectify [-- --rows N (default 1000000) --batch-rows N (default 5000)]';

runScript('bench', benchmarkMain(log, USAGE, parseOptions, bench));
