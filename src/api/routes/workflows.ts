import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { ObjectNotFoundError } from '../../storage/s3.js';
import { startIngest } from '../../pipelines/ingest.js';
import { describeRun } from '../../temporal/runs.js';
import type { AppDependencies, AppEnv } from '../app.js';
import { requireBearer } from '../auth.js';
import { HttpError } from '../errors.js';
import { ErrorSchema } from '../schemas.js';

const StartIngestBody = z
  .object({
    bucket: z.string().min(3).max(63).openapi({ example: 'uploads' }),
    key: z.string().min(1).max(1024).openapi({ example: 'reports/q3.pdf' }),
    versionId: z.string().min(1).max(1024).optional(),
  })
  .strict()
  .openapi('StartIngest');

const StartedRun = z
  .object({ workflowId: z.string(), runId: z.string(), duplicate: z.boolean() })
  .openapi('StartedRun');

const RunStatus = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    pipeline: z.string(),
    status: z.enum(['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW', 'PAUSED', 'UNSPECIFIED', 'UNKNOWN']),
    stage: z.string().nullable(),
    progress: z.number().min(0).max(1).nullable(),
    startTime: z.string(),
    closeTime: z.string().nullable(),
    result: z.unknown(),
    failure: z.object({ type: z.string(), message: z.string(), nonRetryable: z.boolean() }).nullable(),
    historyLength: z.number().int(),
    currentStep: z.object({ name: z.string(), attempt: z.number().int(), lastFailure: z.string().nullable() }).nullable(),
    uiUrl: z.string(),
  })
  .openapi('RunStatus');

const errors = {
  400: { description: 'invalid request', content: { 'application/json': { schema: ErrorSchema } } },
  401: { description: 'missing or wrong API key', content: { 'application/json': { schema: ErrorSchema } } },
  404: { description: 'not found', content: { 'application/json': { schema: ErrorSchema } } },
} as const;

const startIngestRoute = createRoute({
  method: 'post',
  path: '/ingest',
  summary: 'Start the ingest pipeline for an object in S3',
  request: { body: { required: true, content: { 'application/json': { schema: StartIngestBody } } } },
  responses: {
    202: { description: 'started, or the existing run of this object version', content: { 'application/json': { schema: StartedRun } } },
    ...errors,
  },
});

const getRunRoute = createRoute({
  method: 'get',
  path: '/{id}',
  summary: 'Status, stage and progress of a workflow run',
  request: { params: z.object({ id: z.string().min(1).max(1000).openapi({ description: 'workflow id, URL-encoded as one path segment' }) }) },
  responses: {
    200: { description: 'the latest run of this workflow id', content: { 'application/json': { schema: RunStatus } } },
    ...errors,
  },
});

export function workflowRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.use('*', requireBearer(deps.config.API_KEY, 'operator'));

  app.openapi(startIngestRoute, async (c) => {
    const body = c.req.valid('json');
    // The run is keyed by the object's current version, exactly as its S3 notification would be,
    // so an API start and a notification for the same upload are one run.
    const head = await deps.storage.head({ bucket: body.bucket, key: body.key, versionId: body.versionId }).catch((err: unknown) => {
      if (err instanceof ObjectNotFoundError) throw new HttpError(404, 'object_not_found', err.message);
      throw err;
    });
    const run = await startIngest(deps.temporal, deps.config, {
      bucket: body.bucket,
      key: body.key,
      versionId: body.versionId ?? nonNullVersion(head.versionId),
      etag: head.etag,
      size: head.size,
      contentType: head.contentType,
    });
    return c.json(run, 202);
  });

  app.openapi(getRunRoute, async (c) => {
    const { id } = c.req.valid('param');
    const status = await describeRun(deps.temporal, deps.config, id);
    return c.json(status as z.infer<typeof RunStatus>, 200);
  });

  return app;
}

// Unversioned buckets answer HEAD with no version or the literal "null".
function nonNullVersion(versionId: string | undefined): string | undefined {
  return versionId && versionId !== 'null' ? versionId : undefined;
}
