import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { ObjectNotFoundError } from '../../storage/s3.js';
import { startIngest } from '../../pipelines/ingest.js';
import { InvalidPageTokenError, listRuns, RUN_STATUSES, SAFE_QUERY_VALUE } from '../../temporal/list.js';
import { describeRun } from '../../temporal/runs.js';
import type { AppDependencies, AppEnv } from '../app.js';
import { requireBearer } from '../auth.js';
import { HttpError } from '../errors.js';
import { handleStart } from '../start.js';
import {
  errorResponses,
  json,
  RunListSchema,
  RunStatusSchema,
  StartHeaders,
  StartQuery,
  startResponses,
  WorkflowIdParam,
} from './workflow-schemas.js';
import { S3BucketSchema, S3KeySchema } from '../../storage/names.js';
import { OPERATOR_SECURITY } from '../schemas.js';

const StartIngestBody = z
  .object({
    bucket: S3BucketSchema.openapi({ example: 'uploads' }),
    key: S3KeySchema.openapi({ example: 'reports/q3.pdf' }),
    versionId: z.string().min(1).max(1024).optional(),
  })
  .strict()
  .openapi('StartIngest');

const startIngestRoute = createRoute({
  method: 'post',
  path: '/ingest',
  security: OPERATOR_SECURITY,
  summary: 'Start the ingest pipeline for an object in S3',
  request: {
    headers: StartHeaders,
    query: StartQuery,
    body: { required: true, content: { 'application/json': { schema: StartIngestBody } } },
  },
  responses: startResponses('started, or the existing run of this object version or Idempotency-Key'),
});

const ListQuery = z.object({
  pipeline: z.enum(['ingest', 'objectify', 'connector-sync']).optional(),
  status: z.enum(RUN_STATUSES).optional(),
  source: z.string().regex(SAFE_QUERY_VALUE, 'source is a bucket name or connector id').optional().openapi({ example: 'uploads' }),
  stage: z.string().regex(/^[a-z-]{1,64}$/).optional().openapi({ example: 'analysing' }),
  startedAfter: z.iso.datetime({ offset: true }).optional().openapi({ example: '2026-11-23T00:00:00Z' }),
  startedBefore: z.iso.datetime({ offset: true }).optional(),
  pageSize: z.coerce.number().int().min(1).max(1000).default(50),
  pageToken: z.string().regex(/^[A-Za-z0-9_-]{1,4096}$/, 'pageToken is the nextPageToken of a previous page').optional(),
});

const listRoute = createRoute({
  method: 'get',
  path: '/',
  security: OPERATOR_SECURITY,
  summary: 'List and search runs (Temporal visibility): running runs first, then the most recently closed',
  request: { query: ListQuery },
  responses: { 200: json(RunListSchema, 'one page of runs'), ...errorResponses },
});

const getRunRoute = createRoute({
  method: 'get',
  path: '/{id}',
  security: OPERATOR_SECURITY,
  summary: 'Status, stage and progress of a workflow run',
  request: { params: WorkflowIdParam },
  responses: { 200: json(RunStatusSchema, 'the latest run of this workflow id'), ...errorResponses },
});

export function workflowRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.use('*', requireBearer(deps.config.API_KEY, 'operator'));

  app.openapi(startIngestRoute, async (c) => {
    const body = c.req.valid('json');
    const headers = c.req.valid('header');
    const response = await handleStart(c, deps, {
      pipeline: 'ingest',
      body,
      idempotencyKey: headers['idempotency-key'],
      traceparent: headers.traceparent,
      wait: c.req.valid('query').wait,
      start: async (options) => {
        // The run is keyed by the object's current version, exactly as its S3 notification would
        // be, so an API start and a notification for the same upload are one run.
        const head = await deps.storage.head({ bucket: body.bucket, key: body.key, versionId: body.versionId }).catch((err: unknown) => {
          if (err instanceof ObjectNotFoundError) throw new HttpError(404, 'object_not_found', err.message);
          throw err;
        });
        const object = { bucket: body.bucket, key: body.key, versionId: body.versionId ?? head.versionId, etag: head.etag, size: head.size, contentType: head.contentType };
        return startIngest(deps.temporal, deps.config, object, options);
      },
    });
    return response as never;
  });

  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const page = await listRuns(
      deps.temporal,
      deps.config,
      {
        pipeline: q.pipeline,
        status: q.status,
        source: q.source,
        stage: q.stage,
        startedAfter: q.startedAfter ? new Date(q.startedAfter) : undefined,
        startedBefore: q.startedBefore ? new Date(q.startedBefore) : undefined,
      },
      { pageSize: q.pageSize, pageToken: q.pageToken },
    ).catch((err: unknown) => {
      if (err instanceof InvalidPageTokenError) throw new HttpError(400, 'invalid_page_token', err.message);
      throw err;
    });
    return c.json(page, 200);
  });

  app.openapi(getRunRoute, async (c) => {
    const { id } = c.req.valid('param');
    const status = await describeRun(deps.temporal, deps.config, id);
    return c.json(status as z.infer<typeof RunStatusSchema>, 200);
  });

  return app;
}
