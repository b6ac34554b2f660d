import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgAssetRepository } from '../db/assets.js';
import { startIngest } from '../pipelines/ingest.js';
import { describeRun } from '../temporal/runs.js';
import { ARTICLE, makeDocx, makePdf } from '../../test/support/fixtures.js';
import { startHarness, type Harness } from '../../test/support/harness.js';
import { waitFor } from '../../test/support/stack.js';
import type { IngestResult, IngestWorkflow } from '../contracts/ingest.js';

// The ingest workflow on the real dev server, with the real activities (S3, extractors, the local
// AI provider, Postgres).

let h: Harness;
let assets: PgAssetRepository;
beforeAll(async () => {
  h = await startHarness();
  assets = new PgAssetRepository(h.pool);
});

afterAll(async () => {
  await h?.stop();
});

async function ingestAndWait(key: string): Promise<{ workflowId: string; result: IngestResult }> {
  const head = await h.storage.head({ bucket: h.bucket, key });
  const run = await startIngest(h.client, h.config, { bucket: h.bucket, key, etag: head.etag, size: head.size, contentType: head.contentType });
  const result = await h.client.workflow.getHandle<IngestWorkflow>(run.workflowId).result();
  return { workflowId: run.workflowId, result };
}

async function failureOf(key: string) {
  const head = await h.storage.head({ bucket: h.bucket, key });
  const run = await startIngest(h.client, h.config, { bucket: h.bucket, key, etag: head.etag, size: head.size });
  const error = await h.client.workflow.getHandle(run.workflowId).result().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return { run, status: await describeRun(h.client, h.config, run.workflowId) };
}

async function workObjects(prefix: string): Promise<number> {
  const out = await h.s3.send(new ListObjectsV2Command({ Bucket: h.config.WORK_BUCKET, Prefix: prefix }));
  return out.KeyCount ?? 0;
}

describe('ingest workflow', () => {
  it('turns a text object into one analysed asset with chunks, and cleans up after itself', async () => {
    await h.put('notes/pipeline notes.txt', ARTICLE, 'text/plain');
    const { workflowId, result } = await ingestAndWait('notes/pipeline notes.txt');

    expect(result).toMatchObject({ stage: 'completed', progress: 1, format: 'text', language: 'eng', created: true });
    expect(result.keywords.length).toBeGreaterThan(0);
    const row = await assets.findByObject(h.bucket, 'notes/pipeline notes.txt', result.version);
    expect(row).toMatchObject({
      sha256: result.sha256,
      size_bytes: String(Buffer.byteLength(ARTICLE)),
      content_type: 'text/plain',
      language: 'eng',
      text_chars: ARTICLE.length,
      workflow_id: workflowId,
    });
    expect(row?.summary.length).toBeGreaterThan(0);
    expect(await assets.countChunks(row!.id)).toBe(result.chunks);

    const status = await describeRun(h.client, h.config, workflowId);
    expect(status).toMatchObject({ status: 'COMPLETED', pipeline: 'ingest', stage: 'completed', progress: 1, failure: null });
    expect(await workObjects(`ingest/${status.runId}/`)).toBe(0);
    expect(await readdir(h.scratchDir)).toEqual([]);
  });

  it.each([
    ['report.pdf', 'application/pdf', () => makePdf([[ARTICLE], ['The second page talks about retries.']]), 'pdf'],
    ['letter.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', () => makeDocx([ARTICLE, 'Kind regards.']), 'docx'],
    ['page.html', 'text/html', () => Promise.resolve(`<html><head><title>T</title></head><body><p>${ARTICLE}</p></body></html>`), 'html'],
    ['readme.md', 'text/markdown', () => Promise.resolve(`# Pipelines\n\n${ARTICLE}\n\n- one\n- two\n`), 'markdown'],
    ['data.json', 'application/json', () => Promise.resolve(JSON.stringify({ title: 'Pipelines', body: ARTICLE })), 'json'],
    ['table.csv', 'text/csv', () => Promise.resolve(`name,description\npipeline,"${ARTICLE}"\n`), 'csv'],
  ])('ingests %s', async (key, contentType, make, format) => {
    await h.put(key, await make(), contentType);
    const { result } = await ingestAndWait(key);
    expect(result.format).toBe(format);
    expect(result.textChars).toBeGreaterThan(100);
    expect(result.language).toBe('eng');
  });

  it('collapses a repeated start of the same object version into one run and one row', async () => {
    await h.put('twice.txt', ARTICLE, 'text/plain');
    const head = await h.storage.head({ bucket: h.bucket, key: 'twice.txt' });
    const object = { bucket: h.bucket, key: 'twice.txt', etag: head.etag };
    const first = await startIngest(h.client, h.config, object);
    const second = await startIngest(h.client, h.config, object);
    expect(second).toEqual({ ...first, duplicate: true });
    await h.client.workflow.getHandle(first.workflowId).result();
    const third = await startIngest(h.client, h.config, object);
    expect(third).toEqual({ ...first, duplicate: true });
    const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM assets WHERE key = $1', ['twice.txt']);
    expect(rows[0]).toEqual({ n: 1 });
  });

  it('fails a corrupt PDF quickly and non-retryably, with the reason, and writes nothing', async () => {
    const pdf = await makePdf([[ARTICLE]]);
    await h.put('broken.pdf', pdf.slice(0, Math.floor(pdf.length / 2)), 'application/pdf');
    const { status } = await failureOf('broken.pdf');
    expect(status.failure).toMatchObject({ type: 'CorruptContent', nonRetryable: true });
    expect(status.failure?.message).toMatch(/broken\.pdf/);
    expect(status.stage).toBe('extracting');
    const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM assets WHERE key = $1', ['broken.pdf']);
    expect(rows[0]).toEqual({ n: 0 });
    expect(await workObjects(`ingest/${status.runId}/`)).toBe(0);
  });

  it('fails an unsupported file type non-retryably', async () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
    await h.put('picture.png', png, 'image/png');
    const { status } = await failureOf('picture.png');
    expect(status.failure).toMatchObject({ type: 'UnsupportedContent', nonRetryable: true });
  });

  it('fails non-retryably when the object is gone', async () => {
    const run = await startIngest(h.client, h.config, { bucket: h.bucket, key: 'never-uploaded.txt', etag: 'deadbeef' });
    await expect(h.client.workflow.getHandle(run.workflowId).result()).rejects.toBeInstanceOf(WorkflowFailedError);
    const status = await describeRun(h.client, h.config, run.workflowId);
    expect(status.failure).toMatchObject({ type: 'ObjectNotFound', nonRetryable: true });
    expect(status.stage).toBe('downloading');
  });

  it('reports the stage of a running workflow through its query', async () => {
    await h.put('watched.txt', ARTICLE, 'text/plain');
    const head = await h.storage.head({ bucket: h.bucket, key: 'watched.txt' });
    const run = await startIngest(h.client, h.config, { bucket: h.bucket, key: 'watched.txt', etag: head.etag });
    const seen = await waitFor(
      async () => {
        const status = await describeRun(h.client, h.config, run.workflowId);
        return status.stage !== null ? status : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50, description: 'a stage to be reported' },
    );
    expect(['queued', 'downloading', 'extracting', 'analysing', 'persisting', 'completed']).toContain(seen.stage);
    await h.client.workflow.getHandle(run.workflowId).result();
  });
});
