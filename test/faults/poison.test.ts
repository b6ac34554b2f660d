import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startIngest } from '../../src/pipelines/ingest.js';
import { assetRows, stepAttempts } from '../support/faults.js';
import { ARTICLE } from '../support/fixtures.js';
import { startHarness, type Harness } from '../support/harness.js';
import { createTestApp, operatorCall } from '../support/api.js';

// A poison file, one that can never be ingested, must fail at once with a reason and no retries;
// the operator fixes it (replaces the object) and retries the failed run, which then succeeds.

let h: Harness;
let call: ReturnType<typeof operatorCall>;

beforeAll(async () => {
  h = await startHarness();
  call = operatorCall(createTestApp(h), h);
});

afterAll(async () => {
  await h?.stop();
});

const path = (workflowId: string, action = ''): string => `/api/v1/workflows/${encodeURIComponent(workflowId)}${action}`;

it('fails a poison file non-retryably with its reason; after the object is replaced, a retry ingests it', async () => {
  // Random bytes after a NUL: no text, no known format.
  const { etag } = await h.put('poison/blob.dat', Buffer.concat([Buffer.from([0, 1, 2, 3]), randomBytes(64 * 1024)]), 'application/octet-stream');
  const run = await startIngest(h.client, h.config, { bucket: h.bucket, key: 'poison/blob.dat', etag });
  await expect(h.client.workflow.getHandle(run.workflowId).result()).rejects.toThrow();

  const failed = (await (await call('GET', path(run.workflowId))).json()) as Record<string, unknown>;
  expect(failed).toMatchObject({ status: 'FAILED', stage: 'extracting', failure: { type: 'UnsupportedContent', nonRetryable: true } });
  expect(JSON.stringify(failed.failure)).toContain('poison/blob.dat');
  // Quickly: the step ran once; Temporal did not retry what cannot succeed.
  expect(await stepAttempts(h.client, run.workflowId)).toMatchObject({ download: 1, extract: 1 });
  expect((await assetRows(h.pool, h.bucket)).get('poison/blob.dat')).toBeUndefined();

  // A retry without a fix fails again, the same way, visibly.
  const again = await call('POST', path(run.workflowId, '/retry'));
  expect(again.status).toBe(202);
  const reset = (await again.json()) as { runId: string; method: string };
  expect(reset).toMatchObject({ method: 'reset', workflowId: run.workflowId });
  await expect(h.client.workflow.getHandle(run.workflowId, reset.runId).result()).rejects.toThrow();
  expect(await (await call('GET', path(run.workflowId))).json()).toMatchObject({ runId: reset.runId, status: 'FAILED', failure: { type: 'UnsupportedContent' } });

  // The fix: the same key, now a text file. The retry runs the object's new version.
  await h.put('poison/blob.dat', ARTICLE, 'text/plain');
  const retried = await call('POST', path(run.workflowId, '/retry'), { reason: 'replaced the file' });
  expect(retried.status).toBe(202);
  const next = (await retried.json()) as { workflowId: string; runId: string; previousWorkflowId: string; method: string };
  expect(next).toMatchObject({ method: 'new-version', previousWorkflowId: run.workflowId, fromStep: null });
  expect(next.workflowId).not.toBe(run.workflowId);
  await h.client.workflow.getHandle(next.workflowId, next.runId).result();
  expect(await (await call('GET', path(next.workflowId))).json()).toMatchObject({ status: 'COMPLETED', stage: 'completed' });
  expect((await assetRows(h.pool, h.bucket)).get('poison/blob.dat')).toBe(1);

  // Retrying the old run again finds that same run of the new version: no second ingest.
  const twice = (await (await call('POST', path(run.workflowId, '/retry'))).json()) as { workflowId: string; runId: string };
  expect(twice).toMatchObject({ workflowId: next.workflowId, runId: next.runId });
  // The poison run stays FAILED in the history, with its reason.
  expect(await (await call('GET', path(run.workflowId))).json()).toMatchObject({ status: 'FAILED' });
}, 120_000);
