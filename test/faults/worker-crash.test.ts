import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startIngest } from '../../src/pipelines/ingest.js';
import type { StartedRun } from '../../src/temporal/runs.js';
import type { IngestResult } from '../../src/contracts/ingest.js';
import { assetRows, filesUnder, processConfig, runningAttempt, stepAttempts, withApplicationName } from '../support/faults.js';
import { ARTICLE } from '../support/fixtures.js';
import { startHarness, type Harness } from '../support/harness.js';
import { type HoldingProxy, startHoldingProxy } from '../support/holding-proxy.js';
import { type EntryProcess, exitedUnexpectedly, startPollingWorker, stopEntry } from '../support/processes.js';
import { uniqueId, waitFor } from '../support/stack.js';

// Worker processes killed in the middle of an ingest step. The worker talks to MinIO through a
// proxy that can hold a response mid-transfer, and the test can lock the assets table, so each
// step is caught while it is really running: a download with bytes still to come, the AI step
// reading its text, the database write waiting on its lock. Then the worker dies, and a new worker
// must finish every run with exactly one asset row and no temp file left.

let h: Harness;
let proxy: HoldingProxy;
let scratchDir: string;
/** The workers' connections show this name in pg_stat_activity. */
const appName = uniqueId('worker-crash');
const workers: EntryProcess[] = [];

beforeAll(async () => {
  h = await startHarness({ worker: false });
  proxy = await startHoldingProxy(h.config.S3_ENDPOINT);
  scratchDir = await mkdtemp(join(tmpdir(), 'harvester-fault-scratch-'));
});

afterAll(async () => {
  for (const worker of workers) await stopEntry(worker, 'SIGKILL');
  await proxy?.close();
  await h?.stop();
  await rm(scratchDir, { recursive: true, force: true });
});

/** A worker process through the proxy, polling when this resolves; the tests stop each one they start. */
async function startWorker(overrides: Record<string, string> = {}): Promise<EntryProcess> {
  const worker = startPollingWorker(
    processConfig(h.config, {
      S3_ENDPOINT: proxy.address,
      SCRATCH_DIR: scratchDir,
      DATABASE_URL: withApplicationName(h.config.DATABASE_URL, appName),
      LOG_LEVEL: 'info',
      ...overrides,
    }),
  );
  workers.push(await worker);
  return worker;
}

async function upload(key: string, body: string): Promise<StartedRun> {
  const { etag } = await h.put(key, body, 'text/plain');
  return startIngest(h.client, h.config, { bucket: h.bucket, key, etag });
}

const result = (run: StartedRun): Promise<IngestResult> => h.client.workflow.getHandle<() => Promise<IngestResult>>(run.workflowId).result();
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The request line of a GET of this object through the proxy (path-style: /bucket/key). */
const getOf = (bucket: string, key: string): RegExp => new RegExp(`^GET /${escape(bucket)}/${escape(key)}[? ]`);

it('SIGKILL during the download, the AI step and the database write: a new worker finishes each run, one asset row each', async () => {
  const worker = await startWorker();
  const failIf = exitedUnexpectedly(worker, 'the first worker');

  // The database write: hold an EXCLUSIVE lock on assets (reads pass, writes wait) and wait until
  // the run's persist is blocked on it.
  const locker: pg.PoolClient = await h.pool.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE assets IN EXCLUSIVE MODE');
  const persisting = await upload('persist.txt', ARTICLE);
  await waitFor(async () => (await runningAttempt(h.client, persisting.workflowId, 'persist')) !== undefined && (await waitingOnLock(h.pool)), {
    timeoutMs: 90_000,
    description: 'persist to wait on the lock of the assets table',
    failIf,
  });

  // The AI step: its read of the extracted text from the work bucket gets 100 bytes, then waits.
  const textHold = proxy.hold(new RegExp(`^GET /${escape(h.config.WORK_BUCKET)}/ingest/[^ ]+/text\\.txt[? ]`), 100);
  const analysing = await upload('analyse.txt', ARTICLE.repeat(20));
  // The download: 256 KiB of a 4 MiB object arrive, then nothing.
  const downloadHold = proxy.hold(getOf(h.bucket, 'download.txt'), 256 * 1024);
  const downloading = await upload('download.txt', 'harvest '.repeat(512 * 1024));

  await waitFor(
    async () =>
      textHold.holding() > 0 && downloadHold.holding() > 0 &&
      (await runningAttempt(h.client, analysing.workflowId, 'analyse')) === 1 &&
      (await runningAttempt(h.client, downloading.workflowId, 'download')) === 1,
    { timeoutMs: 90_000, description: 'the AI step and the download to be in progress, held by the proxy', failIf },
  );
  expect(await stopEntry(worker, 'SIGKILL')).toBeNull();

  // The outage ends: the lock and the held transfers go; a new worker takes over once the server
  // notices the missing heartbeats.
  await locker.query('COMMIT');
  locker.release();
  textHold.release();
  downloadHold.release();
  const second = await startWorker();
  const results = await Promise.all([persisting, analysing, downloading].map(result));
  expect(results.map((r) => r.key)).toEqual(['persist.txt', 'analyse.txt', 'download.txt']);
  expect(second.exited()).toBe(false);

  // Each killed step ran again, on the new worker; nothing else was repeated.
  expect(await stepAttempts(h.client, persisting.workflowId)).toMatchObject({ download: 1, extract: 1, analyse: 1, persist: 2 });
  expect(await stepAttempts(h.client, analysing.workflowId)).toMatchObject({ download: 1, extract: 1, analyse: 2, persist: 1 });
  expect(await stepAttempts(h.client, downloading.workflowId)).toMatchObject({ download: 2, extract: 1, analyse: 1, persist: 1 });

  const rows = await assetRows(h.pool, h.bucket);
  expect(Object.fromEntries(rows)).toEqual({ 'persist.txt': 1, 'analyse.txt': 1, 'download.txt': 1 });
  // The killed download's partial file was in the run's scratch folder, which the run removed.
  expect(await filesUnder(scratchDir)).toEqual([]);
  expect(await stopEntry(second)).toBe(0);
}, 240_000);

it('SIGTERM during a long download: the worker stops within its grace time, hands the step back and leaves no file; the next worker finishes', async () => {
  const worker = await startWorker({ WORKER_SHUTDOWN_GRACE_SECONDS: '2' });
  const { hold, run } = await heldDownload(worker, 'long.txt', 'autumn ');

  // Graceful: the worker exits 0 by itself, the download cancelled after the grace time.
  expect(await stopEntry(worker, 'SIGTERM')).toBe(0);
  expect(await filesUnder(scratchDir)).toEqual([]);
  // Handed back: the server schedules the download again at once, not after a heartbeat timeout.
  const { raw } = await h.client.workflow.getHandle(run.workflowId).describe();
  const download = raw.pendingActivities?.find((a) => a.activityType?.name === 'download');
  expect(download?.attempt).toBe(2);
  expect(download?.lastFailure?.message ?? '').toMatch(/shutting down/i);

  hold.release();
  const next = await startWorker();
  expect((await result(run)).key).toBe('long.txt');
  expect(await stepAttempts(h.client, run.workflowId)).toMatchObject({ download: 2, extract: 1 });
  expect((await assetRows(h.pool, h.bucket)).get('long.txt')).toBe(1);
  expect(await filesUnder(scratchDir)).toEqual([]);
  expect(await stopEntry(next)).toBe(0);
}, 180_000);

it('SIGTERM during a download that ends within the grace time: the step finishes on the stopping worker', async () => {
  const worker = await startWorker({ WORKER_SHUTDOWN_GRACE_SECONDS: '120' });
  const { hold, run } = await heldDownload(worker, 'finishing.txt', 'market ');

  worker.child.kill('SIGTERM');
  // The SDK logs its state change when it starts draining: then the transfer may go on.
  await waitFor(() => /"state":"STOPPING"/.test(worker.output()), { timeoutMs: 30_000, description: 'the worker to begin its shutdown' });
  hold.release();
  expect(await worker.exit).toBe(0);

  // The download completed in its first attempt; the next steps wait for a worker.
  expect(await stepAttempts(h.client, run.workflowId)).toMatchObject({ download: 1 });
  const next = await startWorker();
  expect((await result(run)).key).toBe('finishing.txt');
  expect(await stepAttempts(h.client, run.workflowId)).toMatchObject({ download: 1, extract: 1, analyse: 1, persist: 1 });
  expect((await assetRows(h.pool, h.bucket)).get('finishing.txt')).toBe(1);
  expect(await stopEntry(next)).toBe(0);
}, 240_000);

/** A connection of the worker under test waits for a lock. */
async function waitingOnLock(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
    [appName],
  );
  return (rows[0]?.n ?? 0) > 0;
}

/**
 * Uploads a 3.5 MiB object (`word` repeated) and waits until the worker is downloading it, the
 * proxy holding the transfer after its first 256 KiB.
 */
async function heldDownload(worker: EntryProcess, key: string, word: string) {
  const hold = proxy.hold(getOf(h.bucket, key), 256 * 1024);
  const run = await upload(key, word.repeat(512 * 1024));
  await waitFor(async () => hold.holding() > 0 && (await runningAttempt(h.client, run.workflowId, 'download')) === 1, {
    timeoutMs: 90_000,
    description: 'the download to be in progress, held by the proxy',
    failIf: exitedUnexpectedly(worker, 'the worker'),
  });
  return { hold, run };
}
