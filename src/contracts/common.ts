/**
 * src/contracts: what the processes agree on. The api starts and reads runs, the worker runs them,
 * and the workflows, activities, api and scripts all import their shared types, names and id rules
 * from here. Workflow-safe: no Node built-ins and nothing outside src/contracts but Temporal's
 * workflow-safe packages, so the workflow bundle can include any of it.
 *
 * This module: what every pipeline shares (the object reference, the pipelines' names, search
 * attributes, the version rule and the bounded, deterministic workflow ids).
 */
import { defineSearchAttributeKey, type SearchAttributePair, type Workflow } from '@temporalio/common';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/** One stored object, as named by its S3 event notification, a signed event or an API call. */
export interface ObjectRef {
  bucket: string;
  key: string;
  versionId?: string | undefined;
  etag?: string | undefined;
  size?: number | undefined;
  contentType?: string | undefined;
}

/** What names an object version: enough for a workflow id. */
export type ObjectVersionRef = Pick<ObjectRef, 'bucket' | 'key' | 'versionId' | 'etag'>;

/** The pipelines, as the API and the HarvesterPipeline search attribute name them. */
export const PIPELINES = ['ingest', 'objectify', 'connector-sync'] as const;
export type Pipeline = (typeof PIPELINES)[number];

/**
 * A workflow type as the starters see it: the name the worker registers it under (its export
 * name in src/workflows/index.ts), the pipeline it belongs to, and its signature (type only).
 * Starting a run through a contract checks its arguments against the workflow's input type
 * without loading workflow code into the api.
 */
export interface WorkflowContract<W extends Workflow = Workflow> {
  readonly workflowType: string;
  readonly pipeline: Pipeline;
  /** Never set: carries the workflow's type for `startRun` and `executeChild`. */
  readonly signature?: W;
}

export function defineWorkflow<W extends Workflow>(workflowType: string, pipeline: Pipeline): WorkflowContract<W> {
  return { workflowType, pipeline };
}

/** The workflow function type a contract stands for. */
export type WorkflowOf<C> = C extends WorkflowContract<infer W> ? W : never;

/** Every pipeline's progress query has this name; see runs.ts for the one the status API asks. */
export const PROGRESS_QUERY = 'progress';

/**
 * Harvester's custom search attributes. They make runs searchable by pipeline, source and stage
 * in the API and in the Temporal Web UI. The dev server registers them at start
 * (`--search-attribute NAME=Keyword`); a production namespace needs them created once
 * (`temporal operator search-attribute create`).
 */
export const PIPELINE = defineSearchAttributeKey('HarvesterPipeline', 'KEYWORD');
export const SOURCE = defineSearchAttributeKey('HarvesterSource', 'KEYWORD');
export const STAGE = defineSearchAttributeKey('HarvesterStage', 'KEYWORD');

export const SEARCH_ATTRIBUTES = [PIPELINE, SOURCE, STAGE] as const;

/** What every run starts with: its pipeline, where its input comes from, and stage `queued`. */
export function startAttributes(pipeline: Pipeline, source: string): SearchAttributePair[] {
  return [
    { key: PIPELINE, value: pipeline },
    { key: SOURCE, value: source },
    { key: STAGE, value: 'queued' },
  ];
}

/** What Harvester records with a run besides its input (the run's memo). */
export interface RunMemo {
  /** W3C trace id from the event or the caller's traceparent, for following a request across logs. */
  traceId?: string;
  /** SHA-256 of the request that started a keyed run: the same key with another request is a conflict. */
  requestHash?: string;
}

/** The header that carries a run's trace id from the workflow to its activities. */
export const TRACE_HEADER = 'harvester-trace-id';

/**
 * The version rule: an object version is named by its versionId when the bucket is versioned,
 * else by its ETag. Workflow ids and the assets' identity both follow it.
 */
export function objectVersion(object: Pick<ObjectRef, 'versionId' | 'etag'>): string {
  const version = object.versionId ?? object.etag;
  if (version === undefined) throw new Error('an object needs a versionId or an etag to be identified');
  return version;
}

/**
 * Workflow ids are deterministic: the same delivery always maps to the same id, so Temporal's
 * id-uniqueness collapses duplicates into one run. Temporal caps ids at 1,000 bytes by default;
 * an id longer than this is replaced by a SHA-256 of its natural part, which stays deterministic.
 */
export const MAX_READABLE_ID_BYTES = 400;

/** `<pipeline>:<natural>`, or `<pipeline>:sha256:<hex>` when that is too long to read. */
export function boundedId(pipeline: Pipeline, natural: string): string {
  const id = `${pipeline}:${natural}`;
  const bytes = utf8ToBytes(id);
  if (bytes.length <= MAX_READABLE_ID_BYTES) return id;
  return `${pipeline}:sha256:${bytesToHex(sha256(utf8ToBytes(natural)))}`;
}

/**
 * A run named by a caller's Idempotency-Key: retrying the same request finds the same run even if
 * the object it names has changed in between.
 */
export function keyedWorkflowId(pipeline: Pipeline, idempotencyKey: string): string {
  return boundedId(pipeline, `key:${idempotencyKey}`);
}

/** A run started by a signed event: the producer's event id is the idempotency key. */
export function eventWorkflowId(pipeline: Pipeline, source: string, eventId: string): string {
  return boundedId(pipeline, `event:${source}/${eventId}`);
}
