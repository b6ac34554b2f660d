/**
 * /api/v1/objects and /api/v1/datasets: the published results of objectify (typed objects by
 * type and key), and datasets with their versions, loads and rejected rows.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { OBJECT_TYPE } from '../../objectify/spec.js';
import { textProblem } from '../../support/text.js';
import { HttpError } from '../errors.js';
import { errorResponse, json, OPERATOR_SECURITY, tags, unauthorizedResponse } from '../openapi.js';
import type { AppDependencies, AppEnv } from '../types.js';

const TypeParam = z.string().regex(OBJECT_TYPE, 'an object type name').openapi({ example: 'country' });
const VersionQuery = z.string().regex(/^\d{1,18}$/, 'a load id from a dataset view or an object').optional().openapi({ description: 'a published load; default: the current one' });

const ObjectSchema = z
  .object({ type: z.string(), key: z.string(), version: z.string().openapi({ description: 'the load the object belongs to' }), properties: z.record(z.string(), z.unknown()) })
  .openapi('Object');

const errors = {
  400: errorResponse('invalid request'),
  ...unauthorizedResponse,
  404: errorResponse('no such object type, version, object or dataset'),
} as const;

const listRoute = createRoute({
  method: 'get',
  path: '/objects/{type}',
  tags: tags('objects'),
  summary: 'Objects of a type, in key order, from its published version (or an earlier one)',
  security: OPERATOR_SECURITY,
  request: {
    params: z.object({ type: TypeParam }),
    query: z.object({
      version: VersionQuery,
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      cursor: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,2048}$/, 'cursor is the nextCursor of a previous page')
        // A cursor is a key, base64url-encoded (PgObjectReader): one that cannot be a key is not a cursor.
        .refine((cursor) => textProblem(Buffer.from(cursor, 'base64url').toString('utf8')) === undefined, 'cursor is the nextCursor of a previous page')
        .optional(),
    }),
  },
  responses: {
    200: json(z.object({ type: z.string(), version: z.string(), objects: z.array(ObjectSchema), nextCursor: z.string().nullable() }).openapi('ObjectPage'), 'one page'),
    ...errors,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/objects/{type}/{key}',
  tags: tags('objects'),
  summary: 'One object by its primary key',
  description: 'A composite key is its values joined by ":" (a ":" or "%" inside a value written as %3A or %25), URL-encoded as one path segment.',
  security: OPERATOR_SECURITY,
  request: { params: z.object({ type: TypeParam, key: z.string().min(1).max(4096) }), query: z.object({ version: VersionQuery }) },
  responses: { 200: json(ObjectSchema, 'the object'), ...errors },
});

const DatasetSchema = z
  .object({
    id: z.string(),
    bucket: z.string(),
    key: z.string(),
    versions: z.array(
      z.object({
        id: z.string(),
        version: z.string(),
        etag: z.string(),
        sizeBytes: z.number(),
        format: z.string(),
        gzip: z.boolean(),
        registeredAt: z.string(),
        loads: z.array(
          z.object({
            loadId: z.string(),
            mappingId: z.string(),
            objectType: z.string(),
            workflowId: z.string(),
            rowsRead: z.number(),
            rowsRejected: z.number(),
            objects: z.number(),
            publishedAt: z.string().nullable(),
            current: z.boolean(),
            rejects: z.array(z.object({ rowNumber: z.number(), column: z.string().nullable(), reason: z.string(), raw: z.string() })),
          }),
        ),
      }),
    ),
  })
  .openapi('Dataset');

export const DATASET_REJECT_LIMIT = 100;

const datasetRoute = createRoute({
  method: 'get',
  path: '/datasets/{id}',
  tags: tags('datasets'),
  summary: `A dataset: its versions, their loads with counts, and each load's first ${DATASET_REJECT_LIMIT} rejected rows`,
  security: OPERATOR_SECURITY,
  request: { params: z.object({ id: z.string().min(1).max(32) }) },
  responses: { 200: json(DatasetSchema, 'the dataset'), ...errors },
});

export function objectRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

  const versionOf = async (type: string, version: string | undefined): Promise<string> => {
    const resolved = await deps.objects.resolveVersion(type, version);
    if (resolved) return resolved;
    throw version === undefined
      ? new HttpError(404, 'object_type_not_found', `no published objects of type ${JSON.stringify(type)}`)
      : new HttpError(404, 'version_not_found', `no published version ${version} of type ${JSON.stringify(type)}`);
  };

  app.openapi(listRoute, async (c) => {
    const { type } = c.req.valid('param');
    const { version, limit, cursor } = c.req.valid('query');
    const loadId = await versionOf(type, version);
    return c.json({ type, version: loadId, ...(await deps.objects.list(type, loadId, { limit, cursor })) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { type, key } = c.req.valid('param');
    const loadId = await versionOf(type, c.req.valid('query').version);
    const object = await deps.objects.get(type, loadId, key);
    if (!object) throw new HttpError(404, 'object_not_found', `no ${type} with key ${JSON.stringify(key)} in version ${loadId}`);
    return c.json(object, 200);
  });

  app.openapi(datasetRoute, async (c) => {
    const { id } = c.req.valid('param');
    const dataset = await deps.datasets.read(id, DATASET_REJECT_LIMIT);
    if (!dataset) throw new HttpError(404, 'dataset_not_found', `no dataset with id ${JSON.stringify(id)}`);
    return c.json(dataset, 200);
  });

  return app;
}
