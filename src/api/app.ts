import { OpenAPIHono } from '@hono/zod-openapi';
import type { Client } from '@temporalio/client';
import { requestId } from 'hono/request-id';
import type { Config } from '../config.js';
import type { ConnectorService } from '../connectors/service.js';
import type { DatasetView } from '../db/datasets.js';
import type { PgMappingRepository } from '../db/mappings.js';
import type { PgObjectReader } from '../db/objects.js';
import type { Logger } from '../logger.js';
import type { ObjectHead, ObjectLocator } from '../storage/s3.js';
import { RunWatchHub } from '../temporal/run-watch.js';
import { errorHandler, HttpError, zodMessage } from './errors.js';
import { ApiMetrics } from './metrics.js';
import { findTextProblem } from '../support/text.js';
import { connectorRoutes } from './routes/connectors.js';
import { docsRoutes } from './routes/docs.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';
import { mappingRoutes } from './routes/mappings.js';
import { objectifyRoutes } from './routes/objectify.js';
import { objectRoutes } from './routes/objects.js';
import { s3EventRoutes } from './routes/s3-events.js';
import { runControlRoutes } from './routes/run-control.js';
import { runHistoryRoutes } from './routes/run-history.js';
import { runStreamRoutes } from './routes/run-stream.js';
import { workflowRoutes } from './routes/workflows.js';
import { traceRequests } from './trace.js';

export interface AppDependencies {
  config: Config;
  temporal: Client;
  /** What the api needs of object storage: resolving an object's current version. */
  storage: { head(object: ObjectLocator, signal?: AbortSignal): Promise<ObjectHead> };
  /** Mapping specs of the objectify pipeline. */
  mappings: Pick<PgMappingRepository, 'register' | 'get' | 'list'>;
  /** Published objects, and datasets with their loads: objectify's results. */
  objects: Pick<PgObjectReader, 'resolveVersion' | 'list' | 'get'>;
  datasets: { read(id: string, rejectLimit: number): Promise<DatasetView | undefined> };
  /** Connectors and their Temporal Schedules. */
  connectors: Pick<ConnectorService, 'create' | 'list' | 'get' | 'update' | 'delete' | 'sync' | 'pause' | 'resume'>;
  readiness: Record<string, ReadinessCheck>;
  log: Logger;
  /**
   * The shared run watchers behind the stream endpoint (one per workflow id, a cap on open streams).
   * main.ts closes it on SIGTERM so open streams end; created here when absent.
   */
  runWatch?: RunWatchHub;
  /** Prometheus metrics served on GET /metrics; created here when absent. */
  metrics?: ApiMetrics;
}

export type AppEnv = { Variables: { requestId: string } };

/** Builds the HTTP app; tests call `app.request()` on it, `main.ts` serves it. */
export function createApp(dependencies: AppDependencies): OpenAPIHono<AppEnv> {
  const deps = { ...dependencies, metrics: dependencies.metrics ?? new ApiMetrics() };
  const app = new OpenAPIHono<AppEnv>({
    // Every validated path, query, header and JSON body of the operator API passes here.
    defaultHook: (result) => {
      if (!result.success) throw new HttpError(400, 'invalid_request', zodMessage(result.error));
      const problem = findTextProblem(result.data);
      if (problem) throw new HttpError(400, 'invalid_request', problem);
    },
  });
  app.use(traceRequests());
  app.use(deps.metrics.middleware());
  app.use(
    requestId({
      // Accept a caller's id only if it is short and plain, so it can be logged safely.
      generator: (c) => {
        const given = c.req.header('x-request-id');
        return given && /^[\w.-]{1,128}$/.test(given) ? given : crypto.randomUUID();
      },
    }),
  );
  app.onError(errorHandler(deps.log));
  app.notFound((c) => {
    throw new HttpError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`);
  });

  app.route('/', healthRoutes(deps.readiness));
  // For Prometheus to scrape: unauthenticated, like /healthz; keep the port off the public edge.
  app.get('/metrics', async (c) => c.body(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType }));
  app.route('/', docsRoutes());
  app.route('/api/v1/events', s3EventRoutes(deps));
  app.route('/api/v1/events', eventRoutes(deps));
  app.route('/api/v1/mappings', mappingRoutes(deps));
  app.route('/api/v1', objectRoutes(deps));
  app.route('/api/v1/connectors', connectorRoutes(deps));
  app.route('/api/v1/workflows', workflowRoutes(deps));
  app.route('/api/v1/workflows', objectifyRoutes(deps));
  app.route('/api/v1/workflows', runControlRoutes(deps));
  app.route('/api/v1/workflows', runHistoryRoutes(deps));
  app.route('/api/v1/workflows', runStreamRoutes(deps, deps.runWatch ?? new RunWatchHub(deps.temporal, deps.config, { log: deps.log })));

  app.openAPIRegistry.registerComponent('securitySchemes', 'operatorApiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'The operator API key (API_KEY setting).',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'webhookToken', {
    type: 'http',
    scheme: 'bearer',
    description: "The S3/MinIO notification token (WEBHOOK_TOKEN setting; MinIO's webhook auth token).",
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Harvester API',
      version: '1',
      description: 'Start, watch and control Harvester pipeline runs on Temporal. Every error answers `{ "error": { "code", "message", "requestId" } }`.',
    },
  });
  return app;
}
