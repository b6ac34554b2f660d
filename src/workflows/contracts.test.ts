import { describe, expect, it } from 'vitest';
import { PIPELINE_WORKFLOWS } from '../contracts/runs.js';
import type { WorkflowOf } from '../contracts/common.js';
import * as workflows from './index.js';

// The contracts name and type the workflows for every other process; this checks that the worker
// registers each under the contract's name, with the contract's signature.
const implementations: { [P in keyof typeof PIPELINE_WORKFLOWS]: WorkflowOf<(typeof PIPELINE_WORKFLOWS)[P]> } = {
  ingest: workflows.ingest,
  objectify: workflows.objectify,
  'connector-sync': workflows.connectorSync,
};

describe('workflow contracts', () => {
  it.each(Object.entries(PIPELINE_WORKFLOWS))('%s: the bundle exports the workflow under the contract\'s type name', (pipeline, contract) => {
    expect(contract.pipeline).toBe(pipeline);
    const registered = (workflows as Record<string, unknown>)[contract.workflowType];
    expect(registered).toBe(implementations[pipeline as keyof typeof implementations]);
  });

  it('registers nothing else', () => {
    expect(Object.keys(workflows).sort()).toEqual(Object.values(PIPELINE_WORKFLOWS).map((c) => c.workflowType).sort());
  });
});
