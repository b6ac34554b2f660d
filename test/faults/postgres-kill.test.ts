import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { PgMappingRepository } from '../../src/db/mappings.js';
import { startIngest } from '../../src/pipelines/ingest.js';
import { startObjectify } from '../../src/pipelines/objectify.js';
import { describeRun, type StartedRun } from '../../src/temporal/runs.js';
import type { IngestResult } from '../../src/contracts/ingest.js';
import type { ObjectifyResult } from '../../src/contracts/objectify.js';
import { assetRows, pendingSummary, processConfig, stepAttempts, withApplicationName } from '../support/faults.js';
import { keyValueSpec } from '../support/fixtures.js';
import { startHarness, type Harness } from '../support/harness.js';
import { type EntryProcess, exitedUnexpectedly, startEntry, stopEntry, unlessExited } from '../support/processes.js';
import { uniqueId, waitFor } from '../support/stack.js';

// The worker's Postgres connections are killed with pg_terminate_backend, round after round,
// while ingest runs write assets and an objectify run loads batches. Queries in flight fail and
// their activities are retried (the objectify load from its last committed batch); idle pooled
// connections that die must not take the worker down. Every run completes with exactly its rows.

const INGESTS = 12;
const ROWS = 50_000;
/** Kill rounds, a second apart: steady killing would only grow the retries' backoff. */
const ROUNDS = 12;

let h: Harness;
let worker: EntryProcess | undefined;
const appName = uniqueId('pg-kill');

beforeAll(async () => {
  h = await startHarness({ worker: false });
});

afterAll(async () => {
  if (worker) await stopEntry(worker, 'SIGKILL');
  await h?.stop();
});

it('completes ingest and objectify runs while their database connections are killed repeatedly', async () => {
  const spec = keyValueSpec('pg_kill_test');
  const { mapping } = await new PgMappingRepository(h.pool).register(spec);
  const lines = ['id,value'];
  for (let i = 0; i < ROWS; i++) lines.push(`k${i},${i}`);
  const { etag: csvEtag } = await h.put('rows.csv', `${lines.join('\n')}\n`, 'text/csv');

  const proc = startEntry('src/worker/main.ts', processConfig(h.config, { DATABASE_URL: withApplicationName(h.config.DATABASE_URL, appName), LOG_LEVEL: 'info' }));
  worker = proc;
  const failIf = exitedUnexpectedly(proc, 'the worker');
  const objectify = await startObjectify(h.client, h.config, {
    dataset: { bucket: h.bucket, key: 'rows.csv', etag: csvEtag },
    mappingId: mapping.id,
    maxRejectRatio: 0,
    batchRows: 500,
  });
  // Writes are under way: the load has committed its first batch.
  await waitFor(async () => ((await describeRun(h.client, h.config, objectify.workflowId)).counters?.rowsRead ?? 0) > 0, {
    timeoutMs: 90_000,
    intervalMs: 100,
    description: 'the objectify load to commit its first batch',
    failIf,
  });
  // The killer: each round, every connection the worker has, busy or idle.
  let killed = 0;
  const killRound = async (): Promise<void> => {
    const { rows } = await h.pool.query<{ n: number }>(
      'SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1',
      [appName],
    );
    killed += rows[0]?.n ?? 0;
  };
  await killRound(); // the load's batch in flight, certainly

  const ingests: StartedRun[] = [];
  for (let i = 0; i < INGESTS; i++) {
    const key = `note-${i}.txt`;
    const { etag } = await h.put(key, `Note ${i}: the silo by the river holds grain from field ${i}.\n`.repeat(50), 'text/plain');
    ingests.push(await startIngest(h.client, h.config, { bucket: h.bucket, key, etag }));
  }

  // More rounds while the ingests write too; the pause paces the fault, it waits for nothing.
  for (let round = 1; round < ROUNDS; round++) {
    await delay(1_000);
    await killRound();
  }

  onTestFailed(async () => console.log(await pendingSummary(h.client, [objectify, ...ingests].map((r) => r.workflowId))));
  const loaded = await unlessExited(h.client.workflow.getHandle<() => Promise<ObjectifyResult>>(objectify.workflowId).result(), proc, 'the worker');
  const ingested = await unlessExited(
    Promise.all(ingests.map((run) => h.client.workflow.getHandle<() => Promise<IngestResult>>(run.workflowId).result())),
    proc,
    'the worker',
  );

  expect(loaded).toMatchObject({ rowsRead: ROWS, rowsRejected: 0, objects: ROWS });
  const { rows } = await h.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM objects WHERE load_id = $1', [loaded.loadId]);
  expect(rows[0]?.n).toBe(ROWS);
  expect(ingested).toHaveLength(INGESTS);
  const assets = await assetRows(h.pool, h.bucket);
  expect(assets.size).toBe(INGESTS);
  expect([...assets.values()].every((n) => n === 1)).toBe(true);

  // The faults were real: connections died under the runs, and steps failed and were retried.
  expect(killed).toBeGreaterThan(0);
  const attempts = await Promise.all([objectify, ...ingests].map((run) => stepAttempts(h.client, run.workflowId)));
  const retried = attempts.flatMap((steps) => Object.values(steps)).filter((n) => n > 1).length;
  expect(retried).toBeGreaterThan(0);
  // The worker logged the idle connections it lost and went on.
  expect(proc.output()).toContain('idle database connection lost');
}, 150_000);
