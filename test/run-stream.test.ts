import { Context } from '@temporalio/activity';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp } from './support/api.js';
import type { createActivities } from '../src/activities/index.js';
import { startIngest } from '../src/pipelines/ingest.js';
import { RunWatchHub, type RunWatchOptions, type WatchEvent } from '../src/temporal/run-watch.js';
import { ARTICLE } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { dataOf, type SseMessage, SseReader } from './support/sse.js';
import { uniqueId, waitFor } from './support/stack.js';

// GET /api/v1/workflows/{id}/stream on the real stack. `extract` and `analyse` (and the download
// of objects under slow/) wait at per-run gates the test opens, so each stage lasts exactly until
// the test has seen it on the stream.

type Activities = ReturnType<typeof createActivities>;
type Step = 'download' | 'extract' | 'analyse';
type Progress = Extract<WatchEvent, { type: 'progress' }>['data'];
type Close = Extract<WatchEvent, { type: 'close' }>['data'];

const gates = new Map<string, { open: () => void; opened: Promise<void> }>();
function gate(runId: string, step: Step) {
  const key = `${runId}:${step}`;
  let g = gates.get(key);
  if (!g) {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    g = { open, opened };
    gates.set(key, g);
  }
  return g;
}
/** Inside an activity: waits until the test opens this run's gate for the step. */
function heldAt(step: Step): Promise<void> {
  const runId = Context.current().info.workflowExecution?.runId;
  if (!runId) throw new Error('the ingest activities run in workflows');
  return gate(runId, step).opened;
}

let h: Harness;
let hub: RunWatchHub;
let app: ReturnType<typeof createTestApp>;
const hubs: RunWatchHub[] = [];

beforeAll(async () => {
  h = await startHarness({
    activities: (real: Activities) => ({
      ...real,
      // Objects under slow/ report half their bytes, then wait: progress within a stage.
      async download(input: Parameters<Activities['download']>[0]) {
        if (input.key.startsWith('slow/')) {
          Context.current().heartbeat({ bytes: 512, totalBytes: 1024 });
          await heldAt('download');
        }
        return real.download(input);
      },
      async extract(input: Parameters<Activities['extract']>[0]) {
        await heldAt('extract');
        return real.extract(input);
      },
      async analyse(input: Parameters<Activities['analyse']>[0]) {
        await heldAt('analyse');
        return real.analyse(input);
      },
    }),
  });
  ({ hub, app } = streamingApp());
});

afterAll(async () => {
  for (const g of gates.values()) g.open();
  for (const each of hubs) each.close();
  await h?.stop();
});

function streamingApp(options: RunWatchOptions = {}) {
  const runWatch = new RunWatchHub(h.client, h.config, options);
  hubs.push(runWatch);
  const log = pino({ level: 'silent' });
  return { hub: runWatch, app: createTestApp(h, { log, runWatch }) };
}

const operator = () => ({ authorization: `Bearer ${h.config.API_KEY}` });
const streamUrl = (workflowId: string) => `/api/v1/workflows/${encodeURIComponent(workflowId)}/stream`;

async function startRun(prefix = '') {
  const key = `${prefix}${uniqueId('s')}.txt`;
  await h.put(key, ARTICLE, 'text/plain');
  const head = await h.storage.head({ bucket: h.bucket, key });
  return startIngest(h.client, h.config, { bucket: h.bucket, key, etag: head.etag });
}

async function openStream(target: ReturnType<typeof createTestApp>, workflowId: string): Promise<SseReader> {
  const res = await target.request(streamUrl(workflowId), { headers: operator() });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  return new SseReader(res);
}

/** A progress event in `stage` with `step` under way: stable while the step waits at its gate. */
const atStep = (stage: string, step: string) => (m: SseMessage) => {
  if (m.event !== 'progress') return false;
  const progress = dataOf<Progress>(m);
  return progress.stage === stage && progress.currentStep?.name === step;
};

let finished: { workflowId: string; runId: string } | undefined;

describe('a stream of one run', () => {
  it('shows each stage change, then the close, then ends', async () => {
    const run = await startRun();
    const service = h.client.workflowService;
    const historyCalls = vi.spyOn(service, 'getWorkflowExecutionHistory');
    const describeCalls = vi.spyOn(service, 'describeWorkflowExecution');
    const stream = await openStream(app, run.workflowId);
    const seen: SseMessage[] = [];

    await stream.until(atStep('extracting', 'extract'), seen);
    gate(run.runId, 'extract').open();
    await stream.until(atStep('analysing', 'analyse'), seen);
    gate(run.runId, 'analyse').open();
    const close = await stream.until((m) => m.event === 'close', seen);

    expect(await stream.next()).toBeUndefined(); // the server ended the stream
    expect(dataOf<Close>(close)).toMatchObject({
      workflowId: run.workflowId,
      runId: run.runId,
      status: 'COMPLETED',
      stage: 'completed',
      progress: 1,
      failure: null,
      result: { key: expect.any(String) as unknown, format: 'text' },
      closeTime: expect.any(String) as unknown,
    });
    const progress = seen.filter((m) => m.event === 'progress').map((m) => dataOf<Progress>(m));
    expect(progress.every((p) => p.workflowId === run.workflowId && p.runId === run.runId && p.status === 'RUNNING')).toBe(true);
    expect(progress.find((p) => p.currentStep?.name === 'extract')).toMatchObject({ stage: 'extracting', progress: 0.4, currentStep: { attempt: 1, lastFailure: null } });
    // Events are sent on changes only: no two neighbours are the same.
    for (let i = 1; i < progress.length; i += 1) expect(progress[i]).not.toEqual(progress[i - 1]);
    expect(hub.watcherCount).toBe(0);
    // The watcher waited on history long polls rather than polling: a handful of calls per step
    // (about a dozen of each for this run), where a poll loop would have made hundreds.
    expect(historyCalls.mock.calls.length).toBeLessThan(30);
    expect(describeCalls.mock.calls.length).toBeLessThan(30);
    historyCalls.mockRestore();
    describeCalls.mockRestore();
    finished = run;
  });

  it('gives a client that connects after the close the close event at once', async () => {
    if (!finished) throw new Error('needs the run of the previous test');
    const stream = await openStream(app, finished.workflowId);
    const messages = await stream.rest();
    expect(messages.map((m) => m.event)).toEqual(['close']);
    expect(dataOf<Close>(messages[0]!)).toMatchObject({ runId: finished.runId, status: 'COMPLETED' });
  });

  it('serves 50 concurrent streams of one run from one watcher, and all get the close', async () => {
    const run = await startRun();
    const streams = await Promise.all(Array.from({ length: 50 }, () => openStream(app, run.workflowId)));
    expect(hub.watcherCount).toBe(1);
    expect(hub.subscriberCount).toBe(50);
    await Promise.all(streams.map((s) => s.until(atStep('extracting', 'extract'))));
    gate(run.runId, 'extract').open();
    gate(run.runId, 'analyse').open();

    const ends = await Promise.all(streams.map((s) => s.rest()));
    for (const rest of ends) expect(rest.at(-1)?.event).toBe('close');
    expect(hub.watcherCount).toBe(0);
    expect(hub.subscriberCount).toBe(0);
  });

  it('shows progress within the download from its heartbeats, which are not history events', async () => {
    const run = await startRun('slow/');
    const stream = await openStream(app, run.workflowId);
    const half = await stream.until((m) => m.event === 'progress' && dataOf<Progress>(m).progress === 0.2);
    expect(dataOf<Progress>(half)).toMatchObject({ stage: 'downloading', currentStep: { name: 'download' } });
    for (const step of ['download', 'extract', 'analyse'] as const) gate(run.runId, step).open();
    expect((await stream.rest()).at(-1)?.event).toBe('close');
  });

  it('follows the workflow to its next run (a reset here; continue-as-new takes the same path)', async () => {
    const run = await startRun();
    const stream = await openStream(app, run.workflowId);
    await stream.until(atStep('extracting', 'extract'));

    const { events } = await h.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const firstTask = events?.find((e) => e.workflowTaskCompletedEventAttributes)?.eventId;
    const reset = await h.client.workflowService.resetWorkflowExecution({
      namespace: h.config.TEMPORAL_NAMESPACE,
      workflowExecution: { workflowId: run.workflowId, runId: run.runId },
      workflowTaskFinishEventId: firstTask,
      reason: 'test: start over',
      requestId: uniqueId('reset'),
    });
    const next = reset.runId ?? '';
    expect(next).not.toBe(run.runId);
    gate(run.runId, 'extract').open(); // the old run's step: its result is no longer wanted

    await stream.until((m) => atStep('extracting', 'extract')(m) && dataOf<Progress>(m).runId === next);
    gate(next, 'extract').open();
    gate(next, 'analyse').open();
    const close = (await stream.rest()).at(-1);
    expect(close?.event).toBe('close');
    expect(dataOf<Close>(close!)).toMatchObject({ runId: next, status: 'COMPLETED' });

    // The new run's history names the run it was reset from.
    const res = await app.request(`/api/v1/workflows/${encodeURIComponent(run.workflowId)}/history`, { headers: operator() });
    expect(await res.json()).toMatchObject({ runId: next, start: { resetFromRunId: run.runId } });
  });
});

describe('stream edge', () => {
  it('answers 404 for an unknown workflow and 401 without the key', async () => {
    const unknown = await app.request(streamUrl('ingest:nope/x@y'), { headers: operator() });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'workflow_not_found' } });
    const anonymous = await app.request(streamUrl('ingest:nope/x@y'));
    expect(anonymous.status).toBe(401);
    expect(hub.subscriberCount).toBe(0);
  });

  it('caps open streams (503 with Retry-After), frees a slot when a client hangs up, and sends keep-alives', async () => {
    const small = streamingApp({ maxSubscribers: 2, keepAliveMs: 50 });
    const run = await startRun();
    const first = await openStream(small.app, run.workflowId);
    const second = await openStream(small.app, run.workflowId);

    const refused = await small.app.request(streamUrl(run.workflowId), { headers: operator() });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toMatchObject({ error: { code: 'too_many_streams' } });

    await first.until((m) => m.comment === 'keep-alive');
    await first.cancel();
    await waitFor(() => small.hub.subscriberCount === 1, { timeoutMs: 5_000, description: 'the hung-up stream to leave' });
    const third = await openStream(small.app, run.workflowId);

    // The last client to leave stops the watcher.
    await Promise.all([second.cancel(), third.cancel()]);
    await waitFor(() => small.hub.subscriberCount === 0 && small.hub.watcherCount === 0, { timeoutMs: 5_000, description: 'the watcher to stop' });
    gate(run.runId, 'extract').open();
    gate(run.runId, 'analyse').open();
  });

  it('ends open streams promptly on shutdown and refuses new ones', async () => {
    const stopping = streamingApp();
    const run = await startRun();
    const stream = await openStream(stopping.app, run.workflowId);
    await stream.until(atStep('extracting', 'extract'));

    stopping.hub.close();
    const rest = await stream.rest(); // ends without waiting for the run
    expect(rest.filter((m) => m.event === 'close')).toEqual([]);
    const refused = await stopping.app.request(streamUrl(run.workflowId), { headers: operator() });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: 'shutting_down' } });
    gate(run.runId, 'extract').open();
    gate(run.runId, 'analyse').open();
  });
});
