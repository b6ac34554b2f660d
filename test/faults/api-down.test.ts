import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/net.js';
import { assetRows } from '../support/faults.js';
import { startHarness, type Harness } from '../support/harness.js';
import { type EntryProcess, exitedUnexpectedly, startEntry, stopEntry } from '../support/processes.js';
import { type OwnMinio, startOwnMinio } from '../support/servers.js';
import { waitFor } from '../support/stack.js';

// The api is down while 100 objects are uploaded. MinIO keeps each notification in its on-disk
// queue and delivers them when the api is back: 100 runs, 100 asset rows, nothing lost, nothing
// twice.

const UPLOADS = 100;
const BUCKET = 'uploads';

let minio: OwnMinio;
let h: Harness;
const processes: EntryProcess[] = [];

beforeAll(async () => {
  const port = await freePort();
  const webhookToken = 'api-down-webhook-token';
  minio = await startOwnMinio({
    ingestBucket: BUCKET,
    workBucket: 'harvester-work',
    webhookEndpoint: `http://127.0.0.1:${port}/api/v1/events/s3`,
    webhookToken,
  });
  h = await startHarness({
    worker: false,
    configOverrides: { S3_ENDPOINT: minio.address, INGEST_BUCKET: BUCKET, WORK_BUCKET: 'harvester-work', WEBHOOK_TOKEN: webhookToken, PORT: String(port) },
  });
});

afterAll(async () => {
  for (const proc of processes) await stopEntry(proc, 'SIGKILL');
  await h?.stop();
  await minio?.remove();
});

it(`delivers ${UPLOADS} uploads made while the api was down, once it is back: ${UPLOADS} runs, ${UPLOADS} rows`, async () => {
  for (let i = 0; i < UPLOADS; i++) {
    const body = `Upload ${i}: the orchard's apples were graded and sent to market ${i % 5}.\n`.repeat(20);
    await h.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `incoming/${i}.txt`, Body: body, ContentType: 'text/plain' }));
  }
  // Nobody answers at the webhook: every event waits in MinIO's queue on disk.
  await waitFor(async () => (await minio.queuedEvents()) === UPLOADS, {
    timeoutMs: 60_000,
    description: `MinIO to queue the ${UPLOADS} undelivered notifications`,
  });

  const api = startEntry('src/api/main.ts', h.config);
  const worker = startEntry('src/worker/main.ts', h.config);
  processes.push(api, worker);
  const failIf = (): Error | undefined => exitedUnexpectedly(api, 'the api')() ?? exitedUnexpectedly(worker, 'the worker')();

  await waitFor(async () => (await assetRows(h.pool, BUCKET)).size === UPLOADS, {
    timeoutMs: 240_000,
    intervalMs: 500,
    description: `${UPLOADS} asset rows`,
    failIf,
  });
  const rows = await assetRows(h.pool, BUCKET);
  expect([...rows.values()].every((n) => n === 1)).toBe(true);
  expect(await minio.queuedEvents()).toBe(0);

  // One run per upload: the runs on this test's task queue, once all have closed (a run writes
  // its row, then removes its intermediate files; visibility lags a little).
  const query = `TaskQueue = '${h.config.TEMPORAL_TASK_QUEUE}'`;
  await waitFor(async () => (await h.client.workflow.count(`${query} AND ExecutionStatus = 'Completed'`)).count === UPLOADS, {
    timeoutMs: 60_000,
    description: `${UPLOADS} completed runs in visibility`,
  });
  const ids = new Set<string>();
  for await (const run of h.client.workflow.list({ query })) ids.add(run.workflowId);
  expect(ids.size).toBe(UPLOADS);
  expect((await h.client.workflow.count(query)).count).toBe(UPLOADS);
}, 360_000);
