import { afterAll, beforeAll, expect, it } from 'vitest';
import { startIngest } from '../../src/pipelines/ingest.js';
import type { IngestResult } from '../../src/contracts/ingest.js';
import { assetRows } from '../support/faults.js';
import { startHarness, type Harness } from '../support/harness.js';
import { type EntryProcess, exitedUnexpectedly, startEntry, stopEntry } from '../support/processes.js';
import { type RestartableServer, startOwnTemporal } from '../support/servers.js';
import { waitFor } from '../support/stack.js';

// The Temporal server goes down while 50 ingest runs are in flight and comes back on the same
// database file: every run completes, once, with its asset row. The worker process and the test's
// client ride out the outage on their own reconnects.

const RUNS = 50;

let temporal: RestartableServer;
let h: Harness;
let worker: EntryProcess | undefined;

beforeAll(async () => {
  temporal = await startOwnTemporal();
  h = await startHarness({ worker: false, configOverrides: { TEMPORAL_ADDRESS: temporal.address } });
});

afterAll(async () => {
  if (worker) await stopEntry(worker, 'SIGKILL');
  await h?.stop();
  await temporal?.remove();
});

it(`completes all ${RUNS} runs in flight across a restart of the Temporal server`, async () => {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const key = `doc-${String(i).padStart(2, '0')}.txt`;
    const { etag } = await h.put(key, `Document ${i}. The harvest of field ${i} was stored in barn ${i % 7}.\n`.repeat(200), 'text/plain');
    runs.push(await startIngest(h.client, h.config, { bucket: h.bucket, key, etag }));
  }
  worker = startEntry('src/worker/main.ts', h.config);
  const failIf = exitedUnexpectedly(worker, 'the worker');

  // Stop the server while runs are in flight: some done, most not.
  const handles = runs.map((run) => h.client.workflow.getHandle(run.workflowId));
  const completed = async (): Promise<number> =>
    (await Promise.all(handles.map((handle) => handle.describe()))).filter((d) => d.status.name === 'COMPLETED').length;
  const before = await waitFor(async () => {
    const n = await completed();
    return n >= 3 ? n : undefined;
  }, { timeoutMs: 120_000, intervalMs: 100, description: 'the first runs to complete', failIf });
  expect(before).toBeLessThan(RUNS);
  // Down for real (the process ends), then up again on the same port and database file.
  await temporal.stop();
  await expect(h.client.connection.withDeadline(Date.now() + 2_000, () => h.client.workflowService.getSystemInfo({}))).rejects.toThrow();
  await temporal.start();

  const results = await Promise.all(handles.map((handle) => handle.result() as Promise<IngestResult>));
  expect(new Set(results.map((r) => r.key)).size).toBe(RUNS);
  expect(worker.exited()).toBe(false);
  const rows = await assetRows(h.pool, h.bucket);
  expect(rows.size).toBe(RUNS);
  expect([...rows.values()].every((n) => n === 1)).toBe(true);
  // One run per workflow id: nothing was started twice across the restart.
  for (const run of runs) {
    const { count } = await h.client.workflow.count(`WorkflowId = '${run.workflowId}'`);
    expect(count).toBe(1);
  }
}, 300_000);
