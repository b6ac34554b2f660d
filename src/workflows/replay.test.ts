import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @temporalio/proto is CommonJS that Node's ESM loader cannot name-import: use its default export.
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { PIPELINE_WORKFLOWS } from '../contracts/runs.js';
import { replayOptions } from '../worker/create.js';

// Determinism guard: histories recorded from real runs (test/histories/<workflow type>/*.json,
// written by `npm run record-history`) must replay against the current workflow code. A change that
// would break running workflows fails here with a DeterminismViolationError. They replay with the
// workflow interceptors a production worker bundles (ours and OpenTelemetry's).

const HISTORIES = fileURLToPath(new URL('../../test/histories', import.meta.url));

async function recorded(): Promise<Array<{ name: string; file: string }>> {
  const types = await readdir(HISTORIES, { withFileTypes: true });
  const files: Array<{ name: string; file: string }> = [];
  for (const type of types.filter((t) => t.isDirectory())) {
    for (const file of await readdir(join(HISTORIES, type.name))) {
      if (file.endsWith('.json')) files.push({ name: `${type.name}/${file}`, file: join(HISTORIES, type.name, file) });
    }
  }
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

const histories = await recorded();

describe('replay of recorded histories', () => {
  it('has recorded histories of every pipeline', () => {
    const types = new Set(histories.map((h) => h.name.split('/')[0]));
    for (const { workflowType } of Object.values(PIPELINE_WORKFLOWS)) expect(types, workflowType).toContain(workflowType);
  });

  it.each(histories)('replays $name', async ({ file }) => {
    // Recorded with protobufjs' toJSON (enum names, base64 bytes, string longs); fromObject is its
    // inverse. (The SDK's historyFromJSON trips over npm's duplicated protobufjs copies.)
    const history = proto.temporal.api.history.v1.History.fromObject(JSON.parse(await readFile(file, 'utf8')) as object);
    await Worker.runReplayHistory(replayOptions(), history);
  });
});
