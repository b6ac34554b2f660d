/**
 * GET /api/v1/workflows/{id}/history: a run's history condensed to its steps (attempts, durations,
 * failures), stages, signals, timers and cancellation.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { condenseHistory } from '../../temporal/history.js';
import { runUiUrl } from '../../temporal/runs.js';
import { errorResponse, json, OPERATOR_SECURITY, tags, unauthorizedResponse } from '../openapi.js';
import type { AppDependencies, AppEnv } from '../types.js';

const time = z.string().openapi({ example: '2026-01-01T12:00:00.000Z' });

const Step = z
  .object({
    kind: z.enum(['activity', 'childWorkflow']),
    name: z.string().openapi({ example: 'analyse' }),
    id: z.string().openapi({ description: 'activity id, or the child workflow id' }),
    attempts: z.number().int().openapi({ description: 'attempts started so far' }),
    scheduledTime: time.openapi({
      description: 'when the step was scheduled. Temporal records only the last attempt\'s start, so the first attempt started at or after this',
    }),
    lastStartTime: time.nullable(),
    closeTime: time.nullable(),
    durationMs: z.number().int().nullable().openapi({ description: 'scheduled to closed: every attempt and the backoff between them' }),
    outcome: z.enum(['completed', 'failed', 'timedOut', 'cancelled', 'terminated', 'running', 'scheduled']),
    lastFailure: z.string().nullable(),
    cancelRequestedTime: time.nullable(),
    childRunId: z.string().optional(),
  })
  .openapi('HistoryStep');

const RunHistory = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    status: z.string().openapi({ example: 'COMPLETED' }),
    uiUrl: z.string(),
    eventCount: z.number().int(),
    start: z
      .object({
        time,
        workflowType: z.string(),
        continuedFromRunId: z.string().nullable(),
        resetFromRunId: z.string().nullable(),
        firstRunId: z.string().nullable(),
        parent: z.object({ workflowId: z.string(), runId: z.string() }).nullable(),
      })
      .nullable(),
    close: z
      .object({
        time,
        status: z.enum(['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW']),
        failure: z.string().nullable(),
        continuedAsNewToRunId: z.string().nullable(),
      })
      .nullable(),
    durationMs: z.number().int().nullable(),
    steps: z.array(Step),
    stages: z.array(z.object({ stage: z.string(), time })),
    signals: z.array(z.object({ name: z.string(), time, identity: z.string().nullable() })),
    cancelRequests: z.array(z.object({ time, identity: z.string().nullable(), cause: z.string().nullable() })),
    timers: z.array(
      z.object({
        id: z.string(),
        durationMs: z.number().int().nullable(),
        startTime: time,
        closeTime: time.nullable(),
        outcome: z.enum(['fired', 'cancelled', 'pending']),
      }),
    ),
  })
  .openapi('RunHistory');

const historyRoute = createRoute({
  method: 'get',
  path: '/{id}/history',
  tags: tags('runs'),
  summary: 'Condensed history of a run: each step with attempts, durations and failures; signals, timers, cancellation',
  security: OPERATOR_SECURITY,
  request: {
    params: z.object({ id: z.string().min(1).max(1000).openapi({ description: 'workflow id, URL-encoded as one path segment' }) }),
    query: z.object({
      runId: z
        .string()
        .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'a run id is a UUID')
        .optional()
        .openapi({ description: 'a specific run (for example one before a continue-as-new); the latest by default' }),
    }),
  },
  responses: {
    200: json(RunHistory, 'the condensed history'),
    400: errorResponse('invalid request'),
    ...unauthorizedResponse,
    404: errorResponse('no such workflow or run'),
  },
});

export function runHistoryRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(historyRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { runId } = c.req.valid('query');
    // describe() first: it maps an unknown id to WorkflowNotFoundError (404), fixes the run the
    // history is read from, and has the pending activities that hold a running step's attempts.
    const desc = await deps.temporal.workflow.getHandle(id, runId).describe();
    const history = await deps.temporal.workflow.getHandle(id, desc.runId).fetchHistory();
    const condensed = condenseHistory(history.events ?? [], desc.raw.pendingActivities ?? []);
    return c.json(
      { workflowId: id, runId: desc.runId, status: desc.status.name, uiUrl: runUiUrl(deps.config, id, desc.runId), ...condensed },
      200,
    );
  });

  return app;
}
