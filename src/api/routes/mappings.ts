/**
 * /api/v1/mappings: the mapping specs of the objectify pipeline. Specs are immutable; a changed
 * spec is a new version.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { MappingSpecSchema, OBJECT_TYPE } from '../../objectify/spec.js';
import { HttpError } from '../errors.js';
import { errorResponse, json, jsonBody, OPERATOR_SECURITY, tags, unauthorizedResponse } from '../openapi.js';
import type { AppDependencies, AppEnv } from '../types.js';

const MappingSchema = z
  .object({
    id: z.string().openapi({ example: '7' }),
    objectType: z.string().openapi({ example: 'country' }),
    version: z.number().int().openapi({ description: '1, 2, … per object type' }),
    spec: MappingSpecSchema,
    createdAt: z.string(),
  })
  .openapi('Mapping');

const errors = { 400: errorResponse('invalid spec'), ...unauthorizedResponse } as const;

const registerRoute = createRoute({
  method: 'post',
  path: '/',
  tags: tags('objectify'),
  summary: 'Register a mapping spec as the next version of its object type (idempotent)',
  security: OPERATOR_SECURITY,
  request: { body: jsonBody(MappingSpecSchema) },
  responses: {
    200: json(MappingSchema, 'this exact spec was already registered: its existing version'),
    201: json(MappingSchema, 'registered as a new version'),
    ...errors,
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: tags('objectify'),
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
  tags: tags('objectify'),
  summary: 'One mapping spec',
  security: OPERATOR_SECURITY,
  request: { params: z.object({ id: z.string().min(1).max(32) }) },
  responses: { 200: json(MappingSchema, 'the spec'), ...errors, 404: errorResponse('no such mapping') },
});

export function mappingRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();

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
