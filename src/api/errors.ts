/**
 * The one HTTP error type, the one error body, and the mapping of everything thrown to them
 * (Temporal's and the store's errors on purpose, the unknown to a bare 500).
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { ZodError } from 'zod';
import type { Logger } from '../logger.js';
import { ObjectNotFoundError } from '../storage/s3.js';
import type { ErrorCode } from './error-codes.js';

/** The one error type the HTTP layer throws; `onError` turns it into the uniform body. */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string };
}

/** The uniform error body: every non-2xx JSON answer is built here. */
export function errorBody(requestId: string, code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message, requestId } };
}

export function requestIdOf(c: Context): string {
  const id: unknown = c.get('requestId');
  return typeof id === 'string' ? id : 'unknown';
}

export function zodMessage(err: ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/** Maps every error to the uniform body; Temporal's errors on purpose, the unknown to a bare 500. */
export function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof ZodError) return new HttpError(400, 'invalid_request', zodMessage(err));
  if (err instanceof WorkflowNotFoundError) return new HttpError(404, 'workflow_not_found', `no workflow with id ${JSON.stringify(err.workflowId)}`);
  if (err instanceof WorkflowExecutionAlreadyStartedError) return new HttpError(409, 'already_started', err.message);
  // A start names an object that is not in the store (pinVersion); the signed events endpoint
  // answers its own way (EventRejectedError), before this.
  if (err instanceof ObjectNotFoundError) return new HttpError(404, 'object_not_found', err.message);
  if (err instanceof HTTPException) {
    // Hono's own (malformed JSON from a validator; a body that is not declared JSON, which
    // @hono/zod-openapi refuses before validating it): keep the status, use our body.
    if (err.status === 415) return new HttpError(415, 'unsupported_media_type', 'the body must be JSON, sent with content-type: application/json');
    return new HttpError(err.status, err.status === 400 ? 'invalid_request' : 'http_error', err.message);
  }
  return undefined;
}

export function errorHandler(log: Logger) {
  return (err: Error, c: Context): Response => {
    const known = toHttpError(err);
    if (known) return c.json(errorBody(requestIdOf(c), known.code, known.message), known.status);
    log.error({ err, requestId: requestIdOf(c), path: c.req.path }, 'unhandled error');
    // Never leak a stack trace or an internal message to the caller.
    return c.json(errorBody(requestIdOf(c), 'internal', 'internal error; the request id is in the server log'), 500);
  };
}
