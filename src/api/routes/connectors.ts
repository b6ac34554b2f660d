import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { UnsafeUrlError } from '../../connectors/safe-fetch.js';
import { ConnectorNotFoundError, ConnectorRejectedError } from '../../connectors/service.js';
import { CONNECTOR_KINDS, CreateConnectorSchema, HttpCsvConfigSchema, S3PrefixConfigSchema, ScheduleSchema, UpdateConnectorSchema } from '../../connectors/spec.js';
import { ConnectorNameTakenError } from '../../db/connectors.js';
import type { AppDependencies, AppEnv } from '../app.js';
import { requireBearer } from '../auth.js';
import { HttpError } from '../errors.js';
import { ErrorSchema, OPERATOR_SECURITY } from '../schemas.js';
import { json, RunListItemSchema } from './workflow-schemas.js';

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
const optionalBody = <T extends z.ZodType>(schema: T) => ({ required: false, content: { 'application/json': { schema } } });

const errors = {
  400: json(ErrorSchema, 'invalid request: the body, a refused URL (unsafe_url) or schedule (invalid_schedule)'),
  401: json(ErrorSchema, 'missing or wrong API key'),
} as const;
const notFound = { 404: json(ErrorSchema, 'no such connector') } as const;
const unprocessable = { 422: json(ErrorSchema, 'the mapping or bucket it names does not exist') } as const;

const createConnectorRoute = createRoute({
  method: 'post',
  path: '/',
  summary: 'Create a connector and its Temporal Schedule',
  security: OPERATOR_SECURITY,
  request: { body: { required: true, content: { 'application/json': { schema: CreateConnectorSchema } } } },
  responses: { 201: json(ConnectorSchema, 'created; its schedule is running'), ...errors, 409: json(ErrorSchema, 'the name is taken'), ...unprocessable },
});

const listConnectorsRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Connectors, by name',
  security: OPERATOR_SECURITY,
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }) },
  responses: { 200: json(z.object({ connectors: z.array(ConnectorSchema) }).openapi('ConnectorList'), 'the connectors'), ...errors },
});

const getConnectorRoute = createRoute({
  method: 'get',
  path: '/{id}',
  summary: 'A connector with its status: schedule, cursor, last and recent syncs',
  security: OPERATOR_SECURITY,
  request: { params: IdParam },
  responses: { 200: json(ConnectorDetailSchema, 'the connector'), ...errors, ...notFound },
});

const updateConnectorRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  summary: 'Change a connector (any of name, config, schedule, mapping, pauseOnFailure); its schedule follows',
  security: OPERATOR_SECURITY,
  request: { params: IdParam, body: { required: true, content: { 'application/json': { schema: UpdateConnectorSchema } } } },
  responses: { 200: json(ConnectorSchema, 'updated'), ...errors, ...notFound, 409: json(ErrorSchema, 'the name is taken'), ...unprocessable },
});

const deleteConnectorRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  summary: 'Delete a connector, its cursor and its schedule (a sync in progress runs to its end)',
  security: OPERATOR_SECURITY,
  request: { params: IdParam },
  responses: { 204: { description: 'deleted' }, ...errors, ...notFound },
});

const syncConnectorRoute = createRoute({
  method: 'post',
  path: '/{id}/sync',
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
  summary: 'Pause the schedule (a sync in progress runs to its end)',
  security: OPERATOR_SECURITY,
  request: { params: IdParam, body: optionalBody(NoteBody) },
  responses: { 200: json(ConnectorDetailSchema, 'paused'), ...errors, ...notFound },
});

const resumeRoute = createRoute({
  method: 'post',
  path: '/{id}/resume',
  summary: 'Resume the schedule, also after it paused itself on a failed sync',
  security: OPERATOR_SECURITY,
  request: { params: IdParam, body: optionalBody(NoteBody) },
  responses: { 200: json(ConnectorDetailSchema, 'resumed'), ...errors, ...notFound },
});

/** /api/v1/connectors: sources polled on Temporal Schedules. */
export function connectorRoutes(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  app.use('*', requireBearer(deps.config.API_KEY, 'operator'));
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

const REJECTED_STATUS = { invalid_config: 400, invalid_schedule: 400, mapping_not_found: 422, bucket_not_found: 422 } as const;

/** The connector service's errors as HTTP answers. */
async function answer<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    if (err instanceof ConnectorNotFoundError) throw new HttpError(404, 'connector_not_found', err.message);
    if (err instanceof ConnectorNameTakenError) throw new HttpError(409, 'connector_name_taken', err.message);
    if (err instanceof UnsafeUrlError) throw new HttpError(400, 'unsafe_url', err.message);
    if (err instanceof ConnectorRejectedError) throw new HttpError(REJECTED_STATUS[err.code as keyof typeof REJECTED_STATUS] ?? 400, err.code, err.message);
    throw err;
  }
}
