/**
 * W3C Trace Context at the edge: trace ids from events and `traceparent` headers, and a server
 * span per request.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type TextMapGetter } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { routePattern } from './metrics.js';

/**
 * Trace ids as W3C Trace Context writes them: 32 lowercase hex digits, not all zero. They come
 * from an event's `trace_id` or a caller's `traceparent` header and travel with the run (memo)
 * and into the logs.
 */
const TRACE_ID = /^[0-9a-f]{32}$/;
// version "00": 2 hex version, 32 hex trace id, 16 hex parent id, 2 hex flags.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

export function isTraceId(value: string): boolean {
  return TRACE_ID.test(value) && !/^0+$/.test(value);
}

/** The trace id of a `traceparent` header, or undefined when the header is absent or invalid. */
export function traceIdFromTraceparent(header: string | undefined): string | undefined {
  const match = header ? TRACEPARENT.exec(header.trim().toLowerCase()) : null;
  if (!match || match[1] === 'ff') return undefined;
  const traceId = match[2]!;
  return isTraceId(traceId) && !/^0+$/.test(match[3]!) ? traceId : undefined;
}

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/**
 * A server span per request, continuing the caller's `traceparent` (W3C Trace Context). It is the
 * active context while the handler runs, so a workflow started there joins the trace. Without a
 * registered tracer provider (tracing off) the spans are no-ops.
 */
export function traceRequests(): MiddlewareHandler {
  const tracer = trace.getTracer('harvester-api');
  return async (c, next) => {
    const parent = propagation.extract(ROOT_CONTEXT, c.req.raw.headers, headerGetter);
    const span = tracer.startSpan(c.req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': c.req.method } }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const route = routePattern(c);
      span.updateName(`${c.req.method} ${route}`);
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', c.res.status);
      const requestId = c.get('requestId') as unknown;
      if (typeof requestId === 'string') span.setAttribute('harvester.request_id', requestId);
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
