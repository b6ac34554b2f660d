/**
 * The api's Prometheus metrics (requests, latency, run starts, webhook refusals), served on
 * GET /metrics.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** The two endpoints that take deliveries from other systems; their refusals are counted apart. */
const WEBHOOKS: Record<string, string> = { '/api/v1/events/s3': 's3', '/api/v1/events': 'events' };

export type StartChannel = 'api' | 's3' | 'events';

/**
 * The api's Prometheus metrics, on a registry of their own (one per app, so tests do not share
 * counts). Route labels are route patterns (`/api/v1/workflows/:id`), never raw paths, so their
 * number is bounded.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'harvester_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'harvester_http_request_duration_seconds',
    help: 'Time from request to response headers, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly starts = new Counter({
    name: 'harvester_workflow_starts_total',
    help: 'Workflow start requests by pipeline and channel; outcome "duplicate" means the id already had a run',
    labelNames: ['pipeline', 'channel', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly webhookRejects = new Counter({
    name: 'harvester_webhook_rejects_total',
    help: 'Deliveries refused by the S3 webhook or the signed events endpoint, by status',
    labelNames: ['endpoint', 'status'] as const,
    registers: [this.registry],
  });

  /** `processMetrics`: also the Node.js process's CPU, memory, event loop lag and GC (the api process). */
  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'harvester_api_' });
  }

  runStart(pipeline: string, channel: StartChannel, duplicate: boolean): void {
    this.starts.inc({ pipeline, channel, outcome: duplicate ? 'duplicate' : 'started' });
  }

  /** Times every request; registered first, so it also sees the error handler's answers. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const started = performance.now();
      await next();
      const route = routePattern(c);
      const status = String(c.res.status);
      this.requests.inc({ method: c.req.method, route, status });
      this.latency.observe({ method: c.req.method, route }, (performance.now() - started) / 1000);
      const webhook = WEBHOOKS[route];
      if (webhook && c.res.status >= 400) this.webhookRejects.inc({ endpoint: webhook, status });
    };
  }
}

/** The pattern of the route that answered (`/api/v1/workflows/:id`), or `unmatched`. */
export function routePattern(c: Context): string {
  // The handler: the last matched route that is not a middleware (method ALL).
  return matchedRoutes(c).findLast((r) => r.method !== 'ALL')?.path ?? 'unmatched';
}
