import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/net.js';
import { startIngest } from '../../src/pipelines/ingest.js';
import type { StartedRun } from '../../src/temporal/runs.js';
import type { IngestResult } from '../../src/contracts/ingest.js';
import { assetRows, failedAttempts, filesUnder, processConfig, runningAttempt } from '../support/faults.js';
import { startHarness, type Harness } from '../support/harness.js';
import { type HoldingProxy, startHoldingProxy } from '../support/holding-proxy.js';
import { type EntryProcess, exitedUnexpectedly, startEntry, stopEntry } from '../support/processes.js';
import { type OwnMinio, startOwnMinio } from '../support/servers.js';
import { waitFor } from '../support/stack.js';

// MinIO is stopped for 30 seconds while ingest runs download (one of them caught mid-transfer by
// a holding proxy, so a download is really cut off), extract and analyse. The runs retry, wait,
// and complete once MinIO is back on the same drive: one asset row each, no temp file left.

const RUNS = 12;
const OUTAGE_MS = 30_000;

let minio: OwnMinio;
let proxy: HoldingProxy;
let h: Harness;
let scratchDir: string;
let worker: EntryProcess | undefined;

beforeAll(async () => {
  minio = await startOwnMinio({
    ingestBucket: 'uploads',
    workBucket: 'harvester-work',
    // No api listens there: this test starts its runs itself.
    webhookEndpoint: `http://127.0.0.1:${await freePort()}/api/v1/events/s3`,
    webhookToken: 'unused-webhook-token',
  });
  proxy = await startHoldingProxy(minio.address);
  h = await startHarness({ worker: false, configOverrides: { S3_ENDPOINT: minio.address, WORK_BUCKET: 'harvester-work' } });
  scratchDir = await mkdtemp(join(tmpdir(), 'harvester-fault-scratch-'));
});

afterAll(async () => {
  if (worker) await stopEntry(worker, 'SIGKILL');
  await proxy?.close();
  await h?.stop();
  await minio?.remove();
  await rm(scratchDir, { recursive: true, force: true });
});

it('runs wait out a 30-second MinIO outage during their downloads and complete when it returns', async () => {
  const hold = proxy.hold(/^GET \/[^/]+\/doc-00\.txt[? ]/, 256 * 1024);
  const runs: StartedRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    const key = `doc-${String(i).padStart(2, '0')}.txt`;
    // The first is large enough (12 MiB) that socket buffers cannot take the rest of it at once.
    const { etag } = await h.put(key, `Field ${i} report: the barley came in dry and the barn is full. `.repeat(i === 0 ? 192 * 1024 : 4 * 1024), 'text/plain');
    runs.push(await startIngest(h.client, h.config, { bucket: h.bucket, key, etag }));
  }
  worker = startEntry('src/worker/main.ts', processConfig(h.config, { S3_ENDPOINT: proxy.address, SCRATCH_DIR: scratchDir, LOG_LEVEL: 'info' }));
  const failIf = exitedUnexpectedly(worker, 'the worker');
  const [first] = runs as [StartedRun];
  await waitFor(async () => hold.holding() > 0 && (await runningAttempt(h.client, first.workflowId, 'download')) === 1, {
    timeoutMs: 90_000,
    description: 'the first download to be in progress',
    failIf,
  });

  await minio.stop();
  const downAt = Date.now();
  hold.release();
  // The outage is real: the cut-off download failed and is being retried against a dead endpoint.
  await waitFor(
    async () => Date.now() - downAt >= OUTAGE_MS && (await failedAttempts(h.client, first.workflowId, 'download')) > 0,
    { timeoutMs: OUTAGE_MS + 60_000, intervalMs: 500, description: `a failed download attempt and ${OUTAGE_MS} ms of outage`, failIf },
  );
  await minio.start();

  const results = await Promise.all(runs.map((run) => h.client.workflow.getHandle<() => Promise<IngestResult>>(run.workflowId).result()));
  expect(results.map((r) => r.key)).toEqual(runs.map((_, i) => `doc-${String(i).padStart(2, '0')}.txt`));
  const rows = await assetRows(h.pool, h.bucket);
  expect(rows.size).toBe(RUNS);
  expect([...rows.values()].every((n) => n === 1)).toBe(true);
  expect(await filesUnder(scratchDir)).toEqual([]);
}, 300_000);

