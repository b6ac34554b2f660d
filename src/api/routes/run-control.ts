/**
 * POST /api/v1/workflows/{id}/cancel and /retry: stopping a run (gracefully or hard) and running
 * a closed one again.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { ingestOfReplacement } from '../../pipelines/ingest.js';
import { type ClosedRun, retryRun, RunStateError, stopRun } from '../../temporal/control.js';
import { HttpError } from '../errors.js';
import { json, OPERATOR_SECURITY, optionalJsonBody, tags } from '../openapi.js';
import type { AppDependencies, AppEnv } from '../types.js';
import { conflictResponse, errorResponses, WorkflowIdParam } from './workflow-schemas.js';

const CancelBody = z
  .object({
    mode: z.enum(['cancel', 'terminate']).default('cancel').openapi({
      description: 'cancel: graceful, the run cleans up and ends CANCELLED; terminate: the hard stop, no cleanup',
    }),
    reason: z.string().min(1).max(1000).optional(),
  })
  .strict()
  .openapi('CancelRequest');

const StopResultSchema = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    mode: z.enum(['cancel', 'terminate']),
    status: z.enum(['CANCEL_REQUESTED', 'TERMINATED']),
  })
  .openapi('StopResult');

const RetryBody = z.object({ reason: z.string().min(1).max(1000).optional() }).strict().openapi('RetryRequest');

const RetryResultSchema = z
  .object({
    workflowId: z.string().openapi({ description: 'the workflow of the new run: the same one, except for new-version' }),
    runId: z.string().openapi({ description: 'the new run' }),
    previousWorkflowId: z.string(),
    previousRunId: z.string(),
    method: z.enum(['reset', 'restart', 'new-version']).openapi({
      description:
        'reset: Temporal reset to the failed step; restart: a new run from the start; new-version: the object was replaced since, so the run of its current version was started (or found)',
    }),
    fromStep: z.string().nullable().openapi({ description: 'the step the new run starts from; null: from the beginning' }),
  })
  .openapi('RetryResult');

// The body is optional on both: a POST without one (no JSON content type) means the defaults.
const cancelRoute = createRoute({
  method: 'post',
  path: '/{id}/cancel',
  tags: tags('runs'),
  security: OPERATOR_SECURITY,
  summary: 'Cancel the running run gracefully, or terminate it',
  request: { params: WorkflowIdParam, body: optionalJsonBody(CancelBody) },
  responses: {
    202: json(StopResultSchema, 'cancellation requested (the run cleans up, then ends CANCELLED) or terminated'),
    ...errorResponses,
    ...conflictResponse,
  },
});

const retryRoute = createRoute({
  method: 'post',
  path: '/{id}/retry',
  tags: tags('runs'),
  security: OPERATOR_SECURITY,
  summary: 'Run a failed, timed-out, terminated or cancelled run again, from the failed step where possible',
  request: { params: WorkflowIdParam, body: optionalJsonBody(RetryBody) },
  responses: { 202: json(RetryResultSchema, 'the new run has started'), ...errorResponses, ...conflictResponse },
});

export function runControlRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid('param');
    // Without a JSON content type the body is absent: the defaults apply.
    const body = CancelBody.parse(c.req.valid('json'));
    const result = await asConflict(stopRun(deps.temporal, id, body.mode, body.reason));
    deps.log.info({ requestId: c.get('requestId'), ...result }, body.mode === 'cancel' ? 'cancel requested' : 'run terminated');
    return c.json(result, 202);
  });

  app.openapi(retryRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = RetryBody.parse(c.req.valid('json'));
    const successor = (run: ClosedRun) => ingestOfReplacement(deps.temporal, deps.config, deps.storage, run);
    const result = await asConflict(retryRun(deps.temporal, deps.config, id, body.reason, successor));
    deps.log.info({ requestId: c.get('requestId'), ...result }, 'run retried');
    return c.json(result, 202);
  });

  return app;
}

async function asConflict<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    if (err instanceof RunStateError) throw new HttpError(409, err.code, err.message);
    throw err;
  }
}
