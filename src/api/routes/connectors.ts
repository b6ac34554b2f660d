/**
 * /api/v1/connectors: sources polled for changes on Temporal Schedules (CRUD, sync now, pause
 * and resume).
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { UnsafeUrlError } from '../../connectors/safe-fetch.js';
import { ConnectorNotFoundError, type ConnectorRejectedCode, ConnectorRejectedError } from '../../connectors/service.js';
import { CONNECTOR_KINDS, CreateConnectorSchema, HttpCsvConfigSchema, S3PrefixConfigSchema, ScheduleSchema, UpdateConnectorSchema } from '../../connectors/spec.js';
import { ConnectorNameTakenError } from '../../db/connectors.js';
import { HttpError } from '../errors.js';
import { errorResponse, json, jsonBody, OPERATOR_SECURITY, optionalJsonBody, tags, unauthorizedResponse } from '../openapi.js';
import type { AppDependencies, AppEnv } from '../types.js';
import { RunListItemSchema } from './workflow-schemas.js';

const ConnectorSchema = z
  .object({
    id: z.string().openapi({ example: '0b9a4c1e-5f7a-4d52-9a47-3f1c2b8e6d10' }),
    name: z.string(),
    kind: z.enum(CONNECTOR_KINDS),
    config: z.union([HttpCsvConfigSchema, S3PrefixConfigSchema]),
    schedule: ScheduleSchema,
    pauseOnFailure: z.boolean(),
    mappingId: z.string().nullable().openapi({ description: 'http-csv: the registered mapping its rows go through' }),
    scheduleId: z.string().openapi({ description: 'the Temporal Schedule that starts its syncs', example: 'connector-sync:0b9a4c1e-5f7a-4d52-9a47-3f1c2b8e6d10' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Connector');

const ConnectorDetailSchema = ConnectorSchema.extend({
  status: z.object({
    scheduleId: z.string(),
    paused: z.boolean(),
    note: z.string().nullable().openapi({ description: 'why the schedule is paused (Temporal writes one after a failed sync)' }),
    nextRuns: z.array(z.string()).openapi({ description: 'the next scheduled syncs; empty while paused' }),
    lastSync: RunListItemSchema.nullable().openapi({ description: 'the newest sync run: running, or the last to close, with its outcome' }),
    recentRuns: z.array(RunListItemSchema).openapi({ description: 'recent sync runs from Temporal visibility' }),
    cursor: z
      .object({
        position: z.record(z.string(), z.unknown()).openapi({ description: 'http-csv: etag, lastModified, sha256, mappingId and sequence of the last imported file' }),
        checkedAt: z.string().openapi({ description: 'when a sync last finished checking the source' }),
        changedAt: z.string().nullable().openapi({ description: 'when a sync last imported a change' }),
        syncWorkflowId: z.string().nullable(),
        objects: z.number().int().optional().openapi({ description: 's3-prefix: objects taken so far' }),
      })
      .nullable()
      .openapi({ description: 'null until the first sync has finished' }),
  }),
}).openapi('ConnectorDetail');

const IdParam = z.object({ id: z.string().min(1).max(64).openapi({ example: '0b9a4c1e-5f7a-4d52-9a47-3f1c2b8e6d10' }) });
const NoteBody = z.strictObject({ note: z.string().min(1).max(500).optional() }).openapi('ScheduleNote');

const errors = {
  400: errorResponse('invalid request: the body, a refused URL (unsafe_url) or schedule (invalid_schedule)'),
  ...unauthorizedResponse,
} as const;
const notFound = { 404: errorResponse('no such connector') } as const;
const nameTaken = { 409: errorResponse('the name is taken') } as const;
const unprocessable = { 422: errorResponse('the mapping or bucket it names does not exist') } as const;

const createConnectorRoute = createRoute({
  method: 'post',
  path: '/',
  tags: tags('connectors'),
  summary: 'Create a connector and its Temporal Schedule',
  security: OPERATOR_SECURITY,
  request: { body: jsonBody(CreateConnectorSchema) },
  responses: { 201: json(ConnectorSchema, 'created; its schedule is running'), ...errors, ...nameTaken, ...unprocessable },
});

const listConnectorsRoute = createRoute({
  method: 'get',
  path: '/',
  tags: tags('connectors'),
  summary: 'Connectors, by name',
  security: OPERATOR_SECURITY,
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }) },
  responses: { 200: json(z.object({ connectors: z.array(ConnectorSchema) }).openapi('ConnectorList'), 'the connectors'), ...errors },
});

const getConnectorRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: tags('connectors'),
  summary: 'A connector with its status: schedule, cursor, last and recent syncs',
  security: OPERATOR_SECURITY,
  request: { params: IdParam },
  responses: { 200: json(ConnectorDetailSchema, 'the connector'), ...errors, ...notFound },
});

const updateConnectorRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  tags: tags('connectors'),
  summary: 'Change a connector (any of name, config, schedule, mapping, pauseOnFailure); its schedule follows',
  security: OPERATOR_SECURITY,
  request: { params: IdParam, body: jsonBody(UpdateConnectorSchema) },
  responses: { 200: json(ConnectorSchema, 'updated'), ...errors, ...notFound, ...nameTaken, ...unprocessable },
});

const deleteConnectorRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: tags('connectors'),
  summary: 'Delete a connector, its cursor and its schedule (a sync in progress runs to its end)',
  security: OPERATOR_SECURITY,
  request: { params: IdParam },
  responses: { 204: { description: 'deleted' }, ...errors, ...notFound },
});

const syncConnectorRoute = createRoute({
  method: 'post',
  path: '/{id}/sync',
  tags: tags('connectors'),
  summary: 'Sync now, through the schedule (no second sync while one runs)',
  security: OPERATOR_SECURITY,
  request: { params: IdParam },
  responses: {
    202: json(
      z
        .object({
          connectorId: z.string(),
          workflowId: z.string().nullable().openapi({ description: 'the sync run: follow it at /api/v1/workflows/{workflowId}' }),
          started: z.boolean().openapi({ description: 'false when a sync was already running: workflowId is that one' }),
        })
        .openapi('SyncTriggered'),
      'a sync is running',
    ),
    ...errors,
    ...notFound,
  },
});

const pauseRoute = createRoute({
  method: 'post',
  path: '/{id}/pause',
  tags: tags('connectors'),
  summary: 'Pause the schedule (a sync in progress runs to its end)',
  security: OPERATOR_SECURITY,
  request: { params: IdParam, body: optionalJsonBody(NoteBody) },
  responses: { 200: json(ConnectorDetailSchema, 'paused'), ...errors, ...notFound },
});

const resumeRoute = createRoute({
  method: 'post',
  path: '/{id}/resume',
  tags: tags('connectors'),
  summary: 'Resume the schedule, also after it paused itself on a failed sync',
  security: OPERATOR_SECURITY,
  request: { params: IdParam, body: optionalJsonBody(NoteBody) },
  responses: { 200: json(ConnectorDetailSchema, 'resumed'), ...errors, ...notFound },
});

export function connectorRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  const connectors = deps.connectors;

  app.openapi(createConnectorRoute, async (c) => {
    const connector = await answer(connectors.create(c.req.valid('json')));
    deps.log.info({ requestId: c.get('requestId'), connectorId: connector.id, kind: connector.kind, scheduleId: connector.scheduleId }, 'connector created');
    return c.json(connector, 201);
  });

  app.openapi(listConnectorsRoute, async (c) => c.json({ connectors: await connectors.list(c.req.valid('query').limit) }, 200));

  app.openapi(getConnectorRoute, async (c) => c.json(await answer(connectors.get(c.req.valid('param').id)), 200));

  app.openapi(updateConnectorRoute, async (c) => {
    const connector = await answer(connectors.update(c.req.valid('param').id, c.req.valid('json')));
    deps.log.info({ requestId: c.get('requestId'), connectorId: connector.id }, 'connector updated');
    return c.json(connector, 200);
  });

  app.openapi(deleteConnectorRoute, async (c) => {
    const { id } = c.req.valid('param');
    await answer(connectors.delete(id));
    deps.log.info({ requestId: c.get('requestId'), connectorId: id }, 'connector deleted');
    return c.body(null, 204);
  });

  app.openapi(syncConnectorRoute, async (c) => {
    const { id } = c.req.valid('param');
    const sync = await answer(connectors.sync(id));
    deps.log.info({ requestId: c.get('requestId'), connectorId: id, ...sync }, 'connector sync requested');
    return c.json({ connectorId: id, ...sync }, 202);
  });

  app.openapi(pauseRoute, async (c) => {
    const { id } = c.req.valid('param');
    await answer(connectors.pause(id, NoteBody.parse(c.req.valid('json') ?? {}).note));
    return c.json(await answer(connectors.get(id)), 200);
  });

  app.openapi(resumeRoute, async (c) => {
    const { id } = c.req.valid('param');
    await answer(connectors.resume(id, NoteBody.parse(c.req.valid('json') ?? {}).note));
    return c.json(await answer(connectors.get(id)), 200);
  });

  return app;
}

const REJECTED_STATUS = {
  invalid_config: 400,
  invalid_schedule: 400,
  mapping_not_found: 422,
  bucket_not_found: 422,
} as const satisfies Record<ConnectorRejectedCode, ContentfulStatusCode>;

/** The connector service's errors as HTTP answers. */
async function answer<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    if (err instanceof ConnectorNotFoundError) throw new HttpError(404, 'connector_not_found', err.message);
    if (err instanceof ConnectorNameTakenError) throw new HttpError(409, 'connector_name_taken', err.message);
    if (err instanceof UnsafeUrlError) throw new HttpError(400, 'unsafe_url', err.message);
    if (err instanceof ConnectorRejectedError) throw new HttpError(REJECTED_STATUS[err.code], err.code, err.message);
    throw err;
  }
}
