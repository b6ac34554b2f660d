/**
 * What the routes' OpenAPI descriptions share: the uniform error body, the builders of request
 * bodies and responses, the operator API's security, and the tags that group /docs by resource.
 */
import { z } from '@hono/zod-openapi';
import { ERROR_CODE_MEANINGS, ERROR_CODES } from './error-codes.js';

/** The uniform error body of every non-2xx answer. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).openapi({
        description: Object.entries(ERROR_CODE_MEANINGS)
          .map(([code, meaning]) => `- \`${code}\`: ${meaning}`)
          .join('\n'),
        example: 'workflow_not_found',
      }),
      message: z.string(),
      requestId: z.string(),
    }),
  })
  .openapi('Error');

/** OpenAPI security of the operator API: `Authorization: Bearer <API_KEY>`. */
export const OPERATOR_SECURITY = [{ operatorApiKey: [] }];

/** The resources /docs is grouped by; every operation carries exactly one (see `tags`). */
export const TAGS = {
  events: 'Deliveries from other systems: S3/MinIO bucket notifications and signed events, each starting a run',
  runs: 'Pipeline runs on Temporal: start an ingest, list and search, status, history, live stream, cancel and retry',
  objectify: 'Mapping specs, and objectify runs that turn a dataset version into typed objects',
  assets: 'Ingested documents: their AI outputs, chunks, text and lineage',
  objects: 'Typed objects: the published results of objectify',
  datasets: 'Datasets: their versions, loads and rejected rows',
  connectors: 'Sources polled for changes on Temporal Schedules',
  health: 'Liveness and readiness',
} as const;

export type Tag = keyof typeof TAGS;

/** The document's `tags`, in the order above. */
export const TAG_OBJECTS = Object.entries(TAGS).map(([name, description]) => ({ name, description }));

/** An operation's tags: exactly one. */
export function tags(tag: Tag): [Tag] {
  return [tag];
}

/** A JSON response (or request body content) with its schema. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

/** An error response: the uniform error body. */
export function errorResponse(description: string) {
  return json(ErrorSchema, description);
}

/** The 401 of every operator route (the operator sub-app checks the key). */
export const unauthorizedResponse = { 401: errorResponse('missing or wrong API key') } as const;

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } };
}

/** A body that may be left out: a POST without one (no JSON content type) means the defaults. */
export function optionalJsonBody<T extends z.ZodType>(schema: T) {
  return { required: false, content: { 'application/json': { schema } } };
}
