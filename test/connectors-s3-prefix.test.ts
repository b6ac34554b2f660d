import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestInput } from '../src/contracts/ingest.js';
import { createTestApp, expectError, operatorCall } from './support/api.js';
import { startHarness, type Harness } from './support/harness.js';

// An s3-prefix connector on the real stack: objects under a prefix become ingest child runs; the
// second sync takes only what is new or changed, deletions are reported, and an object whose
// ingest fails stays out of the cursor until a later sync gets it through.

let h: Harness;
let app: ReturnType<typeof createTestApp>;
let call: ReturnType<typeof operatorCall>;
// Objects whose download the test makes fail for good (a poison file).
const poisoned = new Set<string>();

beforeAll(async () => {
  h = await startHarness({
    activities: (real) => ({
      ...real,
      async download(object: IngestInput) {
        if (poisoned.has(object.key)) throw ApplicationFailure.nonRetryable(`poisoned for the test: ${object.key}`, 'CorruptContent');
        return real.download(object);
      },
    }),
  });
  app = createTestApp(h);
  call = operatorCall(app, h);
});

afterAll(async () => {
  await h?.stop();
});

type Json = Record<string, unknown>;

async function syncNow(id: string): Promise<{ workflowId: string; outcome: Promise<Json> }> {
  const res = await call('POST', `/api/v1/connectors/${id}/sync`);
  expect(res.status).toBe(202);
  const { workflowId } = (await res.json()) as { workflowId: string };
  return { workflowId, outcome: h.client.workflow.getHandle(workflowId).result() as Promise<Json> };
}

const assetKeys = async () => (await h.pool.query<{ key: string }>('SELECT key FROM assets WHERE bucket = $1 ORDER BY key', [h.bucket])).rows.map((r) => r.key);
const taken = async (id: string) =>
  (await h.pool.query<{ key: string; etag: string }>('SELECT key, etag FROM connector_objects WHERE connector_id = $1 ORDER BY key', [id])).rows.map((r) => r.key);

describe('s3-prefix connector', () => {
  let id: string;

  it('ingests every matching object on the first sync, each as a child run', async () => {
    await h.put('docs/a.txt', 'Harvester keeps every accepted event. The first document talks about rivers and lakes.', 'text/plain');
    await h.put('docs/b.txt', 'A second document about mountains, valleys and the weather in the Alps.', 'text/plain');
    await h.put('docs/sub/c.txt', 'A third document, one folder down, about trains and timetables.', 'text/plain');
    await h.put('docs/skip.bin', 'not matched by the suffix');
    await h.put('elsewhere/d.txt', 'outside the prefix');

    const res = await call('POST', '/api/v1/connectors', { name: 'docs', kind: 's3-prefix', config: { bucket: h.bucket, prefix: 'docs/', suffix: '.txt' }, schedule: { every: '30m' } });
    expect(res.status).toBe(201);
    ({ id } = (await res.json()) as { id: string });

    const { workflowId, outcome } = await syncNow(id);
    expect(await outcome).toEqual({ kind: 's3-prefix', changed: true, listed: 3, ingested: 3, deleted: 0, deletedKeys: [] });
    expect(await assetKeys()).toEqual(['docs/a.txt', 'docs/b.txt', 'docs/sub/c.txt']);
    expect(await taken(id)).toEqual(['docs/a.txt', 'docs/b.txt', 'docs/sub/c.txt']);

    // The ingests ran as children of the sync.
    const children = [];
    for await (const run of h.client.workflow.list({ query: `ParentWorkflowId = '${workflowId}'` })) children.push(run.workflowId);
    expect(children).toHaveLength(3);
    expect(children.every((c) => c.startsWith(`ingest:connector-${id}/${h.bucket}/docs/`))).toBe(true);
  });

  it('takes only new and changed objects on the next sync, and reports deletions', async () => {
    await h.put('docs/a.txt', 'The first document, rewritten: now it talks about the sea and its harbours.', 'text/plain');
    await h.put('docs/e.txt', 'A new document about libraries, books and quiet reading rooms.', 'text/plain');
    await h.s3.send(new DeleteObjectCommand({ Bucket: h.bucket, Key: 'docs/b.txt' }));

    const { workflowId, outcome } = await syncNow(id);
    expect(await outcome).toEqual({ kind: 's3-prefix', changed: true, listed: 3, ingested: 2, deleted: 1, deletedKeys: ['docs/b.txt'] });
    const children = [];
    for await (const run of h.client.workflow.list({ query: `ParentWorkflowId = '${workflowId}'` })) children.push(run.workflowId);
    expect(children.map((c) => c.replace(/@.*$/, '')).sort()).toEqual([`ingest:connector-${id}/${h.bucket}/docs/a.txt`, `ingest:connector-${id}/${h.bucket}/docs/e.txt`]);
    expect(await taken(id)).toEqual(['docs/a.txt', 'docs/e.txt', 'docs/sub/c.txt']);

    // Nothing new: a quick sync that starts nothing and records its check.
    const before = (await h.pool.query<{ checked_at: Date }>('SELECT checked_at FROM connector_cursors WHERE connector_id = $1', [id])).rows[0]!.checked_at;
    const quiet = await syncNow(id);
    expect(await quiet.outcome).toEqual({ kind: 's3-prefix', changed: false, listed: 3, ingested: 0, deleted: 0, deletedKeys: [] });
    const after = (await h.pool.query<{ checked_at: Date }>('SELECT checked_at FROM connector_cursors WHERE connector_id = $1', [id])).rows[0]!.checked_at;
    expect(after.getTime()).toBeGreaterThan(before.getTime());
  });

  it('leaves a failed object out of the cursor, fails the sync visibly, and takes it once it ingests', async () => {
    await h.put('docs/f.txt', 'A document that will not ingest the first time.', 'text/plain');
    await h.put('docs/g.txt', 'A document that ingests fine, next to a failing one.', 'text/plain');
    poisoned.add('docs/f.txt');

    const { outcome } = await syncNow(id);
    const failure = await outcome.then(() => undefined, (err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toMatchObject({ type: 'ObjectsFailed', nonRetryable: true });
    expect(cause.message).toMatch(/^1 of 2 changed objects failed to ingest; the next sync retries them\. First: docs\/f\.txt .*poisoned for the test/);
    expect(await taken(id)).toEqual(['docs/a.txt', 'docs/e.txt', 'docs/g.txt', 'docs/sub/c.txt']);

    // Once the cause is gone, the next sync (sync now works on a paused schedule too) takes it.
    poisoned.clear();
    const retry = await syncNow(id);
    expect(await retry.outcome).toMatchObject({ ingested: 1, listed: 5 });
    expect(await taken(id)).toEqual(['docs/a.txt', 'docs/e.txt', 'docs/f.txt', 'docs/g.txt', 'docs/sub/c.txt']);
  });

  it('refuses a missing bucket and a mapping it cannot use', async () => {
    await expectError(await call('POST', '/api/v1/connectors', { name: 'nowhere', kind: 's3-prefix', config: { bucket: 'no-such-bucket-here', prefix: '' }, schedule: { every: '1h' } }), 422, 'bucket_not_found');
    await expectError(await call('POST', '/api/v1/connectors', { name: 'mapped', kind: 's3-prefix', config: { bucket: h.bucket }, schedule: { every: '1h' }, mapping: '1' }), 400, 'invalid_request');
    await expectError(await call('PATCH', `/api/v1/connectors/${id}`, { config: { url: 'https://example.com/x.csv' } }), 400, 'invalid_config');
  });
});
