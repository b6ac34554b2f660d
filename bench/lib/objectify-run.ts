import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import type pg from 'pg';
import type { Log } from '../../scripts/lib/process.js';
import { describeError } from '../../scripts/lib/wait.js';
import { createActivities } from '../../src/activities/index.js';
import { createObjectifyActivities } from '../../src/activities/objectify.js';
import type { Config } from '../../src/config.js';
import { PgMappingRepository } from '../../src/db/mappings.js';
import { PgObjectifyLoads } from '../../src/db/objectify-loads.js';
import { createLogger, temporalLogger } from '../../src/logger.js';
import { startObjectify } from '../../src/pipelines/objectify.js';
import { createS3Client, S3Storage } from '../../src/storage/s3.js';
import { connectClient, connectWorker } from '../../src/temporal/connection.js';
import { describeRun } from '../../src/temporal/runs.js';
import { createHarvesterWorker } from '../../src/worker/create.js';
import type { ObjectifyResult, ObjectifyWorkflow } from '../../src/contracts/objectify.js';
import { checkpoint } from './baselines.js';
import { type Cleanups, unlessAborted } from './cleanups.js';
import { MAPPING } from './dataset.js';
import { fmtInt, since, ticker } from './report.js';

/** Wall time spent inside a function, summed over its calls. */
export interface Timing {
  calls: number;
  ms: number;
  /** CPU time of this whole process meanwhile (µs), where measured: the rest of `ms` is waiting. */
  cpuUs?: number;
}

/** Measured in the worker: each objectify activity, and the Postgres writes inside loadRows. */
export interface WorkerTimings {
  activities: Map<string, Timing>;
  writeBatch: Timing;
}

export interface BenchWorker {
  client: Client;
  timings: WorkerTimings;
  /** Settles when the worker stops; rejects if it fails. */
  running: Promise<void>;
}

async function timed<T>(timing: Timing, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    timing.calls++;
    timing.ms += since(started);
  }
}

/** The real write side, with a stopwatch around each batch transaction. */
class TimedLoads extends PgObjectifyLoads {
  constructor(
    pool: pg.Pool,
    private readonly timing: Timing,
  ) {
    super(pool);
  }

  override async writeBatch(...args: Parameters<PgObjectifyLoads['writeBatch']>): Promise<void> {
    // The reader waits while a batch commits, so the process's CPU time here is mostly the Node
    // side of the write (JSON encoding, the wire protocol); the rest of the wall time is Postgres.
    const cpu = process.cpuUsage();
    try {
      return await timed(this.timing, () => super.writeBatch(...args));
    } finally {
      const used = process.cpuUsage(cpu);
      this.timing.cpuUs = (this.timing.cpuUs ?? 0) + used.user + used.system;
    }
  }
}

/**
 * The real activities, wired as createActivities wires them, with a stopwatch around each
 * objectify activity and around PgObjectifyLoads.writeBatch: that split (database writes versus
 * reading, parsing and converting) is what the benchmark is for. The stopwatch costs nanoseconds
 * per batch, not per row.
 */
function timedActivities(config: Config, pool: pg.Pool, scratchDir: string, timings: WorkerTimings): object {
  const loads = new TimedLoads(pool, timings.writeBatch);
  const real = createObjectifyActivities({ storage: new S3Storage(createS3Client(config)), loads, mappings: new PgMappingRepository(pool) });
  const wrapped = Object.fromEntries(
    Object.entries(real).map(([name, fn]) => {
      const timing: Timing = { calls: 0, ms: 0 };
      timings.activities.set(name, timing);
      const call = fn as (...args: unknown[]) => Promise<unknown>;
      return [name, (...args: unknown[]) => timed(timing, () => call(...args))];
    }),
  );
  return { ...createActivities({ config, pool, scratchDir }), ...wrapped };
}

/** A worker in this process on the run's task queue, and a client; both stopped by `cleanups`. */
export async function startBenchWorker(config: Config, pool: pg.Pool, dataDir: string, cleanups: Cleanups, log: Log): Promise<BenchWorker> {
  // The SDK would otherwise log every worker state change to the console; warnings still show.
  Runtime.install({ logger: temporalLogger(createLogger(config, 'bench-worker')) });
  const scratchDir = join(dataDir, 'scratch');
  await mkdir(scratchDir, { recursive: true });
  const timings: WorkerTimings = { activities: new Map(), writeBatch: { calls: 0, ms: 0 } };

  const client = await connectClient(config);
  cleanups.add('close the Temporal client', () => client.connection.close());
  const connection = await connectWorker(config);
  cleanups.add('close the worker connection', () => connection.close());
  log('bundling the workflow code and starting the worker');
  const worker = await createHarvesterWorker({ config, connection, activities: timedActivities(config, pool, scratchDir, timings) });
  const running = worker.run();
  cleanups.add('stop the worker', async () => {
    worker.shutdown();
    await running;
  });
  return { client, timings, running };
}

export interface ObjectifyRun {
  ms: number;
  /** CPU time of this process (worker, client and all) during the run, in microseconds. */
  cpu: NodeJS.CpuUsage;
  result: ObjectifyResult;
  historyLength: number;
}

/**
 * Registers the mapping, starts objectify on the uploaded file and waits for its result, logging
 * the run's status (rows read, share of bytes) every second. Timed from start to result.
 */
export async function runObjectify(
  bench: { worker: BenchWorker; config: Config; pool: pg.Pool; log: Log; signal: AbortSignal },
  dataset: { bucket: string; key: string; etag: string },
  batchRows: number,
): Promise<ObjectifyRun> {
  const { worker, config, pool, log, signal } = bench;
  const { client } = worker;
  const mappingId = (await new PgMappingRepository(pool).register(MAPPING)).mapping.id;
  const db = await pool.connect();
  await checkpoint(db, log).finally(() => db.release());

  const cpuAtStart = process.cpuUsage();
  const started = performance.now();
  // No rejects are expected, so any reject fails the run instead of hiding in the counts.
  const run = await startObjectify(client, config, { dataset, mappingId, maxRejectRatio: 0, batchRows });
  const handle = client.workflow.getHandle<ObjectifyWorkflow>(run.workflowId);
  const stop = ticker(1_000, async () => log(statusLine(await describeRun(client, config, run.workflowId), since(started))), log);
  let result: ObjectifyResult;
  try {
    const workerStopped = worker.running.then(() => {
      throw new Error('the worker stopped before the objectify run ended');
    });
    result = await unlessAborted(Promise.race([handle.result(), workerStopped]), signal);
  } catch (err) {
    // Terminating makes the running loadRows see a cancellation at its next heartbeat, so the
    // worker can stop promptly.
    if (signal.aborted) await handle.terminate('benchmark interrupted').catch((e: unknown) => log(`terminate failed: ${describeError(e)}`));
    throw err;
  } finally {
    stop();
  }
  const ms = since(started);
  const cpu = process.cpuUsage(cpuAtStart);
  const { historyLength } = await handle.describe();
  return { ms, cpu, result, historyLength };
}

function statusLine(status: Awaited<ReturnType<typeof describeRun>>, elapsedMs: number): string {
  const c = status.counters;
  const rows = c?.rowsRead ?? 0;
  const pct = c?.totalBytes ? ` (${((100 * (c.bytesRead ?? 0)) / c.totalBytes).toFixed(0)}% of bytes)` : '';
  const step = status.currentStep ? `, step ${status.currentStep.name}#${status.currentStep.attempt}` : '';
  return `objectify: ${status.status.toLowerCase()} ${status.stage ?? ''}${step}: ${fmtInt(rows)} rows read${pct}, ${fmtInt(c?.rowsRejected ?? 0)} rejected, ${fmtInt(rows / (elapsedMs / 1000))} rows/s so far`;
}
