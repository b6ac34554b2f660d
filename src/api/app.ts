import { OpenAPIHono } from '@hono/zod-openapi';
import type { Client } from '@temporalio/client';
import { requestId } from 'hono/request-id';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { ObjectHead, ObjectLocator } from '../storage/s3.js';
import { errorHandler, HttpError, zodMessage } from './errors.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';
import { s3EventRoutes } from './routes/s3-events.js';
import { workflowRoutes } from './routes/workflows.js';

export interface AppDependencies {
  config: Config;
  temporal: Client;
  /** What the api needs of object storage: resolving an object's current version. */
  storage: { head(object: ObjectLocator, signal?: AbortSignal): Promise<ObjectHead> };
  readiness: Record<string, ReadinessCheck>;
  log: Logger;
}

export type AppEnv = { Variables: { requestId: string } };

/** Builds the HTTP app; tests call `app.request()` on it, `main.ts` serves it. */
export function createApp(deps: AppDependencies): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new HttpError(400, 'invalid_request', zodMessage(result.error));
    },
  });
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
  app.route('/api/v1/events', s3EventRoutes(deps));
  app.route('/api/v1/workflows', workflowRoutes(deps));
  return app;
}
