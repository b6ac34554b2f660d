import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes.js';
// @temporalio/proto is CommonJS that Node's ESM loader cannot name-import: use its default export.
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';
import type { Config } from '../config.js';
import { PIPELINE, SOURCE, STAGE } from '../contracts/common.js';
import { isoTime } from './timestamps.js';

/** Run statuses as the API spells them (the SDK's names). */
export const RUN_STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW'] as const;
export type RunStatusName = (typeof RUN_STATUSES)[number];

// Visibility's spelling of the same statuses.
const VISIBILITY_STATUS: Record<RunStatusName, string> = {
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELLED: 'Canceled',
  TERMINATED: 'Terminated',
  TIMED_OUT: 'TimedOut',
  CONTINUED_AS_NEW: 'ContinuedAsNew',
};

/**
 * Values that may appear inside a visibility query's quotes. Filters are checked against this
 * before they reach the query, so a value can never end the string literal it sits in.
 */
export const SAFE_QUERY_VALUE = /^[\w.:/@+=-]{1,256}$/;

export interface RunFilter {
  pipeline?: string;
  status?: RunStatusName;
  source?: string;
  stage?: string;
  startedAfter?: Date;
  startedBefore?: Date;
}

export interface RunListItem {
  workflowId: string;
  runId: string;
  pipeline: string;
  status: string;
  stage: string | null;
  source: string | null;
  startTime: string;
  closeTime: string | null;
}

export interface RunPage {
  runs: RunListItem[];
  /** Opaque; pass back as `pageToken` for the next page. Null on the last page. */
  nextPageToken: string | null;
}

/**
 * The visibility query for a filter. It always names this deployment's task queue and Harvester's
 * pipeline attribute, so other applications sharing the namespace stay out of the list.
 */
export function visibilityQuery(taskQueue: string, filter: RunFilter): string {
  const clauses = [`TaskQueue = ${quote(taskQueue)}`, `${PIPELINE.name} IS NOT NULL`];
  if (filter.pipeline) clauses.push(`${PIPELINE.name} = ${quote(filter.pipeline)}`);
  if (filter.source) clauses.push(`${SOURCE.name} = ${quote(filter.source)}`);
  if (filter.stage) clauses.push(`${STAGE.name} = ${quote(filter.stage)}`);
  if (filter.status) clauses.push(`ExecutionStatus = ${quote(VISIBILITY_STATUS[filter.status])}`);
  if (filter.startedAfter) clauses.push(`StartTime >= ${quote(filter.startedAfter.toISOString())}`);
  if (filter.startedBefore) clauses.push(`StartTime < ${quote(filter.startedBefore.toISOString())}`);
  return clauses.join(' AND ');
}

function quote(value: string): string {
  if (!SAFE_QUERY_VALUE.test(value)) throw new Error(`unsafe value in a visibility query: ${JSON.stringify(value)}`);
  return `'${value}'`;
}

/**
 * One page of runs from Temporal visibility, in visibility's own order: running runs first (newest
 * start first), then closed runs, most recently closed first. SQL visibility (the dev server,
 * Postgres/MySQL clusters) accepts no ORDER BY, so this order is the one every store gives.
 */
export async function listRuns(
  client: Client,
  config: Pick<Config, 'TEMPORAL_NAMESPACE' | 'TEMPORAL_TASK_QUEUE' | 'API_KEY'>,
  filter: RunFilter,
  page: { pageSize: number; pageToken?: string },
): Promise<RunPage> {
  const query = visibilityQuery(config.TEMPORAL_TASK_QUEUE, filter);
  const response = await client.workflowService.listWorkflowExecutions({
    namespace: config.TEMPORAL_NAMESPACE,
    query,
    pageSize: page.pageSize,
    nextPageToken: page.pageToken ? openPageToken(config.API_KEY, query, page.pageToken) : undefined,
  });
  const token = response.nextPageToken;
  return {
    runs: response.executions.map(toListItem),
    nextPageToken: token && token.length > 0 ? sealPageToken(config.API_KEY, query, Buffer.from(token)) : null,
  };
}

export class InvalidPageTokenError extends Error {
  constructor() {
    super('pageToken is not a nextPageToken of this list (the filters must stay the same)');
    this.name = 'InvalidPageTokenError';
  }
}

const TAG_BYTES = 16;

/**
 * Temporal's page token, bound to the query it continues and authenticated, so a token from other
 * filters or a made-up one is refused here instead of reaching the server (which answers a
 * garbled token with an opaque internal error).
 */
export function sealPageToken(key: string, query: string, raw: Buffer): string {
  return Buffer.concat([tag(key, query, raw), raw]).toString('base64url');
}

export function openPageToken(key: string, query: string, token: string): Buffer {
  const bytes = Buffer.from(token, 'base64url');
  const given = bytes.subarray(0, TAG_BYTES);
  const raw = bytes.subarray(TAG_BYTES);
  if (given.length !== TAG_BYTES || raw.length === 0 || !timingSafeEqual(given, tag(key, query, raw))) throw new InvalidPageTokenError();
  return raw;
}

function tag(key: string, query: string, raw: Buffer): Buffer {
  return createHmac('sha256', `harvester-page-token:${key}`).update(query).update('\0').update(raw).digest().subarray(0, TAG_BYTES);
}

function toListItem(raw: temporal.api.workflow.v1.IWorkflowExecutionInfo): RunListItem {
  const attributes = decodeTypedSearchAttributes(raw.searchAttributes?.indexedFields);
  return {
    workflowId: raw.execution?.workflowId ?? '',
    runId: raw.execution?.runId ?? '',
    pipeline: attributes.get(PIPELINE) ?? raw.type?.name ?? 'unknown',
    status: statusName(raw.status),
    stage: attributes.get(STAGE) ?? null,
    source: attributes.get(SOURCE) ?? null,
    startTime: isoTime(raw.startTime) ?? '',
    closeTime: isoTime(raw.closeTime),
  };
}

/** `WORKFLOW_EXECUTION_STATUS_CANCELED` → `CANCELLED`, as the SDK's describe() spells it. */
export function statusName(status: temporal.api.enums.v1.WorkflowExecutionStatus | null | undefined): string {
  const name = proto.temporal.api.enums.v1.WorkflowExecutionStatus[status ?? 0] ?? 'WORKFLOW_EXECUTION_STATUS_UNSPECIFIED';
  const short = name.replace(/^WORKFLOW_EXECUTION_STATUS_/, '');
  return short === 'CANCELED' ? 'CANCELLED' : short;
}
