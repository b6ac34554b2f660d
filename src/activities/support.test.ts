import { mkdir, mkdtemp, readdir, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runScratchDir, sweepScratch } from './support.js';

it('gives each run a bounded, filesystem-safe scratch folder', () => {
  const dir = runScratchDir('/scratch', { workflowId: 'ingest:uploads/../../etc/passwd@x', runId: 'r1' });
  expect(dir).toMatch(/^\/scratch\/[0-9a-f]{24}-r1$/);
  expect(runScratchDir('/scratch', { workflowId: 'ingest:uploads/a@x', runId: 'r1' })).not.toBe(dir);
});

it('sweeps only scratch folders older than the limit', async () => {
  const root = await mkdtemp(join(tmpdir(), 'harvester-sweep-'));
  const now = Date.now();
  for (const [name, ageMs] of [['old', 2 * 86_400_000], ['fresh', 60_000]] as const) {
    const dir = join(root, name);
    await mkdir(dir);
    await writeFile(join(dir, 'source'), 'x');
    const when = new Date(now - ageMs);
    await utimes(dir, when, when);
  }
  expect(await sweepScratch(root, 86_400_000, now)).toBe(1);
  expect(await readdir(root)).toEqual(['fresh']);
  expect(await sweepScratch(join(root, 'missing'), 1, now)).toBe(0);
});
