import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import { freePort, hostPort } from '../scripts/lib/net.js';
import type { Config } from '../src/config.js';
import { processConfig } from './support/faults.js';
import { type EntryProcess, exitedUnexpectedly, startEntry, stopEntry, untilApiReady } from './support/processes.js';
import { testConfig, waitFor } from './support/stack.js';

// Start-up as an operator meets it: each process, started with one of Temporal, Postgres or S3
// pointing at a closed port, retries with a line per attempt and then exits 1 with one line that
// names what it could not reach and the setting; a wrong setting is one line too. And a process
// started before its dependency is up comes up once it is.

const ENTRIES = {
  api: 'src/api/main.ts',
  worker: 'src/worker/main.ts',
  migrate: 'scripts/migrate.ts',
  'setup-storage': 'scripts/setup-storage.ts',
} as const;

/** Only the api's gRPC client waits for its whole attempt (5 s) on a closed port: its bound must leave room for a retry. */
const BOUND = { Temporal: '7', Postgres: '2', S3: '2' } as const;
type Dependency = keyof typeof BOUND;

const DB_PASSWORD = 'startup-db-password-4b1e';

/** The config with `dependency` aimed at the closed port, and the setting's value as the log shows it. */
function unreachable(config: Config, dependency: Dependency, port: number): { config: Config; setting: string; target: string } {
  const overrides = { STARTUP_TIMEOUT_SECONDS: BOUND[dependency] };
  if (dependency === 'Temporal') {
    const target = `127.0.0.1:${port}`;
    return { config: processConfig(config, { ...overrides, TEMPORAL_ADDRESS: target }), setting: 'TEMPORAL_ADDRESS', target };
  }
  if (dependency === 'Postgres') {
    const url = new URL(config.DATABASE_URL);
    url.host = `127.0.0.1:${port}`;
    url.password = DB_PASSWORD;
    const shown = new URL(url);
    shown.password = '***';
    return { config: processConfig(config, { ...overrides, DATABASE_URL: url.toString() }), setting: 'DATABASE_URL', target: shown.toString() };
  }
  const target = `http://127.0.0.1:${port}`;
  return { config: processConfig(config, { ...overrides, S3_ENDPOINT: target }), setting: 'S3_ENDPOINT', target };
}

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

function jsonLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** Exit code 1, no stack trace, and as its last line one fatal log line. */
async function failedStart(proc: EntryProcess): Promise<{ output: string; last: LogLine }> {
  const code = await proc.exit;
  const output = proc.output();
  expect(code, output).toBe(1);
  expect(output, 'a stack trace').not.toContain('    at ');
  const lines = output.trimEnd().split('\n');
  const last = JSON.parse(lines[lines.length - 1]!) as LogLine;
  expect(last.level, 'fatal').toBe(60);
  return { output, last };
}

describe('a dependency that is not reachable', () => {
  const cases: [keyof typeof ENTRIES, Dependency][] = [
    ['api', 'Temporal'],
    ['api', 'Postgres'],
    ['api', 'S3'],
    ['worker', 'Temporal'],
    ['worker', 'Postgres'],
    ['worker', 'S3'],
    ['migrate', 'Postgres'],
    ['setup-storage', 'S3'],
  ];

  it.concurrent.each(cases)('%s: %s is retried, then named with its setting in one last line, exit code 1', async (entry, dependency) => {
    const { config, setting, target } = unreachable(testConfig(), dependency, await freePort());
    const { output, last } = await failedStart(startEntry(ENTRIES[entry], config));
    const what = `${dependency} at ${target} (${setting})`;

    const retries = jsonLines(output).filter((line) => line.level === 40 && line.msg.startsWith(`${what} not reachable, retrying in `));
    expect(retries.length, output).toBeGreaterThan(0);
    retries.forEach((line, i) => expect(line.msg).toContain(`(attempt ${i + 1}): `));

    expect(last.msg).toMatch(new RegExp(`^${escape(what)} not reachable after ${retries.length + 1} attempts \\(STARTUP_TIMEOUT_SECONDS=${BOUND[dependency]}\\): .+`));
    expect(last).toMatchObject({ dependency, setting, target, attempts: retries.length + 1 });
    expect(output).not.toContain(DB_PASSWORD);
  });
});

describe('a configuration error', () => {
  it('is one fatal line that names each field, exit code 1', async () => {
    const proc = startEntry(ENTRIES.api, processConfig(testConfig(), { API_KEY: 'short', TEMPORAL_UI_URL: 'not a url' }));
    const { last } = await failedStart(proc);
    expect(last.issues).toEqual([expect.stringMatching(/^TEMPORAL_UI_URL: /), expect.stringMatching(/^API_KEY: /)]);
    expect(last.msg).toMatch(/^Invalid configuration:\n {2}- /);
  });

  it.concurrent.each(['api', 'worker'] as const)('%s: production refuses the dev default secrets, without printing them', async (entry) => {
    // testConfig() gives WEBHOOK_TOKEN and the S3 secret values of its own; API_KEY and EVENTS_SECRET are the dev defaults.
    const config = processConfig(testConfig(), { HARVESTER_ENV: 'production' });
    const { output, last } = await failedStart(startEntry(ENTRIES[entry], config));
    expect(last.issues).toEqual([expect.stringMatching(/^API_KEY: .*HARVESTER_ENV=production/), expect.stringMatching(/^EVENTS_SECRET: .*HARVESTER_ENV=production/)]);
    expect(output).not.toContain(config.API_KEY);
    expect(output).not.toContain(config.EVENTS_SECRET);
  });
});

it('comes up once Temporal, unreachable when the api started, can be reached', async () => {
  const port = await freePort();
  const config = processConfig(testConfig(), { PORT: String(await freePort()), TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
  const api = startEntry(ENTRIES.api, config);
  let gate: Forwarder | undefined;
  try {
    await waitFor(() => /Temporal at \S+ \(TEMPORAL_ADDRESS\) not reachable, retrying in .* \(attempt 1\)/.test(api.output()), {
      timeoutMs: 30_000,
      description: 'the api to report its first failed attempt',
      failIf: exitedUnexpectedly(api, 'the api'),
    });
    gate = await forward(port, inject('temporalAddress'));
    await untilApiReady(api, config.PORT);
  } finally {
    expect(await stopEntry(api), api.output()).toBe(0);
    await gate?.close();
  }
  expect(jsonLines(api.output()).filter((line) => line.level >= 50)).toEqual([]);
});

interface Forwarder {
  close(): Promise<void>;
}

/** A TCP server on `port` that passes every connection on to `target` (host:port). */
async function forward(port: number, target: string): Promise<Forwarder> {
  const { host, port: targetPort } = hostPort(target);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket)).on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
