import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { planWindows, windowBudgetChars } from '../src/ai/windows.js';
import type { IngestResult, IngestWorkflow } from '../src/contracts/ingest.js';
import { PgAssetRepository } from '../src/db/assets.js';
import { startIngest } from '../src/pipelines/ingest.js';
import { ledgerProse as prose, makePdf } from './support/fixtures.js';
import { describeRun } from '../src/temporal/runs.js';
import { type Harness, startHarness } from './support/harness.js';
import { type OpenAiServer, type RecordedCall, startOpenAiServer } from './support/openai-server.js';
import { waitFor } from './support/stack.js';

// Ingest with AI_PROVIDER=openai-compatible on the real stack: the real openai client against the
// test server that speaks OpenAI's protocol, model calls on their own task queue.

const CONTEXT_TOKENS = 2048;
const OUTPUT_TOKENS = 256;
const WINDOW_CHARS = windowBudgetChars(CONTEXT_TOKENS, OUTPUT_TOKENS);
const PRICES = { 'test-model': { input: 0.5, output: 1.5 }, 'test-embedding': { input: 0.02, output: 0 } };

let server: OpenAiServer;

function aiSettings(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    AI_PROVIDER: 'openai-compatible',
    AI_BASE_URL: server.url,
    AI_API_KEY: 'test-key',
    AI_MODEL: 'test-model',
    AI_EMBEDDING_MODEL: 'test-embedding',
    AI_LABELS: 'report,invoice,letter',
    AI_QUESTIONS: '2',
    AI_CONTEXT_TOKENS: String(CONTEXT_TOKENS),
    AI_MAX_OUTPUT_TOKENS: String(OUTPUT_TOKENS),
    AI_PARALLEL_CALLS: '3',
    AI_PRICES: JSON.stringify(PRICES),
    ...overrides,
  };
}

async function ingest(h: Harness, key: string, text: string) {
  await h.put(key, text, 'text/plain');
  const head = await h.storage.head({ bucket: h.bucket, key });
  return startIngest(h.client, h.config, { bucket: h.bucket, key, etag: head.etag, size: head.size, contentType: head.contentType });
}

async function outcome(h: Harness, workflowId: string): Promise<unknown> {
  return h.client.workflow.getHandle<IngestWorkflow>(workflowId).result().then((r) => r, (err: unknown) => err);
}

const chat = (c: RecordedCall) => c.path === '/v1/chat/completions';
const windowOf = (c: RecordedCall) => /This is part (\d+) of (\d+)/.exec(c.messages?.[1]?.content ?? '')?.[1];

beforeAll(async () => {
  server = await startOpenAiServer();
});
afterAll(() => server?.close());

describe('with a model', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ configOverrides: aiSettings() });
  });
  afterAll(() => h?.stop());
  beforeEach(() => server.reset());

  it('map-reduces a long document: one call per window, combining calls, embeddings; usage in the result, the status and the database', async () => {
    const text = prose(WINDOW_CHARS * 4.5, 'harvest');
    const windows = planWindows(text, WINDOW_CHARS).length;
    expect(windows).toBeGreaterThanOrEqual(5);
    server.setLatency(150);
    const run = await ingest(h, 'docs/long report.txt', text);
    const result = (await outcome(h, run.workflowId)) as IngestResult;
    server.setLatency(0);

    expect(result).toMatchObject({ stage: 'completed', windows, windowsDone: windows });
    const windowCalls = server.calls.filter((c) => chat(c) && windowOf(c) !== undefined);
    expect(windowCalls.map(windowOf).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: windows }, (_, i) => String(i + 1)));
    const combining = server.calls.filter((c) => chat(c) && c.messages?.[1]?.content.includes('<part-analyses>'));
    expect(combining.length).toBeGreaterThanOrEqual(1);
    const embeddings = server.calls.filter((c) => c.path === '/v1/embeddings');
    expect(embeddings).toHaveLength(1);
    // AI_PARALLEL_CALLS=3: the windows ran side by side, never more than three at once.
    expect(mostAtOnce(windowCalls)).toBe(3);

    const usage = result.usage!;
    expect(usage).toMatchObject({ provider: 'openai-compatible', calls: windows + combining.length + 1 });
    expect(usage.byModel['test-embedding']!.embeddingTokens).toBeGreaterThan(0);
    expect(usage.totalTokens).toBe(usage.promptTokens + usage.completionTokens + usage.embeddingTokens);
    expect(usage.costUsd).toBeGreaterThan(0);
    const chatUsage = usage.byModel['test-model']!;
    expect(usage.costUsd).toBeCloseTo((chatUsage.promptTokens * 0.5 + chatUsage.completionTokens * 1.5 + usage.embeddingTokens * 0.02) / 1e6, 5);
    expect((await describeRun(h.client, h.config, run.workflowId)).usage).toEqual(usage);

    const assets = new PgAssetRepository(h.pool);
    const row = (await assets.findByObject(h.bucket, 'docs/long report.txt', result.version))!;
    expect(row.title).toBe(result.title);
    expect(row.summary).toBe(result.summary);
    for (const label of row.labels) expect(['report', 'invoice', 'letter']).toContain(label);
    expect(row.questions.length).toBeLessThanOrEqual(2);
    const [aiRun, ...more] = await assets.aiRuns(row.id);
    expect(more).toEqual([]);
    expect(aiRun).toMatchObject({ provider: 'openai-compatible', model: 'test-model', embedding_model: 'test-embedding', prompt_version: 'analysis/v1', run_id: run.runId });
    expect(aiRun!.calls).toHaveLength(usage.calls);
    expect(aiRun!.prompt_tokens + aiRun!.completion_tokens + aiRun!.embedding_tokens).toBe(usage.totalTokens);
    expect(Number(aiRun!.cost_usd)).toBeCloseTo(usage.costUsd!, 6);
    const chunks = await assets.chunkEmbeddings(row.id);
    expect(chunks.length).toBe(result.chunks);
    for (const chunk of chunks) expect(chunk).toMatchObject({ model: 'test-embedding', dimensions: 16 });
  });

  it('rides out a 429 storm, waiting as long as the server asks', async () => {
    server.fail({ kind: 'status', status: 429, retryAfterSeconds: 2 }, { times: 2, when: (r) => r.kind === 'chat' });
    const run = await ingest(h, 'docs/short.txt', 'A short letter about apples.');
    const result = (await outcome(h, run.workflowId)) as IngestResult;
    expect(result.stage).toBe('completed');

    const [first, second, third] = server.calls.filter(chat);
    expect([first!.status, second!.status, third!.status]).toEqual([429, 429, 200]);
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(2000);
    expect(third!.receivedAt - second!.receivedAt).toBeGreaterThanOrEqual(2000);
    // The history records the call's third attempt, and its last failure was the rate limit.
    const events = (await h.client.workflow.getHandle(run.workflowId).fetchHistory()).events ?? [];
    const started = startedAttempts(events, 'describeWindow');
    expect(started).toEqual([3]);
    const lastFailure = events.find((e) => e.activityTaskStartedEventAttributes?.attempt === 3)?.activityTaskStartedEventAttributes?.lastFailure;
    expect(lastFailure?.applicationFailureInfo?.type).toBe('AiRateLimited');
    expect(lastFailure?.message).toMatch(/rate-limiting \(429 rate_limit_exceeded/);
    // The schedule-to-start wait of the last attempt holds both delays the server asked for.
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'describeWindow');
    const startedEvent = events.find((e) => e.activityTaskStartedEventAttributes?.attempt === 3);
    expect(millis(startedEvent!.eventTime) - millis(scheduled!.eventTime)).toBeGreaterThanOrEqual(4000);
  });

  it('retries a server error with backoff', async () => {
    server.fail({ kind: 'status', status: 500 }, { when: (r) => r.kind === 'chat' });
    const run = await ingest(h, 'docs/flaky.txt', 'A letter that meets a flaky server.');
    expect(((await outcome(h, run.workflowId)) as IngestResult).stage).toBe('completed');
    expect(server.calls.filter(chat).map((c) => c.status)).toEqual([500, 200]);
    const events = (await h.client.workflow.getHandle(run.workflowId).fetchHistory()).events ?? [];
    expect(startedAttempts(events, 'describeWindow')).toEqual([2]);
  });

  it('a refused request fails the run at once, with the setting to fix in the status', async () => {
    server.fail({ kind: 'status', status: 401 }, { when: (r) => r.kind === 'chat' });
    const run = await ingest(h, 'docs/refused.txt', 'Any text at all.');
    await outcome(h, run.workflowId);
    const status = await describeRun(h.client, h.config, run.workflowId);
    expect(status.failure).toMatchObject({ type: 'AiRequestRefused', nonRetryable: true, message: expect.stringContaining('check AI_API_KEY') as string });
    expect(server.calls.filter(chat)).toHaveLength(1);
  });

  it('an answer that stays invalid after the repair fails as ModelOutputInvalid, quoting it', async () => {
    server.fail({ kind: 'invalid-json' }, { times: 2 });
    const run = await ingest(h, 'docs/garbled.txt', 'Some text for a garbled answer.');
    await outcome(h, run.workflowId);
    const status = await describeRun(h.client, h.config, run.workflowId);
    expect(status.failure).toMatchObject({ type: 'ModelOutputInvalid', nonRetryable: true, message: expect.stringContaining('it began: ') as string });
    expect(server.calls.filter(chat)).toHaveLength(2);
  });

  it('cancelling the run aborts the model call in flight; the status showed the windows and usage so far', async () => {
    server.fail({ kind: 'hang' });
    const run = await ingest(h, 'docs/hang.txt', 'A text whose model never answers.');
    await server.waitForCalls(1, chat);
    const running = await waitFor(async () => {
      const s = await describeRun(h.client, h.config, run.workflowId);
      return s.currentStep?.name === 'describeWindow' && s.usage ? s : undefined;
    }, { timeoutMs: 20_000, description: 'the status to show the model call' });
    expect(running).toMatchObject({ stage: 'analysing', counters: { windows: 1, windowsDone: 0 }, usage: { calls: 0, totalTokens: 0 } });

    await h.client.workflow.getHandle(run.workflowId).cancel();
    await outcome(h, run.workflowId);
    await waitFor(() => server.calls[0]!.aborted, { timeoutMs: 20_000, description: 'the model call to be aborted' });
    expect((await describeRun(h.client, h.config, run.workflowId)).status).toBe('CANCELLED');
  });
});

describe('with a large context', () => {
  const CONTEXT = 32_768;
  let big: OpenAiServer;
  let h: Harness;
  beforeAll(async () => {
    big = await startOpenAiServer({ contextTokens: CONTEXT });
    h = await startHarness({ configOverrides: { ...aiSettings({ AI_CONTEXT_TOKENS: String(CONTEXT), AI_MAX_OUTPUT_TOKENS: '1024', AI_PARALLEL_CALLS: '8' }), AI_BASE_URL: big.url } });
  });
  afterAll(async () => {
    await h?.stop();
    await big?.close();
  });

  it('analyses a 500-page PDF: every window within the context, every chunk embedded', async () => {
    const pages = Array.from({ length: 500 }, (_, p) =>
      Array.from({ length: 30 }, (_, l) => `Page ${p + 1}, line ${l + 1}: the cooperative sorted ${p * 30 + l} crates of apples by size and colour.`),
    );
    const pdf = await makePdf(pages, { title: 'Five hundred pages' });
    await h.put('docs/500 pages.pdf', pdf, 'application/pdf');
    const head = await h.storage.head({ bucket: h.bucket, key: 'docs/500 pages.pdf' });
    const run = await startIngest(h.client, h.config, { bucket: h.bucket, key: 'docs/500 pages.pdf', etag: head.etag, size: head.size, contentType: 'application/pdf' });
    const result = (await outcome(h, run.workflowId)) as IngestResult;

    expect(result).toMatchObject({ stage: 'completed', format: 'pdf' });
    expect(result.textChars).toBeGreaterThan(500 * 30 * 70);
    // Each window at most the budget and, cut at a paragraph or sentence, at least half of it.
    const budget = windowBudgetChars(CONTEXT, 1024);
    expect(result.windows).toBeGreaterThanOrEqual(Math.ceil(result.textChars / budget));
    expect(result.windows).toBeLessThanOrEqual(Math.ceil(result.textChars / (budget / 2)));
    expect(big.calls.filter((c) => c.status !== 200)).toEqual([]);
    const embedded = big.calls.filter((c) => c.path === '/v1/embeddings').reduce((n, c) => n + (c.body as { input: string[] }).input.length, 0);
    expect(embedded).toBe(result.chunks);
  }, 120_000);
});

describe('with a token budget', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ configOverrides: aiSettings({ AI_MAX_TOKENS_PER_RUN: '2000', AI_PARALLEL_CALLS: '1', AI_EMBEDDING_MODEL: '' }) });
  });
  afterAll(() => h?.stop());
  beforeEach(() => server.reset());

  it('fails with BudgetExceeded and the counts before the call that would pass it', async () => {
    const text = prose(WINDOW_CHARS * 4, 'budget');
    const run = await ingest(h, 'docs/over budget.txt', text);
    await outcome(h, run.workflowId);
    const status = await describeRun(h.client, h.config, run.workflowId);
    expect(status.failure).toMatchObject({ type: 'BudgetExceeded', nonRetryable: true });
    expect(status.failure!.message).toMatch(/would pass AI_MAX_TOKENS_PER_RUN \(2000 tokens\): \d+ calls used \d+ tokens/);
    const made = server.calls.filter(chat).length;
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThan(planWindows(text, WINDOW_CHARS).length);
  });
});

function millis(time: temporal.api.history.v1.IHistoryEvent['eventTime']): number {
  return Number(time?.seconds ?? 0) * 1000 + Math.floor((time?.nanos ?? 0) / 1e6);
}

/** The most calls that were in flight at the same moment. */
function mostAtOnce(calls: RecordedCall[]): number {
  const edges = calls.flatMap((c) => [[c.receivedAt, 1], [c.finishedAt ?? Infinity, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (now += step));
  return most;
}

function startedAttempts(events: temporal.api.history.v1.IHistoryEvent[], activity: string): number[] {
  const scheduled = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity).map((e) => String(e.eventId)));
  return events
    .filter((e) => e.activityTaskStartedEventAttributes && scheduled.has(String(e.activityTaskStartedEventAttributes.scheduledEventId)))
    .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
}

