import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { createActivities } from '../src/activities/index.js';
import { startIngest } from '../src/pipelines/ingest.js';
import { describeRun } from '../src/temporal/runs.js';
import { ARTICLE } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';

// Graceful cancellation: the running activity is cancelled through its heartbeat, the run's
// intermediate files are removed and no asset row appears. The AI step is replaced by one that
// runs until it is cancelled, so the test controls when the cancel lands.

let h: Harness;
let analysing: () => void;
const analysisStarted = new Promise<void>((resolve) => {
  analysing = resolve;
});
let sawAbort = false;

beforeAll(async () => {
  h = await startHarness({
    activities: (real: ReturnType<typeof createActivities>) => ({
      ...real,
      async analyse(): Promise<never> {
        const ctx = Context.current();
        analysing();
        const beat = setInterval(() => ctx.heartbeat(), 100);
        try {
          return await new Promise<never>((_, reject) => {
            ctx.cancellationSignal.addEventListener('abort', () => {
              sawAbort = true;
              reject(ctx.cancellationSignal.reason as Error);
            });
          });
        } finally {
          clearInterval(beat);
        }
      },
    }),
  });
});

afterAll(async () => {
  await h?.stop();
});

it('cancels a running ingest gracefully and leaves nothing behind', async () => {
  await h.put('to-cancel.txt', ARTICLE, 'text/plain');
  const head = await h.storage.head({ bucket: h.bucket, key: 'to-cancel.txt' });
  const run = await startIngest(h.client, h.config, { bucket: h.bucket, key: 'to-cancel.txt', etag: head.etag });
  const handle = h.client.workflow.getHandle(run.workflowId);

  await analysisStarted;
  await handle.cancel();
  await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);

  const status = await describeRun(h.client, h.config, run.workflowId);
  expect(status.status).toBe('CANCELLED');
  expect(status.stage).toBe('analysing');
  expect(sawAbort).toBe(true);
  const work = await h.s3.send(new ListObjectsV2Command({ Bucket: h.config.WORK_BUCKET, Prefix: `ingest/${status.runId}/` }));
  expect(work.KeyCount ?? 0).toBe(0);
  expect(await readdir(h.scratchDir)).toEqual([]);
  const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM assets');
  expect(rows[0]).toEqual({ n: 0 });

  // The history shows the activity was cancelled, not failed or abandoned.
  const history = await handle.fetchHistory();
  const cancelled = history.events?.filter((e) => e.activityTaskCanceledEventAttributes) ?? [];
  expect(cancelled).toHaveLength(1);
});
