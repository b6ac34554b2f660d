import { log } from '@temporalio/activity';
import { DefaultLogger, type LogEntry, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startIngest } from '../src/pipelines/ingest.js';
import { ARTICLE } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';

// A run's trace id reaches the worker's log lines: the workflow's (log attributes from the memo)
// and its activities' (a header the workflow interceptor adds to every scheduled activity).

const entries: LogEntry[] = [];
let h: Harness;

beforeAll(async () => {
  // Before anything creates the runtime: this test file's worker logs into `entries`.
  Runtime.install({ logger: new DefaultLogger('DEBUG', (entry) => entries.push(entry)) });
  h = await startHarness({
    activities: (real) => ({
      ...real,
      async analyse(input: Parameters<typeof real.analyse>[0]) {
        log.info('analysing for the trace test');
        return real.analyse(input);
      },
    }),
  });
});

afterAll(async () => {
  await h?.stop();
});

it('logs the run trace id in workflow and activity log lines', async () => {
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const { etag } = await h.put('traced.txt', ARTICLE, 'text/plain');
  const run = await startIngest(h.client, h.config, { bucket: h.bucket, key: 'traced.txt', etag }, { memo: { traceId } });
  await h.client.workflow.getHandle(run.workflowId).result();

  const ofRun = entries.filter((e) => e.meta?.workflowId === run.workflowId);
  const fromActivity = ofRun.find((e) => e.message === 'analysing for the trace test');
  expect(fromActivity?.meta).toMatchObject({ traceId, activityType: 'analyse' });
  // The SDK's own workflow lines ("Workflow started", "Workflow completed") go through the
  // workflow's log attributes.
  const fromWorkflow = ofRun.filter((e) => e.message.startsWith('Workflow '));
  expect(fromWorkflow.map((e) => e.message)).toContain('Workflow completed');
  expect(fromWorkflow.every((e) => e.meta?.traceId === traceId)).toBe(true);

  // A run without a trace id logs none.
  const { etag: etag2 } = await h.put('untraced.txt', ARTICLE, 'text/plain');
  const plain = await startIngest(h.client, h.config, { bucket: h.bucket, key: 'untraced.txt', etag: etag2 });
  await h.client.workflow.getHandle(plain.workflowId).result();
  const plainEntries = entries.filter((e) => e.meta?.workflowId === plain.workflowId);
  expect(plainEntries.length).toBeGreaterThan(0);
  expect(plainEntries.some((e) => 'traceId' in (e.meta ?? {}))).toBe(false);
});
