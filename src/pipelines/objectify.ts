import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { type RunMemo, startRun, type StartedRun } from '../temporal/runs.js';
import { objectifyWorkflowId } from '../temporal/workflow-ids.js';
import type { ObjectifyInput } from '../workflows/objectify.js';
import { startAttributes } from '../workflows/search-attributes.js';

export { DEFAULT_BATCH_ROWS, DEFAULT_MAX_REJECT_RATIO } from '../workflows/objectify-defaults.js';

/** Starts (or finds) the objectify run of one dataset version through one mapping. */
export function startObjectify(
  client: Client,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  input: Omit<ObjectifyInput, 'resume'>,
  options: { workflowId?: string; memo?: RunMemo } = {},
): Promise<StartedRun> {
  return startRun(client, config, {
    workflowType: 'objectify',
    workflowId: options.workflowId ?? objectifyWorkflowId(input.dataset, input.mappingId),
    memo: options.memo,
    args: [input],
    searchAttributes: startAttributes('objectify', input.dataset.bucket),
  });
}
