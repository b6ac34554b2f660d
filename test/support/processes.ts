import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Config } from '../../src/config.js';
import { waitFor } from './stack.js';

/** An entry point (`src/api/main.ts`, `src/worker/main.ts`) as its own process, configured by `config`. */
export interface EntryProcess {
  child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
  exited(): boolean;
  /** Settles with the exit code (null when a signal ended it) once the process has exited. */
  exit: Promise<number | null>;
}

export interface StartEntryOptions {
  /** Where it runs (default: the repository). */
  cwd?: string;
  /** A compiled `.js` entry runs under plain Node, as in the container image; default false. */
  compiled?: boolean;
}

export function startEntry(entry: string, config: Config, options: StartEntryOptions = {}): EntryProcess {
  let output = '';
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  for (const [key, value] of Object.entries(config)) if (value !== undefined) env[key] = asSetting(value);
  // Node itself with tsx's loader, not the tsx wrapper: a signal reaches the process that runs the
  // code (the wrapper would pass SIGTERM on, but SIGKILL would leave its child running).
  const args = options.compiled ? [entry] : ['--import', 'tsx', entry];
  const child = spawn(process.execPath, args, { env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = (once(child, 'exit') as Promise<[number | null]>).then(([code]) => code);
  return { child, output: () => output, exited: () => child.exitCode !== null || child.signalCode !== null, exit };
}

/** Sends the signal and waits for the exit; answers the exit code (null when killed by a signal). */
export async function stopEntry(proc: EntryProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (proc.exited()) return proc.child.exitCode;
  proc.child.kill(signal);
  return proc.exit;
}

/** For waitFor's failIf: a process under test that died when it should not have. */
export function exitedUnexpectedly(proc: EntryProcess, what: string): () => Error | undefined {
  return () => (proc.exited() ? new Error(`${what} exited (${String(proc.child.exitCode ?? proc.child.signalCode)}):\n${proc.output().slice(-4000)}`) : undefined);
}

/** The promise, unless the process under test exits first: then a failure with its output. */
export function unlessExited<T>(promise: Promise<T>, proc: EntryProcess, what: string): Promise<T> {
  const died = proc.exit.then((code) => {
    throw new Error(`${what} exited (${String(code ?? proc.child.signalCode)}):\n${proc.output().slice(-4000)}`);
  });
  return Promise.race([promise, died]);
}

/** Resolves once an api process answers `GET /readyz` on its port; fails at once if it exits. */
export async function untilApiReady(api: EntryProcess, port: number | string): Promise<void> {
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, {
    timeoutMs: 90_000,
    intervalMs: 200,
    description: 'the api to answer /readyz',
    failIf: exitedUnexpectedly(api, 'the api'),
  });
}

/**
 * Resolves once a worker process polls its task queue: a signal sent after this reaches a worker
 * that handles it (before, it would meet Node's default handler). Needs LOG_LEVEL info or lower,
 * where the SDK logs its state changes.
 */
export async function untilPolling(worker: EntryProcess): Promise<void> {
  // Two workers: the pipelines' task queue and the AI task queue.
  await waitFor(() => (worker.output().match(/"state":"RUNNING"/g) ?? []).length >= 2, {
    timeoutMs: 90_000,
    intervalMs: 200,
    description: 'the worker to start polling',
    failIf: exitedUnexpectedly(worker, 'the worker'),
  });
}

/** A worker process (src/worker/main.ts) that is polling its task queue (see untilPolling). */
export async function startPollingWorker(config: Config): Promise<EntryProcess> {
  const worker = startEntry('src/worker/main.ts', config);
  await untilPolling(worker);
  return worker;
}

/** A parsed config value written back as the variable it was read from (AI_LABELS a comma list, AI_PRICES JSON). */
function asSetting(value: string | number | boolean | readonly string[] | object): string {
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
