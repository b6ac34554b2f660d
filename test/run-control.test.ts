import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../src/activities/index.js';
import { type ObjectLocator, type ObjectStream, S3Storage } from '../src/storage/s3.js';
import { createS3Client } from '../src/storage/s3.js';
import { ARTICLE } from './support/fixtures.js';
import { createTestApp, deferred, expectError, heldUntil, operatorHeaders } from './support/api.js';
import { startHarness, type Harness } from './support/harness.js';
import { waitFor } from './support/stack.js';

// Cancel, terminate and retry through the API, on the real servers. Objects under `slow/` are
// served by a storage that sends one chunk and then stalls, so a cancel lands mid-download;
// runs of objects under `fail-once/` fail in `persist` the first time only; runs of objects under
// `held/` wait in `analyse` until the test releases them.

/** Sends the first chunk of the object, then nothing until the transfer is torn down. */
class StallingStorage extends S3Storage {
  readonly firstChunkSent = deferred();
  readonly tornDown = deferred();

  override async read(object: ObjectLocator, signal?: AbortSignal): Promise<ObjectStream> {
    const real = await super.read(object, signal);
    if (!object.key.startsWith('slow/')) return real;
    const body = new Readable({
      read() {},
      destroy: (err, done) => {
        this.tornDown.resolve();
        done(err);
      },
    });
    real.body.once('data', (chunk: Buffer) => {
      real.body.destroy();
      body.push(chunk);
      this.firstChunkSent.resolve();
    });
    return { ...real, body };
  }
}

let h: Harness;
let app: ReturnType<typeof createTestApp>;
let storage: StallingStorage;
const downloads = new Map<string, number>();
const failedOnce = new Set<string>();
const release = deferred();

beforeAll(async () => {
  h = await startHarness({
    activities: (_real, resources) => {
      storage = new StallingStorage(createS3Client(resources.config));
      const real = createActivities({ ...resources, storage });
      return {
        ...real,
        async download(input: Parameters<typeof real.download>[0]) {
          downloads.set(input.key, (downloads.get(input.key) ?? 0) + 1);
          return real.download(input);
        },
        async analyse(input: Parameters<typeof real.analyse>[0]) {
          if (Context.current().info.workflowExecution?.workflowId.includes('/held/')) await heldUntil(release.promise);
          return real.analyse(input);
        },
        async persist(input: Parameters<typeof real.persist>[0]) {
          if (input.object.key.startsWith('fail-once/') && !failedOnce.has(input.object.key)) {
            failedOnce.add(input.object.key);
            throw ApplicationFailure.nonRetryable('the database refused the row (test)', 'TestRefusal');
          }
          return real.persist(input);
        },
      };
    },
  });
  app = createTestApp(h);
});

afterAll(async () => {
  release.resolve();
  await h?.stop();
});

async function start(key: string, body: string | Uint8Array = ARTICLE): Promise<{ workflowId: string; runId: string }> {
  await h.put(key, body, 'text/plain');
  const res = await app.request('/api/v1/workflows/ingest', { method: 'POST', headers: operatorHeaders(h), body: JSON.stringify({ bucket: h.bucket, key }) });
  expect(res.status).toBe(202);
  return (await res.json()) as { workflowId: string; runId: string };
}

const path = (workflowId: string, action = '') => `/api/v1/workflows/${encodeURIComponent(workflowId)}${action}`;

async function post(workflowId: string, action: string, body?: unknown): Promise<Response> {
  if (body === undefined) return app.request(path(workflowId, action), { method: 'POST', headers: { authorization: `Bearer ${h.config.API_KEY}` } });
  return app.request(path(workflowId, action), { method: 'POST', headers: operatorHeaders(h), body: JSON.stringify(body) });
}

async function statusOf(workflowId: string): Promise<Record<string, unknown>> {
  const res = await app.request(path(workflowId), { headers: operatorHeaders(h) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

async function assetCount(key: string): Promise<number> {
  const { rows } = await h.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM assets WHERE key = $1', [key]);
  return rows[0]!.n;
}

describe('POST /api/v1/workflows/{id}/cancel', () => {
  it('cancels a run during a long download: the transfer stops, no temp file, no row, CANCELLED', async () => {
    const key = 'slow/large.txt';
    const run = await start(key, ARTICLE.repeat(200));
    await storage.firstChunkSent.promise;
    // The partial download is on disk while the transfer waits for more bytes.
    const partials = await waitFor(async () => {
      const dirs = await readdir(h.scratchDir);
      const files = (await Promise.all(dirs.map((d) => readdir(join(h.scratchDir, d))))).flat();
      return files.some((f) => f.endsWith('.part')) ? files : undefined;
    }, { timeoutMs: 10_000, intervalMs: 20, description: 'a partial download in the scratch folder' });
    expect(partials.length).toBeGreaterThan(0);

    const res = await post(run.workflowId, '/cancel');
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ workflowId: run.workflowId, runId: run.runId, mode: 'cancel', status: 'CANCEL_REQUESTED' });

    await expect(h.client.workflow.getHandle(run.workflowId).result()).rejects.toThrow();
    await storage.tornDown.promise;
    const status = await statusOf(run.workflowId);
    expect(status).toMatchObject({ status: 'CANCELLED', stage: 'downloading' });
    expect(await readdir(h.scratchDir)).toEqual([]);
    expect(await assetCount(key)).toBe(0);
    const work = await h.s3.send(new ListObjectsV2Command({ Bucket: h.config.WORK_BUCKET, Prefix: `ingest/${run.runId}/` }));
    expect(work.KeyCount ?? 0).toBe(0);
    const history = await h.client.workflow.getHandle(run.workflowId).fetchHistory();
    expect(history.events?.filter((e) => e.activityTaskCanceledEventAttributes)).toHaveLength(1);

    await expectError(await post(run.workflowId, '/cancel'), 409, 'run_closed');
  });

  it('terminates a run on request, with the reason recorded', async () => {
    const run = await start('held/terminate-me.txt');
    await waitFor(async () => ((await statusOf(run.workflowId)).stage === 'analysing' ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 50,
      description: 'the run to reach analysing',
    });
    const res = await post(run.workflowId, '/cancel', { mode: 'terminate', reason: 'operator: wrong file' });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ mode: 'terminate', status: 'TERMINATED' });
    expect(await statusOf(run.workflowId)).toMatchObject({ status: 'TERMINATED', failure: { type: 'Terminated', message: 'operator: wrong file' } });
    await expectError(await post(run.workflowId, '/cancel', { mode: 'terminate' }), 409, 'run_closed');
  });

  it('answers 404 for an unknown run and 400 for a bad body', async () => {
    await expectError(await post('ingest:nope/none@x', '/cancel'), 404, 'workflow_not_found');
    await expectError(await post('ingest:nope/none@x', '/cancel', { mode: 'explode' }), 400, 'invalid_request');
  });
});

describe('POST /api/v1/workflows/{id}/retry', () => {
  it('re-runs a failed run from the failed step, and the new run completes', async () => {
    const key = 'fail-once/ledger.txt';
    const run = await start(key);
    await expect(h.client.workflow.getHandle(run.workflowId, run.runId).result()).rejects.toThrow();
    expect(await statusOf(run.workflowId)).toMatchObject({ status: 'FAILED', stage: 'persisting', failure: { type: 'TestRefusal' } });

    const res = await post(run.workflowId, '/retry', { reason: 'database fixed' });
    expect(res.status).toBe(202);
    const retried = (await res.json()) as { runId: string; previousRunId: string; method: string; fromStep: string | null };
    expect(retried).toMatchObject({ workflowId: run.workflowId, previousRunId: run.runId, method: 'reset', fromStep: 'persist' });
    expect(retried.runId).not.toBe(run.runId);

    await h.client.workflow.getHandle(run.workflowId, retried.runId).result();
    expect(await statusOf(run.workflowId)).toMatchObject({ status: 'COMPLETED', runId: retried.runId, stage: 'completed' });
    expect(await assetCount(key)).toBe(1);
    // Download, extract and analyse were not repeated: the reset replayed their results.
    expect(downloads.get(key)).toBe(1);
    // A completed run removes its intermediate products, the failed run's included.
    const work = await h.s3.send(new ListObjectsV2Command({ Bucket: h.config.WORK_BUCKET, Prefix: `ingest/${run.runId}/` }));
    expect(work.KeyCount ?? 0).toBe(0);

    await expectError(await post(run.workflowId, '/retry'), 409, 'run_not_retryable');
  });

  it('refuses to retry a running run', async () => {
    const run = await start('held/still-running.txt');
    await expectError(await post(run.workflowId, '/retry'), 409, 'run_running');
    await post(run.workflowId, '/cancel', { mode: 'terminate' });
  });
});
