/**
 * The zod schemas of the run routes (under /api/v1/workflows): they validate requests and
 * generate /openapi.json. Also the headers, query and responses every start shares.
 */
import { z } from '@hono/zod-openapi';
import { ENGINE_FAILURE_TYPES, FAILURE_TYPES } from '../../contracts/failures.js';
import { RUN_STATUSES } from '../../temporal/list.js';
import { ErrorSchema, errorResponse, json, unauthorizedResponse } from '../openapi.js';
import { MAX_WAIT_MS } from '../wait.js';

export const WorkflowIdParam = z.object({
  id: z.string().min(1).max(1000).openapi({
    description: 'workflow id, URL-encoded as one path segment (e.g. ingest%3Auploads%2Fa.txt%40<etag>)',
    example: 'ingest:uploads/reports/q3.pdf@9b2cf535f27731c974343645a3985328',
  }),
});

const STATUS_NAMES = [...RUN_STATUSES, 'PAUSED', 'UNSPECIFIED', 'UNKNOWN'] as const;

// The type stays a string in the schema (an exhausted retryable error reports its own name); the
// closed set is listed for the reader.
const FAILURE_TYPE_HELP =
  'What the run ended with: one of the failure types below (problems retrying cannot fix, so a person has to act); ' +
  `${ENGINE_FAILURE_TYPES.join(', ')} when Temporal ended the run; or the name of a retryable error whose retries ran out.\n\n` +
  Object.entries(FAILURE_TYPES)
    .map(([type, meaning]) => `- \`${type}\`: ${meaning}`)
    .join('\n');

export const FailureSchema = z
  .object({ type: z.string().openapi({ description: FAILURE_TYPE_HELP, example: 'ObjectNotFound' }), message: z.string(), nonRetryable: z.boolean() })
  .openapi('RunFailure');

export const StartedRunSchema = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    duplicate: z.boolean().openapi({ description: 'true when the id already had a run: nothing new was started' }),
  })
  .openapi('StartedRun');

export const CompletedRunSchema = StartedRunSchema.extend({
  status: z.literal('COMPLETED'),
  result: z.unknown(),
}).openapi('CompletedRun');

const ModelUsageSchema = z.object({
  calls: z.number().int(),
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  embeddingTokens: z.number().int(),
  totalTokens: z.number().int(),
  costUsd: z.number().nullable().openapi({ description: 'USD from AI_PRICES; null when a model has no price there' }),
});

export const RunUsageSchema = ModelUsageSchema.extend({
  provider: z.string(),
  byModel: z.record(z.string(), ModelUsageSchema),
}).openapi('RunUsage');

export const RunStatusSchema = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    pipeline: z.string(),
    status: z.enum(STATUS_NAMES),
    stage: z.string().nullable(),
    progress: z.number().min(0).max(1).nullable(),
    counters: z.record(z.string(), z.number()).nullable().openapi({ description: 'objectify: rowsRead, rowsRejected, bytesRead, totalBytes; ingest with a model: windows, windowsDone' }),
    usage: RunUsageSchema.nullable().openapi({ description: "ingest with a model: the tokens and cost of the run's model calls so far; null without any" }),
    startTime: z.string(),
    closeTime: z.string().nullable(),
    result: z.unknown(),
    failure: FailureSchema.nullable(),
    historyLength: z.number().int(),
    currentStep: z.object({ name: z.string(), attempt: z.number().int(), lastFailure: z.string().nullable() }).nullable(),
    uiUrl: z.string(),
  })
  .openapi('RunStatus');

export const RunListItemSchema = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    pipeline: z.string(),
    status: z.string(),
    stage: z.string().nullable(),
    source: z.string().nullable(),
    startTime: z.string(),
    closeTime: z.string().nullable(),
  })
  .openapi('RunListItem');

export const RunListSchema = z
  .object({
    runs: z.array(RunListItemSchema),
    nextPageToken: z.string().nullable().openapi({ description: 'pass as pageToken for the next page; null on the last page' }),
  })
  .openapi('RunList');

/** A failed run waited for with ?wait=: the uniform error body plus the run and its failure. */
export const RunFailedSchema = ErrorSchema.extend({
  workflowId: z.string(),
  runId: z.string(),
  status: z.string(),
  failure: FailureSchema,
}).openapi('RunFailed');

/** ?wait= ran out: where to look next. */
export const WaitTimeoutSchema = ErrorSchema.extend({
  workflowId: z.string(),
  runId: z.string(),
  statusUrl: z.string(),
  streamUrl: z.string(),
}).openapi('WaitTimeout');

/** What the run routes answer when the request is refused. */
export const errorResponses = {
  400: errorResponse('invalid request'),
  ...unauthorizedResponse,
  404: errorResponse('no such workflow or object'),
} as const;

export const conflictResponse = { 409: errorResponse('the run is not in a state that allows this') } as const;

/** Headers and query every `POST /api/v1/workflows/{pipeline}` takes. */
export const StartHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, 'Idempotency-Key must be 1 to 255 visible ASCII characters')
    .optional()
    .openapi({ description: 'the same key returns the same run (a different body with the same key is a 409)' }),
  traceparent: z.string().max(512).optional().openapi({ description: 'W3C trace context; its trace id is kept with the run' }),
});

export const StartQuery = z.object({
  wait: z
    .string()
    .regex(/^\d{1,6}(ms|s|m)$/, 'wait is a duration such as 30s, 1500ms or 2m')
    .optional()
    .openapi({ description: `wait up to this long for the result (at most ${MAX_WAIT_MS / 1000}s)`, example: '30s' }),
});

/** The answers of every `POST /api/v1/workflows/{pipeline}`. */
export function startResponses(started: string) {
  return {
    200: json(CompletedRunSchema, 'with ?wait=: the run completed in time; its result'),
    202: json(StartedRunSchema, started),
    ...errorResponses,
    408: json(WaitTimeoutSchema, 'with ?wait=: still running when the wait ended'),
    409: errorResponse('the Idempotency-Key was used with a different request; or, with ?wait=, the run was cancelled or terminated'),
    422: json(RunFailedSchema, 'with ?wait=: the run failed'),
    504: json(RunFailedSchema, 'with ?wait=: the run timed out'),
  } as const;
}
