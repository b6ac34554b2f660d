import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/net.js';
import { planWindows, windowBudgetChars } from '../../src/ai/windows.js';
import type { IngestResult, IngestWorkflow } from '../../src/contracts/ingest.js';
import { startIngest } from '../../src/pipelines/ingest.js';
import type { StartedRun } from '../../src/temporal/runs.js';
import { processConfig } from '../support/faults.js';
import { ledgerProse } from '../support/fixtures.js';
import { startHarness, type Harness } from '../support/harness.js';
import { type OpenAiServer, type RecordedCall, startOpenAiServer } from '../support/openai-server.js';
import { type EntryProcess, exitedUnexpectedly, startPollingWorker, stopEntry, unlessExited } from '../support/processes.js';
import { waitFor } from '../support/stack.js';

// Model calls in worker processes: a worker SIGKILLed between windows, and the AI task queue's
// rate limit held by the server across two workers.

const CONTEXT_TOKENS = 2048;
const OUTPUT_TOKENS = 256;
const WINDOW_CHARS = windowBudgetChars(CONTEXT_TOKENS, OUTPUT_TOKENS);

let server: OpenAiServer;
let h: Harness;
const workers: EntryProcess[] = [];

beforeAll(async () => {
  server = await startOpenAiServer();
  h = await startHarness({
    worker: false,
    configOverrides: {
      AI_PROVIDER: 'openai-compatible',
      AI_BASE_URL: server.url,
      AI_API_KEY: 'test-key',
      AI_MODEL: 'test-model',
      AI_CONTEXT_TOKENS: String(CONTEXT_TOKENS),
      AI_MAX_OUTPUT_TOKENS: String(OUTPUT_TOKENS),
      AI_PRICES: JSON.stringify({ 'test-model': { input: 0.5, output: 1.5 } }),
      LOG_LEVEL: 'info',
    },
  });
});
afterAll(async () => {
  for (const worker of workers) await stopEntry(worker, 'SIGKILL');
  await h?.stop();
  await server?.close();
});
beforeEach(() => server.reset());

async function startWorker(overrides: Record<string, string> = {}): Promise<EntryProcess> {
  const worker = await startPollingWorker(processConfig(h.config, overrides));
  workers.push(worker);
  return worker;
}

/** Text of about `windows` windows (half a window short: cuts at paragraph breaks make windows shorter). */
const prose = (windows: number, seed: string): string => ledgerProse(WINDOW_CHARS * (windows - 0.5), seed);

async function ingest(key: string, text: string): Promise<StartedRun> {
  const { etag } = await h.put(key, text, 'text/plain');
  return startIngest(h.client, h.config, { bucket: h.bucket, key, etag });
}

const windowCall = (c: RecordedCall) => /This is part (\d+) of/.exec(c.messages?.[1]?.content ?? '')?.[1];

/** The windows whose describeWindow the history records as completed. */
async function completedWindows(workflowId: string): Promise<number[]> {
  const events = (await h.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const byId = new Map(events.map((e) => [String(e.eventId), e]));
  return events.flatMap((e) => {
    const scheduledId = e.activityTaskCompletedEventAttributes?.scheduledEventId;
    if (scheduledId === undefined || scheduledId === null) return [];
    const scheduled = byId.get(String(scheduledId))?.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name !== 'describeWindow') return [];
    const input = defaultPayloadConverter.fromPayload<{ window: number }>(scheduled.input!.payloads![0]!);
    return [input.window + 1];
  });
}

it('a worker SIGKILLed between windows: a new worker finishes the run without repeating a completed window', async () => {
  server.setLatency(400);
  const first = await startWorker({ AI_PARALLEL_CALLS: '1' });
  const text = prose(6, 'kill');
  const windows = planWindows(text, WINDOW_CHARS).length;
  const run = await ingest('ledger-kill.txt', text);

  const done = await waitFor(async () => {
    const completed = await completedWindows(run.workflowId);
    return completed.length >= 2 ? completed : undefined;
  }, { timeoutMs: 60_000, intervalMs: 50, description: 'two windows to complete', failIf: exitedUnexpectedly(first, 'the first worker') });
  await stopEntry(first, 'SIGKILL');
  const completedBeforeKill = await completedWindows(run.workflowId);
  expect(completedBeforeKill.length).toBeGreaterThanOrEqual(done.length);

  server.setLatency(0);
  const second = await startWorker({ AI_PARALLEL_CALLS: '1' });
  const result = await unlessExited(h.client.workflow.getHandle<IngestWorkflow>(run.workflowId).result(), second, 'the second worker');
  expect(result).toMatchObject({ stage: 'completed', windows, windowsDone: windows });

  const callsPerWindow = new Map<string, number>();
  for (const c of server.calls) {
    const w = windowCall(c);
    if (w) callsPerWindow.set(w, (callsPerWindow.get(w) ?? 0) + 1);
  }
  expect([...callsPerWindow.keys()].length).toBe(windows);
  for (const w of completedBeforeKill) expect(callsPerWindow.get(String(w))).toBe(1);
  // At most the call in flight at the kill was made again.
  const repeated = [...callsPerWindow.values()].reduce((n, c) => n + c - 1, 0);
  expect(repeated).toBeLessThanOrEqual(1);
  await stopEntry(second);
}, 180_000);

it('AI_MAX_CALLS_PER_SECOND holds across two worker processes; the calls are counted in /metrics', async () => {
  const metricsPort = await freePort();
  const limits = { AI_MAX_CALLS_PER_SECOND: '2', AI_PARALLEL_CALLS: '16', AI_MAX_CONCURRENCY: '16' };
  const [a, b] = await Promise.all([startWorker({ ...limits, WORKER_METRICS_ADDRESS: `127.0.0.1:${metricsPort}` }), startWorker(limits)]);
  const text = prose(14, 'rate');
  const windows = planWindows(text, WINDOW_CHARS).length;
  const run = await ingest('ledger-rate.txt', text);
  const result: IngestResult = await unlessExited(unlessExited(h.client.workflow.getHandle<IngestWorkflow>(run.workflowId).result(), a, 'worker a'), b, 'worker b');
  expect(result.windows).toBe(windows);

  const times = server.calls.filter((c) => windowCall(c) !== undefined).map((c) => c.receivedAt).sort((x, y) => x - y);
  expect(times).toHaveLength(windows);
  // Two calls a second across both workers: the calls after the first burst are spread out (each
  // worker limited on its own would allow four a second).
  const spanSeconds = (times.at(-1)! - times[0]!) / 1000;
  expect(spanSeconds).toBeGreaterThanOrEqual((windows - 4) / 2);
  // Both workers made calls, so the limit is not one worker's.
  const identities = await startedIdentities(run.workflowId, 'describeWindow');
  expect(identities.size).toBe(2);

  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(metrics).toMatch(/^harvester_ai_tokens_total\{[^}]*kind="prompt"[^}]*model="test-model"[^}]*\} [1-9]\d*$/m);
  expect(metrics).toMatch(/^harvester_ai_tokens_total\{[^}]*kind="completion"[^}]*\} [1-9]\d*$/m);
  expect(metrics).toMatch(/^harvester_ai_cost_microdollars_total\{[^}]*provider="openai-compatible"[^}]*\} [1-9]\d*$/m);
  expect(metrics).toMatch(/^harvester_ai_call_duration_seconds_count\{[^}]*kind="window"[^}]*\} [1-9]\d*$/m);
}, 180_000);

async function startedIdentities(workflowId: string, activity: string): Promise<Set<string>> {
  const events: temporal.api.history.v1.IHistoryEvent[] = (await h.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity).map((e) => String(e.eventId)));
  return new Set(
    events
      .filter((e) => e.activityTaskStartedEventAttributes && scheduled.has(String(e.activityTaskStartedEventAttributes.scheduledEventId)))
      .map((e) => e.activityTaskStartedEventAttributes!.identity ?? ''),
  );
}
