import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import type { ObjectRef } from '../s3-events/parse.js';
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
