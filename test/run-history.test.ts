import { Context } from '@temporalio/activity';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestApp } from './support/api.js';
import type { createActivities } from '../src/activities/index.js';
import { startIngest } from '../src/pipelines/ingest.js';
import type { CondensedHistory } from '../src/temporal/history.js';
import { ARTICLE } from './support/fixtures.js';
import { startHarness, type Harness } from './support/harness.js';
import { waitFor } from './support/stack.js';

// GET /api/v1/workflows/{id}/history on the real stack. The AI step fails its first attempt with
// a retryable error and holds its second until the test lets it go, so the history can be read
// both while the retry runs and after the run completed.

type Activities = ReturnType<typeof createActivities>;
type HistoryBody = CondensedHistory & { workflowId: string; runId: string; status: string; uiUrl: string };

let h: Harness;
let app: ReturnType<typeof createTestApp>;
let release: () => void = () => undefined;
const released = new Promise<void>((resolve) => (release = resolve));

beforeAll(async () => {
  h = await startHarness({
    activities: (real: Activities) => ({
      ...real,
      async analyse(input: Parameters<Activities['analyse']>[0]) {
        if (Context.current().info.attempt === 1) throw new Error('AI provider answered 503');
        await released;
        return real.analyse(input);
      },
    }),
  });
  app = createTestApp(h);
});

afterAll(async () => {
  release();
  await h?.stop();
});

const operator = () => ({ authorization: `Bearer ${h.config.API_KEY}` });

async function history(workflowId: string, query = ''): Promise<HistoryBody> {
  const res = await app.request(`/api/v1/workflows/${encodeURIComponent(workflowId)}/history${query}`, { headers: operator() });
  expect(res.status).toBe(200);
  return (await res.json()) as HistoryBody;
}

it('shows a retried step with its attempts and failure, while it runs and once the run completed', async () => {
  await h.put('retried.txt', ARTICLE, 'text/plain');
  const head = await h.storage.head({ bucket: h.bucket, key: 'retried.txt' });
  const run = await startIngest(h.client, h.config, { bucket: h.bucket, key: 'retried.txt', etag: head.etag });

  // The second attempt is under way: the history alone cannot say so, describe()'s pending activity can.
  const running = await waitFor(
    async () => {
      const body = await history(run.workflowId);
      return body.steps.find((s) => s.name === 'analyse' && s.outcome === 'running' && s.attempts === 2) ? body : undefined;
    },
    { timeoutMs: 30_000, description: 'the second attempt of analyse to run' },
  );
  expect(running).toMatchObject({ workflowId: run.workflowId, runId: run.runId, status: 'RUNNING', close: null, durationMs: null });
  expect(running.steps.find((s) => s.name === 'analyse')).toMatchObject({ attempts: 2, lastFailure: 'AI provider answered 503', closeTime: null });

  release();
  await h.client.workflow.getHandle(run.workflowId).result();
  const done = await history(run.workflowId);
  expect(done).toMatchObject({ workflowId: run.workflowId, runId: run.runId, status: 'COMPLETED', close: { status: 'COMPLETED', failure: null } });
  expect(done.uiUrl).toBe(`${h.config.TEMPORAL_UI_URL}/namespaces/${h.config.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(run.workflowId)}/${run.runId}/history`);
  expect(done.steps.map((s) => [s.name, s.outcome, s.attempts, s.lastFailure])).toEqual([
    ['download', 'completed', 1, null],
    ['extract', 'completed', 1, null],
    ['analyse', 'completed', 2, 'AI provider answered 503'],
    ['persist', 'completed', 1, null],
    ['cleanup', 'completed', 1, null],
  ]);
  const analyse = done.steps[2]!;
  // Scheduled, failed, backed off (2 s), started again: the step's duration spans all of it.
  expect(Date.parse(analyse.lastStartTime!) - Date.parse(analyse.scheduledTime)).toBeGreaterThanOrEqual(1500);
  expect(analyse.durationMs).toBe(Date.parse(analyse.closeTime!) - Date.parse(analyse.scheduledTime));
  expect(done.stages.map((s) => s.stage)).toEqual(['queued', 'downloading', 'extracting', 'analysing', 'persisting', 'completed']);
  expect(done.start).toMatchObject({ workflowType: 'ingest', continuedFromRunId: null, firstRunId: run.runId });
  expect(done.durationMs).toBeGreaterThan(0);

  // The run can be named explicitly.
  expect((await history(run.workflowId, `?runId=${run.runId}`)).runId).toBe(run.runId);
});

it('answers 404 for an unknown workflow or run, 400 for a malformed run id, 401 without the key', async () => {
  const expectError = async (res: Response, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
  };
  const url = (id: string, query = '') => `/api/v1/workflows/${encodeURIComponent(id)}/history${query}`;
  await expectError(await app.request(url('ingest:nope/x@y'), { headers: operator() }), 404, 'workflow_not_found');
  await expectError(await app.request(url('ingest:nope/x@y', '?runId=not-a-run'), { headers: operator() }), 400, 'invalid_request');
  await expectError(await app.request(url('ingest:nope/x@y', '?runId=0195f0a2-7b3c-7d4e-8f90-123456789abc'), { headers: operator() }), 404, 'workflow_not_found');
  await expectError(await app.request(url('ingest:nope/x@y')), 401, 'unauthorized');
});

it('documents the history and stream endpoints in the OpenAPI document', () => {
  const doc = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'harvester', version: '1' } });
  expect(doc.paths?.['/api/v1/workflows/{id}/history']?.get?.responses?.['200']).toBeDefined();
  const stream = doc.paths?.['/api/v1/workflows/{id}/stream']?.get?.responses?.['200'] as { content?: object } | undefined;
  expect(Object.keys(stream?.content ?? {})).toEqual(['text/event-stream']);
});
