import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { type ObjectifyInput, objectifyWorkflow, objectifyWorkflowId } from '../contracts/objectify.js';
import { startRun, type StartedRun } from '../temporal/runs.js';
import type { StartOptions } from './ingest.js';

/** Starts (or finds) the objectify run of one dataset version through one mapping. */
export function startObjectify(
  client: Client,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  input: Omit<ObjectifyInput, 'resume'>,
  options: StartOptions = {},
): Promise<StartedRun> {
  return startRun(client, config, objectifyWorkflow, {
    workflowId: options.workflowId ?? objectifyWorkflowId(input.dataset, input.mappingId),
    args: [input],
    source: input.dataset.bucket,
    memo: options.memo,
  });
}
