import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { ObjectRef } from '../s3-events/parse.js';
import { ObjectNotFoundError, type S3Storage } from '../storage/s3.js';
import type { ClosedRun } from '../temporal/control.js';
import { type RunMemo, startRun, type StartedRun } from '../temporal/runs.js';
import { ingestWorkflowId } from '../temporal/workflow-ids.js';
import { startAttributes } from '../workflows/search-attributes.js';

export interface StartOptions {
  /** Names the run instead of the object version (Idempotency-Key, event id); see workflow-ids.ts. */
  workflowId?: string;
  memo?: RunMemo;
}

/** Starts (or finds) the ingest run of one object version. */
export function startIngest(
  client: Client,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  object: ObjectRef,
  options: StartOptions = {},
): Promise<StartedRun> {
  return startRun(client, config, {
    workflowType: 'ingest',
    workflowId: options.workflowId ?? ingestWorkflowId(object),
    memo: options.memo,
    args: [object],
    searchAttributes: startAttributes('ingest', object.bucket),
  });
}

/**
 * Retrying an ingest run whose object was replaced since (same key, another ETag) cannot succeed:
 * the version it names is gone, and every attempt would fail with ObjectChanged. What the operator
 * means is "ingest this object as it is now": that is the run of the new version, started here
 * (or found, when the new upload's notification already started it). Undefined when the version
 * is still there, or the object is gone: then the usual reset runs, and fails with the reason.
 */
export async function ingestOfReplacement(
  client: Client,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  storage: Pick<S3Storage, 'head'>,
  run: ClosedRun,
): Promise<StartedRun | undefined> {
  const object = run.args[0] as ObjectRef | undefined;
  // A version id names an immutable version: it is there or deleted, never replaced.
  if (run.workflowType !== 'ingest' || !object?.etag || object.versionId) return undefined;
  const head = await storage.head({ bucket: object.bucket, key: object.key }).catch((err: unknown) => {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  });
  if (!head || head.etag === object.etag) return undefined;
  return startIngest(client, config, { bucket: object.bucket, key: object.key, etag: head.etag, size: head.size, contentType: head.contentType });
}
