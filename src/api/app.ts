/**
 * src/api: the HTTP edge, run by the api process (src/api/main.ts). It starts, watches and controls
 * runs on Temporal and reads the pipelines' results; it never does a pipeline's work itself.
 * This file composes the app: the middleware every request passes, the unauthenticated endpoints
 * (health, /metrics, /openapi.json, /docs), the two webhooks, and the operator API.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import { findTextProblem } from '../support/text.js';
import { RunWatchHub } from '../temporal/run-watch.js';
import { errorHandler, HttpError, zodMessage } from './errors.js';
import { ApiMetrics } from './metrics.js';
import { TAG_OBJECTS } from './openapi.js';
import { operatorRoutes } from './operator.js';
import { docsRoutes } from './routes/docs.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { s3EventRoutes } from './routes/s3-events.js';
import { traceRequests } from './trace.js';
import type { AppDependencies, AppEnv } from './types.js';

/** Builds the HTTP app; tests call `app.request()` on it, `main.ts` serves it. */
export function createApp(dependencies: AppDependencies): OpenAPIHono<AppEnv> {
  const deps = { ...dependencies, metrics: dependencies.metrics ?? new ApiMetrics() };
  const runWatch = deps.runWatch ?? new RunWatchHub(deps.temporal, deps.config, { log: deps.log });
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
  // The webhooks first: each checks its own credential, and answers before the operator API's key check.
  app.route('/api/v1/events', s3EventRoutes(deps));
  app.route('/api/v1/events', eventRoutes(deps));
  app.route('/api/v1', operatorRoutes(deps, runWatch));

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
    tags: TAG_OBJECTS,
  });
  return app;
}
