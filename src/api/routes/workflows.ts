/**
 * GET /api/v1/workflows and /api/v1/workflows/{id}: runs listed and searched through Temporal
 * visibility, and one run's status.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { InvalidPageTokenError, listRuns, RUN_STATUSES, SAFE_QUERY_VALUE } from '../../temporal/list.js';
import { describeRun } from '../../temporal/runs.js';
import { HttpError } from '../errors.js';
import { json, OPERATOR_SECURITY, tags } from '../openapi.js';
import type { AppDependencies, AppEnv } from '../types.js';
import { errorResponses, RunListSchema, RunStatusSchema, WorkflowIdParam } from './workflow-schemas.js';

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
  tags: tags('runs'),
  security: OPERATOR_SECURITY,
  summary: 'List and search runs (Temporal visibility): running runs first, then the most recently closed',
  request: { query: ListQuery },
  responses: { 200: json(RunListSchema, 'one page of runs'), ...errorResponses },
});

const getRunRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: tags('runs'),
  security: OPERATOR_SECURITY,
  summary: 'Status, stage and progress of a workflow run',
  request: { params: WorkflowIdParam },
  responses: { 200: json(RunStatusSchema, 'the latest run of this workflow id'), ...errorResponses },
});

export function workflowRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

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
