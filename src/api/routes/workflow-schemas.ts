import { z } from '@hono/zod-openapi';
import { RUN_STATUSES } from '../../temporal/list.js';
import { ErrorSchema } from '../schemas.js';

/** The zod schemas of the workflow routes: they validate requests and generate /openapi.json. */

export const WorkflowIdParam = z.object({
  id: z.string().min(1).max(1000).openapi({
    description: 'workflow id, URL-encoded as one path segment (e.g. ingest%3Auploads%2Fa.txt%40<etag>)',
    example: 'ingest:uploads/reports/q3.pdf@9b2cf535f27731c974343645a3985328',
  }),
});

const STATUS_NAMES = [...RUN_STATUSES, 'PAUSED', 'UNSPECIFIED', 'UNKNOWN'] as const;

export const FailureSchema = z
  .object({ type: z.string(), message: z.string(), nonRetryable: z.boolean() })
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

export const RunStatusSchema = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    pipeline: z.string(),
    status: z.enum(STATUS_NAMES),
    stage: z.string().nullable(),
    progress: z.number().min(0).max(1).nullable(),
    startTime: z.string(),
    closeTime: z.string().nullable(),
    result: z.unknown(),
    failure: FailureSchema.nullable(),
    historyLength: z.number().int(),
    currentStep: z.object({ name: z.string(), attempt: z.number().int(), lastFailure: z.string().nullable() }).nullable(),
    uiUrl: z.string(),
  })
  .openapi('RunStatus');

export const RunListSchema = z
  .object({
    runs: z.array(
      z.object({
        workflowId: z.string(),
        runId: z.string(),
        pipeline: z.string(),
        status: z.string(),
        stage: z.string().nullable(),
        source: z.string().nullable(),
        startTime: z.string(),
        closeTime: z.string().nullable(),
      }),
    ),
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

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

export const errorResponses = {
  400: json(ErrorSchema, 'invalid request'),
  401: json(ErrorSchema, 'missing or wrong API key'),
  404: json(ErrorSchema, 'no such workflow or object'),
} as const;

export const conflictResponse = { 409: json(ErrorSchema, 'the run is not in a state that allows this') } as const;

export { json };
