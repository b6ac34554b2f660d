/**
 * The operator API under /api/v1: every route module an operator calls, behind one check of the
 * API key. The webhooks under /api/v1/events authenticate themselves and are mounted before it.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { RunWatchHub } from '../temporal/run-watch.js';
import { requireBearer } from './auth.js';
import { connectorRoutes } from './routes/connectors.js';
import { ingestRoutes } from './routes/ingest.js';
import { mappingRoutes } from './routes/mappings.js';
import { objectifyRoutes } from './routes/objectify.js';
import { assetRoutes } from './routes/assets.js';
import { objectRoutes } from './routes/objects.js';
import { runControlRoutes } from './routes/run-control.js';
import { runHistoryRoutes } from './routes/run-history.js';
import { runStreamRoutes } from './routes/run-stream.js';
import { workflowRoutes } from './routes/workflows.js';
import type { AppDependencies, AppEnv } from './types.js';

export function operatorRoutes(deps: AppDependencies, runWatch: RunWatchHub): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  // Every path under /api/v1 that no webhook answered, known or not: an unknown one is a 404 only
  // for a caller with the key, so the API's shape is not probed without it.
  app.use('*', requireBearer(deps.config.API_KEY, 'operator'));

  app.route('/mappings', mappingRoutes(deps));
  app.route('/', objectRoutes(deps));
  app.route('/assets', assetRoutes(deps));
  app.route('/connectors', connectorRoutes(deps));
  // Ingest before list and status: the OpenAPI generator keeps the first use of a shared schema
  // (RunFailure, not null in a start's answers; nullable in a run's status) as its component.
  app.route('/workflows', ingestRoutes(deps));
  app.route('/workflows', workflowRoutes(deps));
  app.route('/workflows', objectifyRoutes(deps));
  app.route('/workflows', runControlRoutes(deps));
  app.route('/workflows', runHistoryRoutes(deps));
  app.route('/workflows', runStreamRoutes(runWatch));
  return app;
}
