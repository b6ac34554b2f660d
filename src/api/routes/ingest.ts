/**
 * POST /api/v1/workflows/ingest: the ingest pipeline for an object in S3, started by an operator.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { startIngest } from '../../pipelines/ingest.js';
import { pinVersion } from '../../pipelines/pin.js';
import { S3BucketSchema, S3KeySchema } from '../../storage/names.js';
import { jsonBody, OPERATOR_SECURITY, tags } from '../openapi.js';
import { answerStart, handleStart, startRequestOf } from '../start.js';
import type { AppDependencies, AppEnv } from '../types.js';
import { StartHeaders, StartQuery, startResponses } from './workflow-schemas.js';

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
  tags: tags('runs'),
  security: OPERATOR_SECURITY,
  summary: 'Start the ingest pipeline for an object in S3',
  request: { headers: StartHeaders, query: StartQuery, body: jsonBody(StartIngestBody) },
  responses: startResponses('started, or the existing run of this object version or Idempotency-Key'),
});

export function ingestRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(startIngestRoute, async (c) => {
    const body = c.req.valid('json');
    const answer = await handleStart(deps, {
      pipeline: 'ingest',
      body,
      ...startRequestOf(c, c.req.valid('header'), c.req.valid('query')),
      // The run is keyed by the object's current version, exactly as its S3 notification would
      // be, so an API start and a notification for the same upload are one run.
      start: async (options) => startIngest(deps.temporal, deps.config, await pinVersion(deps.storage, body), options),
    });
    return answerStart(c, answer);
  });

  return app;
}
