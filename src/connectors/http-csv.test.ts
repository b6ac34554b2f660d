import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHttpCsv, SourceStatusError } from './http-csv.js';

// A local server plays the spreadsheet export: the test changes its content, ETag and status.

let server: Server;
let url: string;
const source = { body: 'code,name\nde,Germany\n', etag: '"v1"' as string | undefined, lastModified: 'Mon, 23 Nov 2026 10:00:00 GMT', status: 200 };
const seen: Array<Record<string, string | undefined>> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ ifNoneMatch: req.headers['if-none-match'], ifModifiedSince: req.headers['if-modified-since'] });
    if (source.status !== 200) return res.writeHead(source.status).end('unavailable');
    if (source.etag && req.headers['if-none-match'] === source.etag) return res.writeHead(304).end();
    const headers: Record<string, string> = { 'content-type': 'text/csv', 'last-modified': source.lastModified };
    if (source.etag) headers.etag = source.etag;
    res.writeHead(200, headers).end(source.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/export?format=csv`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const options = () => ({ allowedHosts: [new URL(url).host], maxBytes: 1_000_000, timeoutMs: 2_000 });

describe('checkHttpCsv', () => {
  it('reports the first fetch as a change, then uses the validators and the content hash', async () => {
    const first = await checkHttpCsv(url, {}, options());
    expect(first).toMatchObject({ changed: true, cursor: { etag: '"v1"', lastModified: source.lastModified, sha256: createHash('sha256').update(source.body).digest('hex') } });
    if (!first.changed) throw new Error('expected a change');
    expect(first.body.toString()).toBe(source.body);

    // Unchanged: the server answers 304 to the conditional request.
    expect(await checkHttpCsv(url, first.cursor, options())).toEqual({ changed: false, reason: 'not-modified', cursor: first.cursor });
    expect(seen.at(-1)).toEqual({ ifNoneMatch: '"v1"', ifModifiedSince: source.lastModified });

    // A new ETag for the same bytes (many exports do this): the hash says nothing changed.
    source.etag = '"v2"';
    expect(await checkHttpCsv(url, first.cursor, options())).toMatchObject({ changed: false, reason: 'same-content', cursor: { etag: '"v2"' } });

    // Changed rows: a change, with the new body and cursor.
    source.body = 'code,name\nde,Germany\nfr,France\n';
    source.etag = '"v3"';
    const changed = await checkHttpCsv(url, first.cursor, options());
    expect(changed).toMatchObject({ changed: true, cursor: { etag: '"v3"' } });
  });

  it('turns error statuses into errors that say whether a retry can help', async () => {
    source.status = 503;
    const down = await checkHttpCsv(url, {}, options()).catch((err: unknown) => err);
    expect(down).toBeInstanceOf(SourceStatusError);
    expect(down).toMatchObject({ status: 503, retryable: true });
    // The query (where export links and presigned URLs carry their tokens) stays out of the message.
    expect((down as Error).message).toBe(`${new URL(url).origin}/export?… answered HTTP 503`);
    source.status = 404;
    expect(await checkHttpCsv(url, {}, options()).catch((err: unknown) => err)).toMatchObject({ status: 404, retryable: false });
    source.status = 200;
  });
});
