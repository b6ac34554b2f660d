import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkUrl, isPublicAddress, parseAllowedHosts, ResponseTooLargeError, safeFetch, UnsafeUrlError } from './safe-fetch.js';

// Against a real local HTTP server: loopback is exactly what a connector must not reach unless
// the allow-list names it.

let server: Server;
let port: number;
let other: Server;
let otherPort: number;

async function listen(handler: Parameters<typeof createServer>[1]): Promise<[Server, number]> {
  const s = createServer(handler);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return [s, (s.address() as AddressInfo).port];
}

beforeAll(async () => {
  [other, otherPort] = await listen((_req, res) => res.end('secret from the other server'));
  [server, port] = await listen((req, res) => {
    if (req.url === '/redirect-out') {
      res.writeHead(302, { location: `http://127.0.0.1:${otherPort}/` }).end();
    } else if (req.url === '/redirect-file') {
      res.writeHead(307, { location: 'file:///etc/passwd' }).end();
    } else if (req.url === '/loop') {
      res.writeHead(308, { location: '/loop' }).end();
    } else if (req.url === '/redirect-in') {
      res.writeHead(301, { location: '/data.csv' }).end();
    } else if (req.url === '/big') {
      res.end('x'.repeat(10_000));
    } else if (req.url === '/hang') {
      // never answers
    } else {
      res.writeHead(200, { 'content-type': 'text/csv', etag: '"v1"' }).end('a,b\n1,2\n');
    }
  });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => other.close(resolve));
});

const options = (allowedHosts: string[] = []) => ({ allowedHosts, maxBytes: 1_000, timeoutMs: 2_000 });

describe('isPublicAddress', () => {
  it('accepts public unicast and refuses every private, loopback, link-local and reserved range', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) expect(isPublicAddress(address), address).toBe(true);
    for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '255.255.255.255', '224.0.0.1', '::1', '::', 'fe80::1', 'fc00::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254']) {
      expect(isPublicAddress(address), address).toBe(false);
    }
  });
});

describe('checkUrl', () => {
  it('refuses other schemes, credentials, and non-public literal addresses with what to do', () => {
    expect(() => checkUrl('ftp://example.com/a.csv', [])).toThrow(/only http and https/);
    expect(() => checkUrl('file:///etc/passwd', [])).toThrow(UnsafeUrlError);
    expect(() => checkUrl('https://user:pw@example.com/', [])).toThrow(/credentials/);
    expect(() => checkUrl('http://169.254.169.254/latest/meta-data/', [])).toThrow(/169\.254\.169\.254 is not a public address; add 169\.254\.169\.254 to CONNECTOR_ALLOWED_HOSTS/);
    expect(() => checkUrl(`http://127.0.0.1:${port}/`, [])).toThrow(UnsafeUrlError);
    expect(() => checkUrl('http://[::1]/', [])).toThrow(UnsafeUrlError);
    expect(checkUrl(`http://127.0.0.1:${port}/`, [`127.0.0.1:${port}`]).port).toBe(String(port));
    expect(() => checkUrl(`http://127.0.0.1:${port}/`, ['127.0.0.1:1'])).toThrow(UnsafeUrlError);
  });

  it('parses the allow-list setting', () => {
    expect(parseAllowedHosts(' LocalHost:8080, 10.0.0.5 ,,')).toEqual(['localhost:8080', '10.0.0.5']);
    expect(parseAllowedHosts(undefined)).toEqual([]);
  });
});

describe('safeFetch', () => {
  it('refuses a host name that resolves to loopback unless allow-listed, then fetches it', async () => {
    await expect(safeFetch(`http://localhost:${port}/data.csv`, options())).rejects.toThrow(/localhost resolves to .* not a public address/);
    const res = await safeFetch(`http://localhost:${port}/data.csv`, options([`localhost:${port}`]));
    expect(res).toMatchObject({ status: 200, headers: { etag: '"v1"' } });
    expect(res.body.toString()).toBe('a,b\n1,2\n');
  });

  it('checks every redirect again', async () => {
    const allowed = options([`localhost:${port}`]);
    expect((await safeFetch(`http://localhost:${port}/redirect-in`, allowed)).url).toBe(`http://localhost:${port}/data.csv`);
    await expect(safeFetch(`http://localhost:${port}/redirect-out`, allowed)).rejects.toThrow(
      new UnsafeUrlError(`http://localhost:${port}/redirect-out redirected to http://127.0.0.1:${otherPort}/: 127.0.0.1 is not a public address; add 127.0.0.1:${otherPort} to CONNECTOR_ALLOWED_HOSTS to allow it`),
    );
    await expect(safeFetch(`http://localhost:${port}/redirect-file`, allowed)).rejects.toThrow(/redirected to file:\/\/\/etc\/passwd: only http and https/);
    await expect(safeFetch(`http://localhost:${port}/loop`, allowed)).rejects.toThrow(/more than 5 redirects \(a redirect loop\?\)/);
  });

  it('limits the body size and the time', async () => {
    const allowed = options([`127.0.0.1:${port}`]);
    await expect(safeFetch(`http://127.0.0.1:${port}/big`, allowed)).rejects.toBeInstanceOf(ResponseTooLargeError);
    await expect(safeFetch(`http://127.0.0.1:${port}/hang`, { ...allowed, timeoutMs: 200 })).rejects.toThrow(/no answer from 127\.0\.0\.1:\d+ within 200 ms/);
  });
});
