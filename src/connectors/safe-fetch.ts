import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Outbound HTTP for connectors, safe against server-side request forgery: only http and https;
 * every address a host resolves to is checked at connect time (so DNS rebinding between a check
 * and the connection cannot slip through); loopback, private, link-local and other non-public
 * ranges are refused unless the host[:port] is allow-listed (CONNECTOR_ALLOWED_HOSTS); each
 * redirect is checked again; the body is size-limited and the whole exchange time-limited.
 */

export class UnsafeUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeUrlError';
  }
}

export class ResponseTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the response is larger than ${limit} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

export interface SafeFetchOptions {
  /** `host` or `host:port` entries that may resolve to non-public addresses (CONNECTOR_ALLOWED_HOSTS). */
  allowedHosts: readonly string[];
  maxBytes: number;
  timeoutMs: number;
  maxRedirects?: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface SafeResponse {
  status: number;
  /** The URL that answered, after redirects. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

// Only these ipaddr.js ranges are the public internet; everything else needs the allow-list.
const PUBLIC_RANGE = 'unicast';

/** Whether an address is outside every private, loopback, link-local and reserved range. */
export function isPublicAddress(address: string): boolean {
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return ip.range() === PUBLIC_RANGE;
}

/** Parses the comma-separated CONNECTOR_ALLOWED_HOSTS setting into lowercase entries. */
export function parseAllowedHosts(setting: string | undefined): string[] {
  return (setting ?? '')
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry.length > 0);
}

function isAllowed(url: URL, allowedHosts: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowedHosts.some((entry) => entry === host || entry === `${host}:${port}` || entry === `[${host}]:${port}`);
}

/** Checks what can be checked before connecting: the scheme, and a literal IP address. */
export function checkUrl(raw: string, allowedHosts: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError(`not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UnsafeUrlError(`only http and https URLs are fetched, not ${url.protocol}`);
  if (url.username || url.password) throw new UnsafeUrlError('URLs with credentials are not fetched; use a header');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (ipaddr.isValid(host) && !isPublicAddress(host) && !isAllowed(url, allowedHosts)) {
    throw new UnsafeUrlError(`${host} is not a public address; add ${url.host} to CONNECTOR_ALLOWED_HOSTS to allow it`);
  }
  return url;
}

/** A DNS lookup that refuses non-public answers for hosts that are not allow-listed. */
function guardedLookup(url: URL, allowedHosts: readonly string[]): LookupFunction {
  const allowed = isAllowed(url, allowedHosts);
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const refused = allowed ? undefined : addresses.find((a) => !isPublicAddress(a.address));
      if (refused) return callback(new UnsafeUrlError(`${hostname} resolves to ${refused.address}, which is not a public address; add ${url.host} to CONNECTOR_ALLOWED_HOSTS to allow it`), '', 0);
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/** GET with redirects followed (each one checked again), a size limit and a deadline. */
export async function safeFetch(raw: string, options: SafeFetchOptions): Promise<SafeResponse> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  const maxRedirects = options.maxRedirects ?? 5;
  let url = checkUrl(raw, options.allowedHosts);
  for (let redirects = 0; ; redirects++) {
    // A redirected hop is refused at connect time like the first; the message says where it led.
    const response = await request(url, options, signal).catch((err: unknown) => {
      throw redirects > 0 && err instanceof UnsafeUrlError ? new UnsafeUrlError(`redirected to ${shown(url)}: ${err.message}`) : err;
    });
    const location = response.headers.location;
    if (response.status >= 300 && response.status < 400 && typeof location === 'string') {
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new UnsafeUrlError(`${shown(url)} redirected to something that is not a URL`);
      }
      if (redirects >= maxRedirects) throw new UnsafeUrlError(`more than ${maxRedirects} redirects (a redirect loop?), the last from ${shown(url)} to ${shown(next)}`);
      try {
        url = checkUrl(next.toString(), options.allowedHosts);
      } catch (err) {
        throw err instanceof UnsafeUrlError ? new UnsafeUrlError(`${shown(url)} redirected to ${shown(next)}: ${err.message}`) : err;
      }
      continue;
    }
    return response;
  }
}

/**
 * A URL as error messages and logs show it: without its query, which may carry an access token
 * (sheet export links, presigned URLs). Failure messages end up in Temporal's history and in logs.
 */
export function displayUrl(raw: string): string {
  try {
    return shown(new URL(raw));
  } catch {
    return '(not a URL)';
  }
}

function shown(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
}

function request(url: URL, options: SafeFetchOptions, signal: AbortSignal): Promise<SafeResponse> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method: 'GET', headers: options.headers, lookup: guardedLookup(url, options.allowedHosts), signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) {
          res.destroy(new ResponseTooLargeError(options.maxBytes));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, url: url.toString(), headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', (err: Error) => reject(signal.aborted && !(err instanceof UnsafeUrlError) ? new Error(`no answer from ${url.host} within ${options.timeoutMs} ms`, { cause: err }) : err));
    req.end();
  });
}
