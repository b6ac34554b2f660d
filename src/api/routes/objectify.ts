/**
 * POST /api/v1/workflows/objectify: the objectify pipeline (a dataset version through a mapping
 * spec into typed objects), started by an operator.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { DEFAULT_BATCH_ROWS, DEFAULT_MAX_REJECT_RATIO } from '../../contracts/objectify.js';
import { MappingSpecSchema } from '../../objectify/spec.js';
import { startObjectify } from '../../pipelines/objectify.js';
import { pinVersion } from '../../pipelines/pin.js';
import { S3UrlSchema } from '../../storage/names.js';
import { parseS3Url } from '../../storage/s3.js';
import { HttpError } from '../errors.js';
import { jsonBody, OPERATOR_SECURITY, tags } from '../openapi.js';
import { answerStart, handleStart, startRequestOf } from '../start.js';
import type { AppDependencies, AppEnv } from '../types.js';
import { StartHeaders, StartQuery, startResponses } from './workflow-schemas.js';

const StartObjectifyBody = z
  .object({
    dataset: S3UrlSchema.openapi({ example: 's3://datasets/countries.csv' }),
    versionId: z.string().min(1).max(1024).optional().openapi({ description: 'an S3 version of the dataset; default: its current version' }),
    mapping: z
      .union([z.string().regex(/^\d{1,18}$/, 'a mapping id'), MappingSpecSchema])
      .openapi({ description: 'a registered mapping id, or a spec (registered on the way, idempotently)' }),
    maxRejectRatio: z.number().min(0).max(1).default(DEFAULT_MAX_REJECT_RATIO),
    batchRows: z.number().int().min(100).max(50_000).default(DEFAULT_BATCH_ROWS),
  })
  .strict()
  .openapi('StartObjectify');

const startObjectifyRoute = createRoute({
  method: 'post',
  path: '/objectify',
  tags: tags('objectify'),
  summary: 'Start the objectify pipeline: a dataset version through a mapping spec into typed objects',
  security: OPERATOR_SECURITY,
  request: { headers: StartHeaders, query: StartQuery, body: jsonBody(StartObjectifyBody) },
  responses: startResponses('started, or the existing run of this dataset version and mapping (or Idempotency-Key)'),
});

export function objectifyRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(startObjectifyRoute, async (c) => {
    const body = c.req.valid('json');
    const { bucket, key } = parseS3Url(body.dataset);
    const answer = await handleStart(deps, {
      pipeline: 'objectify',
      body,
      ...startRequestOf(c, c.req.valid('header'), c.req.valid('query')),
      start: async (options) => {
        const mapping = typeof body.mapping === 'string' ? await deps.mappings.get(body.mapping) : (await deps.mappings.register(body.mapping)).mapping;
        if (!mapping) throw new HttpError(404, 'mapping_not_found', `no mapping with id ${JSON.stringify(body.mapping)}`);
        // The run is named by the dataset's version now, so a later upload is a new version and a new run.
        const { versionId, etag } = await pinVersion(deps.storage, { bucket, key, versionId: body.versionId });
        const dataset = { bucket, key, versionId, etag };
        return startObjectify(deps.temporal, deps.config, { dataset, mappingId: mapping.id, maxRejectRatio: body.maxRejectRatio, batchRows: body.batchRows }, options);
      },
    });
    return answerStart(c, answer);
  });

  return app;
}
