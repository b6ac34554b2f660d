import { pipeline, type Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { createGunzip } from 'node:zlib';
import { DatasetFormatError, DatasetTooLargeError } from './errors.js';
import type { TextEncodingName } from '../contracts/objectify.js';

/**
 * From the stored bytes of a dataset to the UTF-8 text the parsers read: gzip decompressed (with
 * a limit against decompression bombs), a byte-order mark dropped, UTF-16 translated to UTF-8,
 * binary files refused, and the part before a resume offset skipped.
 *
 * Offsets are those of the uncompressed file for UTF-8 (a BOM counts); for UTF-16, of its UTF-8
 * translation after the BOM, which is why such a file is read from byte 0 again on every read and
 * skipped to the offset, like a gzip file.
 */

// The encodings a load cursor can record (src/contracts/objectify.ts).
export type { TextEncodingName };

/**
 * Gzip's best case is about 1,030:1 (a run of one byte), a repeated row a few hundred to one; real
 * CSV and JSON Lines compress 3-20:1. Past the first GZIP_RATIO_GRACE_BYTES, a file that has
 * expanded to more than this many times the compressed bytes read so far is refused as a
 * decompression bomb, within a second or two instead of hours of rows. 100:1 is also Apache POI's
 * limit for the zip entries of office documents.
 */
export const MAX_GZIP_RATIO = 100;
export const GZIP_RATIO_GRACE_BYTES = 1024 * 1024;

/** Bytes of a file's start looked at for NUL bytes: text has none, nearly every binary format has some. */
const BINARY_SNIFF_BYTES = 4096;

export interface TextStreamOptions {
  gzip: boolean;
  /** Where the caller's input starts (plain UTF-8) or where to skip to (gzip, UTF-16). */
  startOffset: number;
  /** The encoding an earlier read of this file found. */
  encoding?: TextEncodingName;
  maxGzipRatio?: number;
  /** For messages: "CSV" or "JSON Lines". */
  formatName: string;
}

/** What the stream found at the file's start; set before its first chunk is yielded. */
export interface TextState {
  encoding: TextEncodingName;
  /** Offset of the first byte yielded. */
  origin: number;
}

/** Whether every read of a file in this encoding starts at byte 0, whatever the resume offset. */
export function readsFromStart(encoding: TextEncodingName | undefined): boolean {
  return encoding === 'utf-16le' || encoding === 'utf-16be';
}

export async function* textStream(input: Readable, options: TextStreamOptions, state: TextState): AsyncGenerator<Buffer> {
  const { startOffset } = options;
  const fromStart = options.gzip || startOffset === 0 || readsFromStart(options.encoding);
  const bytes = uncompressed(input, options.gzip, fromStart, options.maxGzipRatio ?? MAX_GZIP_RATIO);
  if (!fromStart) {
    // A plain UTF-8 file, resumed with a ranged read: the input starts at the offset.
    state.encoding = options.encoding ?? 'utf-8';
    state.origin = startOffset;
    yield* bytes;
    return;
  }
  const iterator = bytes[Symbol.asyncIterator]();
  try {
    let head: Buffer = Buffer.alloc(0);
    while (head.length < 3) {
      const next = await iterator.next();
      if (next.done) break;
      head = head.length === 0 ? next.value : Buffer.concat([head, next.value]);
    }
    const rest = (async function* () {
      if (head.length > 0) yield head;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    })();
    const bom = byteOrderMark(head);
    if (options.encoding !== undefined && options.encoding !== bom.encoding) {
      throw new DatasetFormatError(`the file was read as ${label(options.encoding)} before but now reads as ${label(bom.encoding)}`);
    }
    state.encoding = bom.encoding;
    const utf8 = bom.encoding === 'utf-8';
    // UTF-8 offsets count the BOM, so resuming past it skips it too; UTF-16 offsets start after it.
    state.origin = utf8 ? Math.max(startOffset, bom.length) : startOffset;
    const text = utf8 ? rest : transcoded(skipped(rest, bom.length, 0), bom.encoding);
    const body = skipped(text, utf8 ? state.origin : startOffset, startOffset);
    yield* startOffset === 0 ? notBinary(body, state.origin, options.formatName) : body;
  } finally {
    await iterator.return?.(undefined);
  }
}

function byteOrderMark(head: Buffer): { encoding: TextEncodingName; length: number } {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return { encoding: 'utf-8', length: 0 };
}

function label(encoding: TextEncodingName): string {
  return encoding.toUpperCase();
}

async function* uncompressed(input: Readable, gzip: boolean, atFileStart: boolean, maxRatio: number): AsyncGenerator<Buffer> {
  if (!gzip) {
    let first = true;
    for await (const chunk of input) {
      const buffer = toBuffer(chunk);
      // Caught here, a compressed file reads as one garbled record per line instead of failing clearly.
      if (first && atFileStart && buffer[0] === 0x1f && buffer[1] === 0x8b) {
        throw new DatasetFormatError('the file is gzip-compressed but was read as plain text (name it .gz)');
      }
      first = false;
      yield buffer;
    }
    return;
  }
  const gunzip = createGunzip();
  // pipeline forwards an input error to gunzip, so the loop below fails with it instead of hanging.
  pipeline(input, gunzip, () => undefined);
  let expanded = 0;
  try {
    for await (const chunk of gunzip) {
      const buffer = toBuffer(chunk);
      expanded += buffer.length;
      // bytesWritten counts the compressed bytes the inflater has consumed, not those buffered ahead.
      if (expanded > GZIP_RATIO_GRACE_BYTES && expanded > maxRatio * gunzip.bytesWritten) {
        throw new DatasetTooLargeError(
          `the gzip data expands more than ${maxRatio} times (${expanded} bytes from the first ${gunzip.bytesWritten} compressed bytes): ` +
            'refused as a decompression bomb (limit MAX_GZIP_RATIO); load a file this repetitive uncompressed',
        );
      }
      yield buffer;
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw new DatasetFormatError(`the gzip data is corrupt: ${(err as Error).message}`, { cause: err });
    throw err;
  } finally {
    gunzip.destroy();
  }
}

/** UTF-16 to UTF-8; an unpaired surrogate or a last odd byte fails the file, which is not UTF-16 after all. */
async function* transcoded(chunks: AsyncIterable<Buffer>, encoding: TextEncodingName): AsyncGenerator<Buffer> {
  const decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
  let consumed = 2;
  const invalid = (err: unknown) => new DatasetFormatError(`the file starts with a ${label(encoding)} byte-order mark but is not valid ${label(encoding)} text after byte ${consumed}`, { cause: err });
  for await (const chunk of chunks) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch (err) {
      throw invalid(err);
    }
    consumed += chunk.length;
    if (text.length > 0) yield Buffer.from(text, 'utf8');
  }
  let last: string;
  try {
    last = decoder.decode();
  } catch (err) {
    throw invalid(err);
  }
  if (last.length > 0) yield Buffer.from(last, 'utf8');
}

/** Drops the first `count` bytes; a file shorter than a resume offset (`resumeOffset` > 0) fails. */
async function* skipped(chunks: AsyncIterable<Buffer>, count: number, resumeOffset: number): AsyncGenerator<Buffer> {
  let skip = count;
  for await (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    yield skip > 0 ? chunk.subarray(skip) : chunk;
    skip = 0;
  }
  if (skip > 0 && resumeOffset > 0) throw new DatasetFormatError(`the file ends before the resume offset ${resumeOffset}`);
}

/** Refuses a file with a NUL byte near its start: an image or an archive named .csv, not text. */
async function* notBinary(chunks: AsyncIterable<Buffer>, origin: number, formatName: string): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of chunks) {
    if (seen < BINARY_SNIFF_BYTES) {
      const nul = chunk.subarray(0, BINARY_SNIFF_BYTES - seen).indexOf(0);
      if (nul !== -1) throw new DatasetFormatError(`the file looks binary, not ${formatName} text: it has a NUL byte at offset ${origin + seen + nul}`);
      seen += chunk.length;
    }
    yield chunk;
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new Error('the input stream must yield bytes');
}
