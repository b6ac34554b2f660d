import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { freePort } from '../scripts/lib/net.js';
import { prepareSchema, testConfig, waitFor } from './support/stack.js';

// The two entry points as separate processes under plain Node ESM, as `npm run api` and
// `npm run worker` start them: the module graph must load outside vitest's transformer, and both
// must stop cleanly on SIGTERM.

let config: Config;
let dropSchema: () => Promise<void>;

beforeAll(async () => {
  // info: the test reads the processes' own start and stop lines.
  config = testConfig({ PORT: String(await freePort()), LOG_LEVEL: 'info' });
  dropSchema = await prepareSchema(config);
});

afterAll(async () => {
  await dropSchema?.();
});

function start(entry: string): { child: ChildProcess; output: () => string } {
  let output = '';
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  for (const [key, value] of Object.entries(config)) if (value !== undefined) env[key] = String(value);
  const child = spawn(join('node_modules', '.bin', 'tsx'), [entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = once(child, 'exit') as Promise<[number | null]>;
  child.kill('SIGTERM');
  const [code] = await exited;
  return code;
}

it('runs the api process: ready on its port, documented, and stops on SIGTERM', async () => {
  const api = start('src/api/main.ts');
  try {
    const base = `http://127.0.0.1:${config.PORT}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok || undefined, {
      timeoutMs: 60_000,
      intervalMs: 200,
      description: 'the api to answer /readyz',
      failIf: () => (api.child.exitCode !== null ? new Error(`api exited:\n${api.output()}`) : undefined),
    });
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string };
    expect(doc.openapi).toBe('3.1.0');
  } finally {
    expect(await stop(api.child), api.output()).toBe(0);
  }
  expect(api.output()).toContain('api stopped');
});

it('runs the worker process: polls its task queue and stops on SIGTERM', async () => {
  const worker = start('src/worker.ts');
  try {
    await waitFor(() => /"state":"RUNNING"/.test(worker.output()) || undefined, {
      timeoutMs: 60_000,
      intervalMs: 200,
      description: 'the worker to start polling',
      failIf: () => (worker.child.exitCode !== null ? new Error(`worker exited:\n${worker.output()}`) : undefined),
    });
  } finally {
    expect(await stop(worker.child), worker.output()).toBe(0);
  }
  expect(worker.output()).toContain('worker stopped');
});
