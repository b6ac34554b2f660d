import { createHash } from 'node:crypto';
import { displayUrl, safeFetch, type SafeFetchOptions } from './safe-fetch.js';

/**
 * Change detection for an `http-csv` source (a Google Sheets "export as CSV" link, say): a
 * conditional GET with the validators the source gave last time, then a content hash, because many
 * exports answer 200 with a fresh ETag for unchanged content.
 */

/** What was seen last time: the connector's cursor for this kind. */
export interface HttpCsvCursor {
  etag?: string;
  lastModified?: string;
  sha256?: string;
}

export type HttpCsvCheck =
  | { changed: false; reason: 'not-modified' | 'same-content'; cursor: HttpCsvCursor }
  | { changed: true; body: Buffer; contentType: string | undefined; cursor: Required<Pick<HttpCsvCursor, 'sha256'>> & HttpCsvCursor };

/** The source answered with an error status: worth retrying (5xx, 429) or not (other 4xx). */
export class SourceStatusError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
  ) {
    super(`${displayUrl(url)} answered HTTP ${status}`);
    this.name = 'SourceStatusError';
  }

  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

export async function checkHttpCsv(url: string, previous: HttpCsvCursor, options: Omit<SafeFetchOptions, 'headers'>): Promise<HttpCsvCheck> {
  const headers: Record<string, string> = { accept: 'text/csv, text/plain;q=0.9, */*;q=0.1' };
  if (previous.etag) headers['if-none-match'] = previous.etag;
  if (previous.lastModified) headers['if-modified-since'] = previous.lastModified;
  const response = await safeFetch(url, { ...options, headers });
  if (response.status === 304) return { changed: false, reason: 'not-modified', cursor: previous };
  if (response.status < 200 || response.status >= 300) throw new SourceStatusError(response.status, url);

  const sha256 = createHash('sha256').update(response.body).digest('hex');
  const cursor = {
    etag: header(response.headers.etag),
    lastModified: header(response.headers['last-modified']),
    sha256,
  };
  if (sha256 === previous.sha256) return { changed: false, reason: 'same-content', cursor };
  return { changed: true, body: response.body, contentType: header(response.headers['content-type']), cursor };
}


function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
