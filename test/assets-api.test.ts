import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestResult, IngestWorkflow } from '../src/contracts/ingest.js';
import { startIngest } from '../src/pipelines/ingest.js';
import { createTestApp, expectError, operatorHeaders } from './support/api.js';
import { ARTICLE, makePdf } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';

// The assets API over assets written by real ingest runs (local analysis) on the real stack.

let h: Harness;
let app: ReturnType<typeof createTestApp>;
const results: Record<string, IngestResult> = {};

async function ingest(key: string, body: string | Uint8Array, contentType: string): Promise<IngestResult> {
  const { etag } = await h.put(key, body, contentType);
  const run = await startIngest(h.client, h.config, { bucket: h.bucket, key, etag, contentType });
  return h.client.workflow.getHandle<IngestWorkflow>(run.workflowId).result();
}

beforeAll(async () => {
  h = await startHarness();
  app = createTestApp(h);
  const pdf = await makePdf([['Quarterly report of the orchard cooperative.', 'Apples were sorted by size and colour.']]);
  results.notes = await ingest('notes/pipeline notes.txt', ARTICLE, 'text/plain');
  results.other = await ingest('notes/other.md', `# Other notes\n\n${ARTICLE}`, 'text/markdown');
  results.pdf = await ingest('reports/q3.pdf', pdf, 'application/pdf');
});
afterAll(() => h?.stop());

const get = (path: string, headers: Record<string, string> = {}) => app.request(path, { headers: operatorHeaders(h, headers) });

interface AssetPage {
  assets: { id: string; key: string; format: string; createdAt: string }[];
  nextCursor: string | null;
}

describe('GET /api/v1/assets', () => {
  it('lists newest first, filtered, in keyset pages that neither skip nor repeat', async () => {
    const all = (await (await get(`/api/v1/assets?bucket=${h.bucket}`)).json()) as AssetPage;
    expect(all.assets.map((a) => a.key)).toEqual(['reports/q3.pdf', 'notes/other.md', 'notes/pipeline notes.txt']);
    expect(all.nextCursor).toBeNull();

    const keys: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = (await (await get(`/api/v1/assets?bucket=${h.bucket}&limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json()) as AssetPage;
      keys.push(...page.assets.map((a) => a.key));
      cursor = page.nextCursor;
    }
    expect(keys).toEqual(all.assets.map((a) => a.key));

    const prefix = (await (await get(`/api/v1/assets?bucket=${h.bucket}&prefix=notes/`)).json()) as AssetPage;
    expect(prefix.assets.map((a) => a.key).sort()).toEqual(['notes/other.md', 'notes/pipeline notes.txt']);
    const pdfs = (await (await get(`/api/v1/assets?bucket=${h.bucket}&format=pdf&language=eng`)).json()) as AssetPage;
    expect(pdfs.assets.map((a) => a.key)).toEqual(['reports/q3.pdf']);
    const later = (await (await get(`/api/v1/assets?bucket=${h.bucket}&createdAfter=${encodeURIComponent(new Date(Date.parse(all.assets[1]!.createdAt) + 1).toISOString())}`)).json()) as AssetPage;
    expect(later.assets.map((a) => a.key)).toEqual(['reports/q3.pdf']);
    const labelled = (await (await get(`/api/v1/assets?bucket=${h.bucket}&label=invoice`)).json()) as AssetPage;
    expect(labelled.assets).toEqual([]);
  });

  it('treats LIKE wildcards and SQL in filters as text, and refuses bad cursors and limits', async () => {
    for (const prefix of ['%', 'notes_', "notes/' OR '1'='1", '\\']) {
      const res = await get(`/api/v1/assets?bucket=${h.bucket}&prefix=${encodeURIComponent(prefix)}`);
      expect(res.status, prefix).toBe(200);
      expect(((await res.json()) as AssetPage).assets, prefix).toEqual([]);
    }
    await expectError(await get('/api/v1/assets?cursor=bm90LWEtY3Vyc29y'), 400, 'invalid_cursor');
    await expectError(await get('/api/v1/assets?limit=501'), 400, 'invalid_request');
    await expectError(await get('/api/v1/assets?language=english'), 400, 'invalid_request');
    await expectError(await get('/api/v1/assets?createdAfter=yesterday'), 400, 'invalid_request');
  });
});

describe('GET /api/v1/assets/{id}', () => {
  it('answers everything known about one asset, with its lineage; by-object finds the same', async () => {
    const res = await get(`/api/v1/assets/${results.pdf!.assetId}`);
    expect(res.status).toBe(200);
    const asset = (await res.json()) as Record<string, unknown> & { lineage: Record<string, unknown> & { steps: { stage: string; startedAt: string; endedAt: string }[] } };
    expect(asset).toMatchObject({
      id: results.pdf!.assetId,
      bucket: h.bucket,
      key: 'reports/q3.pdf',
      version: results.pdf!.version,
      sha256: results.pdf!.sha256,
      format: 'pdf',
      language: 'eng',
      chunkCount: results.pdf!.chunks,
      usage: null,
      embeddings: null,
      links: { chunks: `/api/v1/assets/${results.pdf!.assetId}/chunks`, text: `/api/v1/assets/${results.pdf!.assetId}/text` },
    });
    expect(asset.lineage).toMatchObject({
      run: { workflowId: expect.stringMatching(/^ingest:/) as string, uiUrl: expect.stringContaining('/history') as string },
      extractor: expect.stringMatching(/^pdfjs-dist@\d+\.\d+\.\d+$/) as string,
      analysis: { provider: 'local', model: null, promptVersion: null },
      worker: { harvester: '0.1.0' },
    });
    expect(asset.lineage.workerBuildId).toMatch(/^@temporalio\/worker@/);
    expect(asset.lineage.steps.map((s) => s.stage)).toEqual(['downloading', 'extracting', 'analysing', 'persisting']);
    for (const step of asset.lineage.steps) expect(Date.parse(step.endedAt)).toBeGreaterThanOrEqual(Date.parse(step.startedAt));

    const query = new URLSearchParams({ bucket: h.bucket, key: 'reports/q3.pdf', version: results.pdf!.version });
    expect(((await (await get(`/api/v1/assets/by-object?${query.toString()}`)).json()) as { id: string }).id).toBe(results.pdf!.assetId);
    await expectError(await get(`/api/v1/assets/by-object?${new URLSearchParams({ bucket: h.bucket, key: 'reports/q3.pdf', version: 'nope' }).toString()}`), 404, 'asset_not_found');
    await expectError(await get('/api/v1/assets/999999999'), 404, 'asset_not_found');
    await expectError(await get("/api/v1/assets/1'%20OR%201=1"), 400, 'invalid_request');
  });
});

describe('chunks and text', () => {
  it('pages the chunks in order', async () => {
    const id = results.notes!.assetId;
    const seqs: number[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = (await (await get(`/api/v1/assets/${id}/chunks?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json()) as { chunks: { seq: number; text: string }[]; nextCursor: string | null };
      seqs.push(...page.chunks.map((c) => c.seq));
      cursor = page.nextCursor;
    }
    expect(seqs).toEqual(Array.from({ length: results.notes!.chunks }, (_, i) => i));
    await expectError(await get(`/api/v1/assets/${id}/chunks?cursor=eA`), 400, 'invalid_cursor');
  });

  it('streams the extracted text, whole or one byte range', async () => {
    const id = results.notes!.assetId;
    const whole = await get(`/api/v1/assets/${id}/text`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    const text = await whole.text();
    expect(text).toBe(ARTICLE.trimEnd());
    const bytes = Buffer.from(text, 'utf8');

    const part = await get(`/api/v1/assets/${id}/text`, { range: 'bytes=0-7' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-7/${bytes.length}`);
    expect(await part.text()).toBe(bytes.subarray(0, 8).toString('utf8'));
    const tail = await get(`/api/v1/assets/${id}/text`, { range: 'bytes=-6' });
    expect(await tail.text()).toBe(bytes.subarray(bytes.length - 6).toString('utf8'));

    const beyond = await get(`/api/v1/assets/${id}/text`, { range: `bytes=${bytes.length}-` });
    expect(beyond.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    await expectError(beyond, 416, 'range_not_satisfiable');
  });
});
