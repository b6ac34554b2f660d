import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { SEARCH_ATTRIBUTES } from '../../src/contracts/common.js';
import { spawnProcess, type ExitInfo, type Log } from './process.js';
import { abortedError, waitFor } from './wait.js';

export interface TemporalOptions {
  binary: string;
  /** Holds temporal.db (the SQLite state, so runs survive restarts) and temporal.log. */
  dataDir: string;
  port: number;
  /** Web UI port; undefined runs headless (tests). */
  uiPort?: number;
  namespace: string;
  log: Log;
  /** Environment passed down to the server process. */
  env: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** Aborting stops waiting for readiness (Ctrl-C during start-up); the server is then stopped. */
  signal?: AbortSignal;
}

export interface RunningServer {
  name: string;
  /** Where clients connect: "127.0.0.1:7233" or "http://127.0.0.1:9000". */
  address: string;
  /** Its output, for when it fails. */
  logFile: string;
  /** Settles when the server process ends, whether stopped or crashed. */
  exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL if it does not exit within a grace period. */
  stop: () => Promise<void>;
}

/** The SDK's search attribute types, spelled as `--search-attribute` wants them. */
const CLI_TYPE: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

export async function startTemporal(options: TemporalOptions): Promise<RunningServer> {
  const { binary, port, uiPort, namespace, log } = options;
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const address = `127.0.0.1:${port}`;
  const logFile = join(dataDir, 'temporal.log');
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    join(dataDir, 'temporal.db'),
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]),
    '--namespace',
    namespace,
    ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${CLI_TYPE[key.type]}`]),
    '--log-level',
    'warn',
    // The CLI would otherwise also read TEMPORAL_* client settings (ours, e.g. an API key).
    '--disable-config-env',
    '--disable-config-file',
  ];
  const ui = uiPort === undefined ? ' (headless)' : `, UI on 127.0.0.1:${uiPort}`;
  log(`starting Temporal dev server on ${address}${ui} (log: ${logFile})`);
  const proc = spawnProcess({ name: 'temporal', command: binary, args, env: options.env, output: { file: logFile } });
  const stop = async (): Promise<void> => {
    await proc.stop(10_000);
  };
  const started = Date.now();
  try {
    await waitFor(() => isServing(address, namespace), {
      timeoutMs: options.readyTimeoutMs ?? 60_000,
      intervalMs: 250,
      description: `Temporal on ${address} to serve namespace "${namespace}" with Harvester's search attributes`,
      failIf: async () => abortedError(options.signal) ?? (await proc.exitedEarlyError()),
    });
  } catch (err) {
    await stop();
    throw err;
  }
  log(`Temporal dev server ready on ${address} (${Date.now() - started} ms)`);
  return { name: 'Temporal', address, logFile, exited: proc.exited, stop };
}

/** Serving means: gRPC answers, the namespace exists and our search attributes are registered. */
async function isServing(address: string, namespace: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: '2s' });
  try {
    await connection.workflowService.describeNamespace({ namespace });
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    return SEARCH_ATTRIBUTES.every((key) => customAttributes?.[key.name] !== undefined);
  } finally {
    await connection.close();
  }
}
