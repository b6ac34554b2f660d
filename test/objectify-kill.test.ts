import { afterAll, beforeAll, expect, it } from 'vitest';
import { PgMappingRepository } from '../src/db/mappings.js';
import { startObjectify } from '../src/pipelines/objectify.js';
import { condenseHistory } from '../src/temporal/history.js';
import { describeRun } from '../src/temporal/runs.js';
import type { ObjectifyResult } from '../src/contracts/objectify.js';
import { keyValueSpec } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { type EntryProcess, exitedUnexpectedly, startEntry, stopEntry } from './support/processes.js';
import { waitFor } from './support/stack.js';

// A worker killed with SIGKILL in the middle of a batch: the server notices the missing
// heartbeats, the loadRows attempt is retried on a new worker process from the last committed
// cursor, and the run completes with every distinct key exactly once.

const ROWS = 60_000;
const DISTINCT = 50_000; // later rows repeat earlier keys: the last row of a key wins

let h: Harness;
const workers: EntryProcess[] = [];

beforeAll(async () => {
  // No in-process worker: the workers are real processes this test can kill.
  h = await startHarness({ worker: false, configOverrides: { LOG_LEVEL: 'info' } });
});

afterAll(async () => {
  for (const worker of workers) await stopEntry(worker, 'SIGKILL');
  await h?.stop();
});

function startWorker(): EntryProcess {
  const worker = startEntry('src/worker/main.ts', h.config);
  workers.push(worker);
  return worker;
}

it('completes after its worker is killed mid-batch, with one object per distinct key', async () => {
  const lines = ['id,value'];
  for (let i = 0; i < ROWS; i++) lines.push(`k${i % DISTINCT},${i}`);
  const { etag } = await h.put('killed.csv', `${lines.join('\n')}\n`, 'text/csv');
  const spec = keyValueSpec('kill_test');
  const { mapping } = await new PgMappingRepository(h.pool).register(spec);

  const first = startWorker();
  const run = await startObjectify(h.client, h.config, {
    dataset: { bucket: h.bucket, key: 'killed.csv', etag },
    mappingId: mapping.id,
    maxRejectRatio: 0,
    batchRows: 500,
  });
  // Some batches are committed (the heartbeat says so) and the load is far from done.
  await waitFor(
    async () => {
      const status = await describeRun(h.client, h.config, run.workflowId);
      const read = status.counters?.rowsRead ?? 0;
      return read >= 2_000 && read < ROWS ? read : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 20, description: 'loadRows to commit its first batches', failIf: exitedUnexpectedly(first, 'the worker') },
  );
  expect(await stopEntry(first, 'SIGKILL')).toBeNull();

  startWorker();
  const result = await h.client.workflow.getHandle<() => Promise<ObjectifyResult>>(run.workflowId).result();
  expect(result).toMatchObject({ rowsRead: ROWS, rowsRejected: 0, objects: DISTINCT });
  const { rows } = await h.pool.query<{ n: number; last: number }>(
    "SELECT count(*)::int AS n, max((properties->>'value')::int) AS last FROM objects WHERE load_id = $1",
    [result.loadId],
  );
  expect(rows[0]).toEqual({ n: DISTINCT, last: ROWS - 1 });
  const { rows: k0 } = await h.pool.query<{ value: number }>("SELECT (properties->>'value')::int AS value FROM objects WHERE load_id = $1 AND key = 'k0'", [result.loadId]);
  expect(k0[0]?.value).toBe(DISTINCT); // row DISTINCT repeats k0 and wins over row 0

  // The history shows the killed attempt: a loadRows step that needed a second attempt.
  const events = (await h.client.workflow.getHandle(run.workflowId).fetchHistory()).events ?? [];
  const retried = condenseHistory(events).steps.filter((s) => s.name === 'loadRows' && s.attempts > 1);
  expect(retried.length).toBeGreaterThan(0);
}, 180_000);
