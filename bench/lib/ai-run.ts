import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { WorkflowHandle } from '@temporalio/client';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { Log } from '../../scripts/lib/process.js';
import { describeError } from '../../scripts/lib/wait.js';
import type { DocumentModel, Part } from '../../src/ai/model.js';
import { planWindows } from '../../src/ai/windows.js';
import type { Config } from '../../src/config.js';
import type { IngestInput, IngestResult, IngestWorkflow } from '../../src/contracts/ingest.js';
import { ledgerProse } from '../../test/support/fixtures.js';
import { startIngest } from '../../src/pipelines/ingest.js';
import { condenseHistory } from '../../src/temporal/history.js';
import type { OpenAiServer, RecordedCall } from '../../test/support/openai-server.js';
import { unlessAborted } from './cleanups.js';
import type { BenchWorker } from './objectify-run.js';
import { fmtInt, since, ticker } from './report.js';

// The three ways bench/ai.ts makes the same model calls against the fake OpenAI server: the
// provider code the activity calls, the bare client with the same requests, and ingest runs.

const CHAT_PATH = '/v1/chat/completions';

export interface BenchDocument {
  key: string;
  text: string;
  /** The texts of its windows, cut as the extract activity cuts them. */
  windows: string[];
}

/** `runs` deterministic prose documents of about `windows` windows of at most `windowChars` each. */
export function proseDocuments(runs: number, windows: number, windowChars: number): BenchDocument[] {
  const width = String(runs).length;
  return Array.from({ length: runs }, (_, n) => {
    const name = `ledger-${String(n + 1).padStart(width, '0')}`;
    // Half a window short of `windows`: cuts at paragraph breaks make windows shorter.
    const text = ledgerProse(windowChars * (windows - 0.5), name);
    return { key: `bench/${name}.txt`, text, windows: planWindows(text, windowChars).map((w) => text.slice(w.start, w.end)) };
  });
}

export interface WindowCall {
  text: string;
  part: Part | undefined;
}

/** Every window of every document, with the part the describeWindow activity gives it. */
export function windowCalls(documents: readonly BenchDocument[]): WindowCall[] {
  return documents.flatMap((d) => d.windows.map((text, i) => ({ text, part: d.windows.length === 1 ? undefined : { part: i + 1, of: d.windows.length } })));
}

export type CallKind = 'window' | 'combine' | 'other';

/** What the fake server saw of one phase's chat calls. */
export interface ServerCalls {
  answered: number;
  byKind: Record<CallKind, number>;
  /** Answered with an error status, or left by the client. */
  failed: number;
  /** Mean of finishedAt − receivedAt over the answered calls. */
  meanMs: number;
  /** Date.now() of the first call received and the last one answered. */
  firstAt: number;
  lastAt: number;
}

/** Told apart by the prompt templates (prompts/analysis/v1): a repair call or a whole document is 'other'. */
function kindOf(call: RecordedCall): CallKind {
  const messages = call.messages ?? [];
  const prompt = messages[1]?.content ?? '';
  if (messages.length === 2 && prompt.includes('<document-part>')) return 'window';
  if (messages.length === 2 && prompt.includes('<part-analyses>')) return 'combine';
  return 'other';
}

export function serverCalls(calls: readonly RecordedCall[]): ServerCalls {
  const chat = calls.filter((c) => c.path === CHAT_PATH && c.finishedAt !== undefined);
  const answered = chat.filter((c) => c.status === 200 && !c.aborted);
  const byKind: Record<CallKind, number> = { window: 0, combine: 0, other: 0 };
  for (const c of answered) byKind[kindOf(c)]++;
  const totalMs = answered.reduce((n, c) => n + (c.finishedAt! - c.receivedAt), 0);
  return {
    answered: answered.length,
    byKind,
    failed: chat.length - answered.length,
    meanMs: answered.length === 0 ? 0 : totalMs / answered.length,
    firstAt: Math.min(...chat.map((c) => c.receivedAt)),
    lastAt: Math.max(...chat.map((c) => c.finishedAt!)),
  };
}

/** The request bodies of the answered chat calls, to send again as they were. */
export function requestBodies(calls: readonly RecordedCall[]): ChatCompletionCreateParamsNonStreaming[] {
  // The server recorded the JSON that the openai client built from these very params.
  return calls.filter((c) => c.path === CHAT_PATH && c.status === 200).map((c) => c.body as ChatCompletionCreateParamsNonStreaming);
}

export interface PhaseContext {
  server: OpenAiServer;
  concurrency: number;
  log: Log;
  signal: AbortSignal;
}

export interface PhaseFigures {
  ms: number;
  /** Prompt and completion tokens, as the answers' usage reports them. */
  tokens: number;
  server: ServerCalls;
}

/** The window texts through the DocumentModel (prompt, schema, validation), `concurrency` at a time. */
export function modelBaseline(ctx: PhaseContext, model: DocumentModel, calls: readonly WindowCall[]): Promise<PhaseFigures> {
  return timedCalls(ctx, 'DocumentModel.describe', calls, async (c, signal) => {
    const { call } = await model.describe(c.text, c.part, { signal });
    return call.promptTokens + call.completionTokens;
  });
}

/** The same request bodies with the bare client: no prompt building, no validation of the answer. */
export function clientBaseline(
  ctx: PhaseContext,
  endpoint: { baseURL: string; apiKey: string },
  bodies: readonly ChatCompletionCreateParamsNonStreaming[],
): Promise<PhaseFigures> {
  const client = new OpenAI({ ...endpoint, maxRetries: 0 });
  return timedCalls(ctx, 'bare openai client', bodies, async (body, signal) => {
    const response = await client.chat.completions.create(body, { signal });
    return response.usage?.total_tokens ?? 0;
  });
}

async function timedCalls<T>(ctx: PhaseContext, name: string, items: readonly T[], call: (item: T, signal: AbortSignal) => Promise<number>): Promise<PhaseFigures> {
  const { server, log, signal } = ctx;
  server.reset();
  let done = 0;
  let tokens = 0;
  const started = performance.now();
  const stop = ticker(1_000, () => log(`${name}: ${fmtInt(done)} / ${fmtInt(items.length)} calls, ${(done / (since(started) / 1000)).toFixed(1)} calls/s so far`));
  try {
    await inLanes(items, ctx.concurrency, signal, async (item) => {
      // A signal of its own per call: the client leaves its abort listener on the signal it is given.
      const used = await call(item, AbortSignal.any([signal]));
      tokens += used;
      done++;
    });
  } finally {
    stop();
  }
  return { ms: since(started), tokens, server: serverCalls(server.calls) };
}

/** `fn` over the items with at most `lanes` in flight; the first failure stops new calls. */
async function inLanes<T>(items: readonly T[], lanes: number, signal: AbortSignal, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      signal.throwIfAborted();
      const item = items[next++]!;
      await fn(item).catch((err: unknown) => {
        failed = true;
        throw err;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
}

export interface PipelineFigures extends PhaseFigures {
  results: IngestResult[];
  /** Date.now() when the first run was started and when the last result arrived. */
  startedAt: number;
  endedAt: number;
  steps: StepTimes[];
}

export interface PipelineBench {
  worker: BenchWorker;
  config: Config;
  s3: S3Client;
}

/**
 * Uploads the documents, then starts one ingest run for each at once and waits for every result,
 * logging the calls answered and the runs finished every second. Timed from the first start to
 * the last result; the uploads are not.
 */
export async function runPipeline(ctx: PhaseContext, bench: PipelineBench, documents: readonly BenchDocument[]): Promise<PipelineFigures> {
  const { server, log, signal } = ctx;
  const { worker, config } = bench;
  const { client } = worker;
  const objects = await uploadDocuments(bench.s3, config.INGEST_BUCKET, documents, signal);
  signal.throwIfAborted();
  server.reset();
  let finished = 0;
  const startedAt = Date.now();
  const started = performance.now();
  const runs = await Promise.all(objects.map((object) => startIngest(client, config, object)));
  const handles = runs.map((run) => client.workflow.getHandle<IngestWorkflow>(run.workflowId));
  const stop = ticker(1_000, () => {
    const s = serverCalls(server.calls);
    log(`pipeline: ${fmtInt(s.answered)} calls answered (${fmtInt(s.byKind.window)} window, ${fmtInt(s.byKind.combine)} combine), ${finished} / ${runs.length} runs done`);
  });
  let results: IngestResult[];
  try {
    const workerStopped = worker.running.then(() => {
      throw new Error('the worker stopped before the ingest runs ended');
    });
    const all = Promise.all(
      handles.map(async (h) => {
        const result = await h.result();
        finished++;
        return result;
      }),
    );
    results = await unlessAborted(Promise.race([all, workerStopped]), signal);
  } catch (err) {
    // Terminated runs cancel their model calls at the next heartbeat, so the worker stops promptly.
    if (signal.aborted) {
      await Promise.all(handles.map((h) => h.terminate('benchmark interrupted').catch((e: unknown) => log(`terminate ${h.workflowId} failed: ${describeError(e)}`))));
    }
    throw err;
  } finally {
    stop();
  }
  const ms = since(started);
  const endedAt = Date.now();
  const tokens = results.reduce((n, r) => n + (r.usage?.totalTokens ?? 0), 0);
  const steps = await stepTimes(handles);
  return { ms, tokens, server: serverCalls(server.calls), results, startedAt, endedAt, steps };
}

/** All at once, each with a signal of its own (one signal would collect a listener per upload). */
async function uploadDocuments(s3: S3Client, bucket: string, documents: readonly BenchDocument[], signal: AbortSignal): Promise<IngestInput[]> {
  return Promise.all(
    documents.map(async (d) => {
      const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: d.key, Body: d.text, ContentType: 'text/plain; charset=utf-8' }), { abortSignal: AbortSignal.any([signal]) });
      const etag = (out.ETag ?? '').replace(/"/g, '');
      if (!etag) throw new Error(`s3://${bucket}/${d.key}: the upload returned no ETag`);
      return { bucket, key: d.key, etag };
    }),
  );
}

/** One activity type's times over every run, as Temporal recorded them. */
export interface StepTimes {
  name: string;
  count: number;
  /** Mean of scheduled → (last attempt) started. */
  waitingMs: number;
  /** Mean of started → closed. */
  runningMs: number;
}

async function stepTimes(handles: readonly WorkflowHandle<IngestWorkflow>[]): Promise<StepTimes[]> {
  const sums = new Map<string, { count: number; waiting: number; running: number }>();
  for (const handle of handles) {
    const { steps } = condenseHistory((await handle.fetchHistory()).events ?? []);
    for (const step of steps) {
      if (step.lastStartTime === null || step.closeTime === null) continue;
      const [scheduled, startedAt, closed] = [step.scheduledTime, step.lastStartTime, step.closeTime].map(Date.parse) as [number, number, number];
      const sum = sums.get(step.name) ?? { count: 0, waiting: 0, running: 0 };
      sums.set(step.name, { count: sum.count + 1, waiting: sum.waiting + startedAt - scheduled, running: sum.running + closed - startedAt });
    }
  }
  return [...sums].map(([name, s]) => ({ name, count: s.count, waitingMs: s.waiting / s.count, runningMs: s.running / s.count }));
}
