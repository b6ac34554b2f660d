import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { type RunMemo, startRun, type StartedRun } from '../temporal/runs.js';
import { objectifyWorkflowId } from '../temporal/workflow-ids.js';
import type { ObjectifyInput } from '../workflows/objectify.js';
import { PIPELINE, SOURCE, STAGE } from '../workflows/search-attributes.js';

export const DEFAULT_MAX_REJECT_RATIO = 0.05;
export const DEFAULT_BATCH_ROWS = 5_000;

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
    searchAttributes: [
      { key: PIPELINE, value: 'objectify' },
      { key: SOURCE, value: input.dataset.bucket },
      { key: STAGE, value: 'queued' },
    ],
  });
}
