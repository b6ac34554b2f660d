import { createServer } from 'node:net';

/** A TCP port that is free right now on 127.0.0.1 (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  if (address === null || typeof address === 'string') throw new Error('could not read the port of a probe socket');
  return address.port;
}

/**
 * Fails with a clear message when something already listens on the port. Without this check a
 * leftover server from an earlier run could answer our readiness probe while the new one dies.
 */
export async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new PortInUseError(
        `${what} cannot start: ${host}:${port} is already in use (an earlier \`npm start\` still running?). ` +
          'Stop that process or change the port in your .env.',
        { cause: err },
      );
    }
    throw err;
  }
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}

export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

/** host and port of "host:port" (a Temporal address) or of a URL's authority. */
export function hostPort(addressOrUrl: string, defaultPort?: number): { host: string; port: number } {
  const url = new URL(addressOrUrl.includes('://') ? addressOrUrl : `tcp://${addressOrUrl}`);
  const port = url.port ? Number(url.port) : (defaultPort ?? defaultPortOf(url.protocol));
  // URL keeps the brackets of an IPv6 literal; sockets want the bare address.
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

function defaultPortOf(protocol: string): number {
  if (protocol === 'http:') return 80;
  if (protocol === 'https:') return 443;
  throw new Error(`no port given and none implied by ${protocol}`);
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** The local stack binds to 127.0.0.1 only; a setting aimed elsewhere is a configuration mistake. */
export function assertLoopback(setting: string, value: string): void {
  const { host } = hostPort(value);
  if (!LOOPBACK.has(host)) {
    throw new Error(
      `${setting}=${value} points away from this machine, but the local stack runs its own servers on ` +
        '127.0.0.1. Unset it (or use 127.0.0.1) for `npm start`; against remote services run ' +
        '`npm run api` and `npm run worker` instead.',
    );
  }
}
