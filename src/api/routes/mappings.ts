import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { MappingSpecSchema, OBJECT_TYPE } from '../../objectify/spec.js';
import type { AppDependencies, AppEnv } from '../app.js';
import { requireBearer } from '../auth.js';
import { HttpError } from '../errors.js';
import { ErrorSchema, OPERATOR_SECURITY } from '../schemas.js';
import { json } from './workflow-schemas.js';

const MappingSchema = z
  .object({
    id: z.string().openapi({ example: '7' }),
    objectType: z.string().openapi({ example: 'country' }),
    version: z.number().int().openapi({ description: '1, 2, … per object type' }),
    spec: MappingSpecSchema,
    createdAt: z.string(),
  })
  .openapi('Mapping');

const errors = {
  400: json(ErrorSchema, 'invalid spec'),
  401: json(ErrorSchema, 'missing or wrong API key'),
} as const;

const registerRoute = createRoute({
  method: 'post',
  path: '/',
  summary: 'Register a mapping spec as the next version of its object type (idempotent)',
  security: OPERATOR_SECURITY,
  request: { body: { required: true, content: { 'application/json': { schema: MappingSpecSchema } } } },
  responses: {
    200: json(MappingSchema, 'this exact spec was already registered: its existing version'),
    201: json(MappingSchema, 'registered as a new version'),
    ...errors,
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Mapping specs, newest first',
  security: OPERATOR_SECURITY,
  request: {
    query: z.object({
      objectType: z.string().regex(OBJECT_TYPE).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: { 200: json(z.object({ mappings: z.array(MappingSchema) }).openapi('MappingList'), 'the specs'), ...errors },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  summary: 'One mapping spec',
  security: OPERATOR_SECURITY,
  request: { params: z.object({ id: z.string().min(1).max(32) }) },
  responses: { 200: json(MappingSchema, 'the spec'), ...errors, 404: json(ErrorSchema, 'no such mapping') },
});

/** /api/v1/mappings: specs are immutable; a changed spec is a new version. */
export function mappingRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.use('*', requireBearer(deps.config.API_KEY, 'operator'));

  app.openapi(registerRoute, async (c) => {
    const { mapping, created } = await deps.mappings.register(c.req.valid('json'));
    if (created) deps.log.info({ requestId: c.get('requestId'), mappingId: mapping.id, objectType: mapping.objectType, version: mapping.version }, 'mapping registered');
    return c.json(mapping, created ? 201 : 200);
  });

  app.openapi(listRoute, async (c) => {
    const { objectType, limit } = c.req.valid('query');
    return c.json({ mappings: await deps.mappings.list({ objectType, limit }) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const mapping = await deps.mappings.get(id);
    if (!mapping) throw new HttpError(404, 'mapping_not_found', `no mapping with id ${JSON.stringify(id)}`);
    return c.json(mapping, 200);
  });

  return app;
}
