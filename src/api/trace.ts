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
