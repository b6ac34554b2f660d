/**
 * src/pipelines: how runs are started: each pipeline's start (its workflow id and search
 * attributes, through the typed contracts) and the one rule for pinning an object's version
 * (pin.ts); used by every start path of the api process (API, S3 notifications, events, retry).
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { RunMemo } from '../contracts/common.js';
import { type IngestInput, ingestWorkflow, ingestWorkflowId } from '../contracts/ingest.js';
import { ObjectNotFoundError } from '../storage/s3.js';
import type { ClosedRun } from '../temporal/control.js';
import { startRun, type StartedRun } from '../temporal/runs.js';
import { type HeadReader, pinVersion } from './pin.js';

export interface StartOptions {
  /** Names the run instead of the object version (Idempotency-Key, event id); see contracts/common.ts. */
  workflowId?: string | undefined;
  memo?: RunMemo | undefined;
}

/** Starts (or finds) the ingest run of one object version. */
export function startIngest(
  client: Client,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  object: IngestInput,
  options: StartOptions = {},
): Promise<StartedRun> {
  return startRun(client, config, ingestWorkflow, {
    workflowId: options.workflowId ?? ingestWorkflowId(object),
    args: [object],
    source: object.bucket,
    memo: options.memo,
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
  storage: HeadReader,
  run: ClosedRun,
): Promise<StartedRun | undefined> {
  const object = run.args[0] as IngestInput | undefined;
  // A version id names an immutable version: it is there or deleted, never replaced.
  if (run.workflowType !== ingestWorkflow.workflowType || !object?.etag || object.versionId) return undefined;
  const current = await pinVersion(storage, { bucket: object.bucket, key: object.key }).catch((err: unknown) => {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  });
  if (!current || current.etag === object.etag) return undefined;
  return startIngest(client, config, current);
}
