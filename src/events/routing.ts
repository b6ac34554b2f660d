/**
 * src/events: signed business events: the Standard Webhooks signature check and the routing of an
 * event_type to the run it starts; used by the api process's POST /api/v1/events.
 */
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../config.js';
import { ConnectorNotFoundError } from '../connectors/service.js';
import { eventWorkflowId, type Pipeline } from '../contracts/common.js';
import { DEFAULT_BATCH_ROWS, DEFAULT_MAX_REJECT_RATIO } from '../contracts/objectify.js';
import { startIngest } from '../pipelines/ingest.js';
import { startObjectify } from '../pipelines/objectify.js';
import { type HeadReader, pinVersion } from '../pipelines/pin.js';
import { ObjectNotFoundError, parseS3Url } from '../storage/s3.js';
import { S3BucketSchema, S3KeySchema, S3UrlSchema } from '../storage/names.js';
import type { StartedRun } from '../temporal/runs.js';

/**
 * Which pipeline a signed event starts, declared as data: event_type → pipeline, payload schema
 * and start. The event id names the run (eventWorkflowId), so a redelivered event finds its run
 * instead of starting a second one.
 */

export interface EventDependencies {
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>;
  temporal: Client;
  storage: HeadReader;
  mappings: { get(id: string): Promise<{ id: string } | undefined> };
  connectors: { sync(id: string): Promise<{ workflowId: string | null; runId: string | null; started: boolean }> };
}

/** The envelope fields a start needs; the payload travels separately, already validated. */
export interface RoutedEvent {
  eventId: string;
  eventType: string;
  source: string;
  traceId: string | undefined;
}

/** Why an event cannot be acted on: the API answers with the code (src/api/error-codes.ts lists it). */
export type EventRejectedCode = 'mapping_not_found' | 'object_not_found' | 'connector_not_found';

/** The event is authentic and well-formed but cannot be acted on (answered 422). */
export class EventRejectedError extends Error {
  constructor(
    readonly code: EventRejectedCode,
    message: string,
  ) {
    super(message);
    this.name = 'EventRejectedError';
  }
}

type Start = (deps: EventDependencies, event: RoutedEvent) => Promise<StartedRun>;

export interface EventRoute {
  readonly pipeline: Pipeline;
  readonly payload: z.ZodType;
  /** Validates a payload; a valid one yields the start of its run, typed by the schema. */
  accept(payload: unknown): { success: true; start: Start } | { success: false; error: z.ZodError };
}

function route<S extends z.ZodType>(spec: {
  pipeline: Pipeline;
  payload: S;
  start: (payload: z.output<S>, deps: EventDependencies, event: RoutedEvent) => Promise<StartedRun>;
}): EventRoute {
  return {
    pipeline: spec.pipeline,
    payload: spec.payload,
    accept(payload) {
      const parsed = spec.payload.safeParse(payload);
      if (!parsed.success) return { success: false, error: parsed.error };
      return { success: true, start: (deps, event) => spec.start(parsed.data, deps, event) };
    },
  };
}

// The same limits as the operator API's ingest start.
export const AssetUploadedPayload = z
  .object({
    bucket: S3BucketSchema,
    key: S3KeySchema,
    versionId: z.string().min(1).max(1024).optional(),
    etag: z.string().min(1).max(200).optional(),
    size: z.number().int().nonnegative().optional(),
    contentType: z.string().min(1).max(255).optional(),
  })
  .strict();

async function startAssetIngest(
  payload: z.output<typeof AssetUploadedPayload>,
  deps: EventDependencies,
  event: RoutedEvent,
): Promise<StartedRun> {
  let object = payload;
  if (payload.versionId === undefined && payload.etag === undefined) {
    // Pin the version that exists now: the run must not read an object replaced after the event.
    const pinned = await pinVersion(deps.storage, payload).catch(objectRejected);
    object = { ...pinned, size: payload.size ?? pinned.size, contentType: payload.contentType ?? pinned.contentType };
  }
  return startIngest(deps.temporal, deps.config, object, {
    workflowId: eventWorkflowId('ingest', event.source, event.eventId),
    memo: event.traceId ? { traceId: event.traceId } : undefined,
  });
}

export const ObjectifyRequestedPayload = z
  .object({
    dataset: S3UrlSchema,
    versionId: z.string().min(1).max(1024).optional(),
    etag: z.string().min(1).max(200).optional(),
    mapping: z.string().regex(/^\d{1,18}$/, 'a registered mapping id'),
    maxRejectRatio: z.number().min(0).max(1).default(DEFAULT_MAX_REJECT_RATIO),
  })
  .strict();

async function startDatasetObjectify(
  payload: z.output<typeof ObjectifyRequestedPayload>,
  deps: EventDependencies,
  event: RoutedEvent,
): Promise<StartedRun> {
  const { bucket, key } = parseS3Url(payload.dataset);
  const mapping = await deps.mappings.get(payload.mapping);
  if (!mapping) throw new EventRejectedError('mapping_not_found', `no mapping with id ${JSON.stringify(payload.mapping)}`);
  let { versionId, etag } = payload;
  if (etag === undefined) {
    // Pin the version that exists now, as for asset.uploaded.
    ({ versionId, etag } = await pinVersion(deps.storage, { bucket, key, versionId }).catch(objectRejected));
  }
  return startObjectify(
    deps.temporal,
    deps.config,
    { dataset: { bucket, key, versionId, etag }, mappingId: mapping.id, maxRejectRatio: payload.maxRejectRatio, batchRows: DEFAULT_BATCH_ROWS },
    { workflowId: eventWorkflowId('objectify', event.source, event.eventId), memo: event.traceId ? { traceId: event.traceId } : undefined },
  );
}

/** The object an event names is not in the store: the event cannot be acted on. */
function objectRejected(err: unknown): never {
  if (err instanceof ObjectNotFoundError) throw new EventRejectedError('object_not_found', err.message);
  throw err;
}

export const ConnectorSyncRequestedPayload = z.object({ connectorId: z.uuid() }).strict();

/**
 * A sync goes through the connector's schedule like "sync now", so it never overlaps a running
 * sync of the same connector (whose cursor it would race). A redelivered event is therefore not
 * one run by its event id: it finds the running sync, or runs another check, which is cheap and
 * changes nothing when the source has not changed.
 */
async function startConnectorSync(payload: z.output<typeof ConnectorSyncRequestedPayload>, deps: EventDependencies): Promise<StartedRun> {
  const sync = await deps.connectors.sync(payload.connectorId).catch((err: unknown) => {
    if (err instanceof ConnectorNotFoundError) throw new EventRejectedError('connector_not_found', err.message);
    throw err;
  });
  if (!sync.workflowId || !sync.runId) throw new Error(`the schedule of connector ${payload.connectorId} did not start a sync within its time limit`);
  return { workflowId: sync.workflowId, runId: sync.runId, duplicate: !sync.started };
}

/**
 * The routing table.
 * A Map, not an object literal, so types such as "constructor" cannot hit Object.prototype.
 */
export const EVENT_ROUTES: ReadonlyMap<string, EventRoute> = new Map([
  ['asset.uploaded', route({ pipeline: 'ingest', payload: AssetUploadedPayload, start: startAssetIngest })],
  ['dataset.objectify.requested', route({ pipeline: 'objectify', payload: ObjectifyRequestedPayload, start: startDatasetObjectify })],
  ['connector.sync.requested', route({ pipeline: 'connector-sync', payload: ConnectorSyncRequestedPayload, start: startConnectorSync })],
]);
