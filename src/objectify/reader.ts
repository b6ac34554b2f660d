import { pipeline, Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { createGunzip } from 'node:zlib';
import { CsvError, parse } from 'csv-parse';

export type DatasetFormat = 'csv' | 'jsonl';

export interface ReadOptions {
  format: DatasetFormat;
  gzip: boolean;
  /**
   * Offset in the uncompressed bytes where reading starts (default 0): the `endOffset` of the last
   * record already processed. A plain file must be passed already positioned there (a ranged read
   * from this offset); a gzip file is passed from byte 0 and the reader decompresses and discards
   * everything before this offset, since a gzip stream cannot be entered in the middle.
   */
  startOffset?: number;
  /** The `rowNumber` of the last record already processed (default 0); numbering goes on from it. */
  startRow?: number;
  /** The CSV header saved from the first read (the items carry it). Required when a CSV read starts past 0; ignored at 0. */
  header?: string[];
  /** A record (CSV) or line (JSON Lines) above this many bytes fails the read (default 16 MiB): no row is that large. */
  maxRecordBytes?: number;
}

interface Position {
  /** 1-based among data records: the CSV header and blank lines are not counted. */
  rowNumber: number;
  /** Offset in the uncompressed stream just after this record: the place to resume from. */
  endOffset: number;
  /** CSV only: the header in effect, the same array for every item. */
  header?: string[];
}

export type RecordItem = ({ row: Record<string, unknown> } & Position) | ({ reject: string; raw: string } & Position);

/** The file cannot be read as the format it claims (broken quoting, corrupt gzip, duplicate header): retrying cannot help. */
export class DatasetFormatError extends Error {
  override readonly name = 'DatasetFormatError';
}

const MiB = 1024 * 1024;

/**
 * Streams the records of a CSV (header row first) or JSON Lines file. Memory is bounded by the
 * largest record, whatever the file size. A record that is unreadable on its own (wrong number of
 * CSV fields, a JSON Lines line that is not an object) is yielded as a reject; a file that cannot be
 * parsed any further throws DatasetFormatError; errors of the input stream are rethrown as they are.
 */
export function readRecords(input: Readable, options: ReadOptions): AsyncIterable<RecordItem> {
  const startOffset = options.startOffset ?? 0;
  if (!Number.isSafeInteger(startOffset) || startOffset < 0) throw new Error(`startOffset ${startOffset} is not a byte offset`);
  const bytes = uncompressed(input, options.gzip, startOffset);
  return options.format === 'csv' ? readCsv(bytes, options) : readJsonl(bytes, options);
}

/** Names win over Content-Type: uploaders often send application/octet-stream or text/plain. Null when neither tells. */
export function detectFormat(key: string, contentType?: string): { format: DatasetFormat; gzip: boolean } | null {
  const name = key.toLowerCase();
  const gzipName = name.endsWith('.gz');
  const base = gzipName ? name.slice(0, -3) : name;
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const byName: DatasetFormat | null = base.endsWith('.csv') ? 'csv' : base.endsWith('.jsonl') || base.endsWith('.ndjson') ? 'jsonl' : null;
  const byType: DatasetFormat | null = CSV_TYPES.has(type) ? 'csv' : JSONL_TYPES.has(type) ? 'jsonl' : null;
  const format = byName ?? byType;
  return format ? { format, gzip: gzipName || GZIP_TYPES.has(type) } : null;
}

const CSV_TYPES = new Set(['text/csv', 'application/csv', 'text/comma-separated-values']);
const JSONL_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines', 'application/jsonlines', 'application/json-lines']);
const GZIP_TYPES = new Set(['application/gzip', 'application/x-gzip']);

async function* uncompressed(input: Readable, gzip: boolean, startOffset: number): AsyncGenerator<Buffer> {
  if (!gzip) {
    let first = true;
    for await (const chunk of input) {
      const buffer = toBuffer(chunk);
      // Caught here, a compressed file reads as one garbled record per line instead of failing clearly.
      if (first && startOffset === 0 && buffer[0] === 0x1f && buffer[1] === 0x8b) {
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
  let skip = startOffset;
  try {
    for await (const chunk of gunzip) {
      const buffer = toBuffer(chunk);
      if (skip >= buffer.length) {
        skip -= buffer.length;
        continue;
      }
      yield skip > 0 ? buffer.subarray(skip) : buffer;
      skip = 0;
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw new DatasetFormatError(`the gzip data is corrupt: ${(err as Error).message}`, { cause: err });
    throw err;
  } finally {
    gunzip.destroy();
  }
  if (skip > 0) throw new DatasetFormatError(`the file ends before the resume offset ${startOffset}`);
}

async function* readCsv(bytes: AsyncIterable<Buffer>, options: ReadOptions): AsyncGenerator<RecordItem> {
  const base = options.startOffset ?? 0;
  if (base > 0 && !options.header) throw new Error('a CSV read that starts past offset 0 needs the header saved from the first read');
  let header = base > 0 ? options.header : undefined;
  let rowNumber = options.startRow ?? 0;
  const parser = parse({
    bom: base === 0,
    info: true,
    relax_column_count: true, // a short or long row becomes one reject, not the end of the file
    skip_empty_lines: true,
    max_record_size: options.maxRecordBytes ?? 16 * MiB,
  });
  // csv-parse counts info.bytes over the bytes it is given, so it must get Buffers, not strings.
  pipeline(Readable.from(bytes, { objectMode: false }), parser, () => undefined);
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { bytes: number } }>) {
      const endOffset = base + info.bytes;
      if (!header) {
        header = checkedHeader(record);
        continue;
      }
      rowNumber++;
      if (record.length !== header.length) {
        const reject = `row has ${record.length} fields, the header has ${header.length}`;
        yield { reject, raw: csvLine(record), rowNumber, endOffset, header };
        continue;
      }
      const fields = record;
      // fromEntries defines own properties: a column named __proto__ stays a column.
      const row = Object.fromEntries(header.map((name, i) => [name, fields[i]]));
      yield { row, rowNumber, endOffset, header };
    }
  } catch (err) {
    if (err instanceof CsvError) throw new DatasetFormatError(`the CSV cannot be parsed: ${err.message}`, { cause: err });
    throw err;
  } finally {
    parser.destroy();
  }
}

function checkedHeader(record: string[]): string[] {
  const seen = new Set<string>();
  for (const name of record) {
    if (seen.has(name)) throw new DatasetFormatError(`the CSV header names column "${name}" twice`);
    seen.add(name);
  }
  return record;
}

/** A reject keeps its record as one CSV line, quoted where needed, so that it can be read back. */
function csvLine(fields: readonly string[]): string {
  return fields.map((field) => (/[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field)).join(',');
}

async function* readJsonl(bytes: AsyncIterable<Buffer>, options: ReadOptions): AsyncGenerator<RecordItem> {
  const maxBytes = options.maxRecordBytes ?? 16 * MiB;
  let offset = options.startOffset ?? 0; // where the line being assembled starts
  let rowNumber = options.startRow ?? 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const decoder = new TextDecoder('utf-8', { fatal: true });

  function* line(bytesOfLine: Buffer, terminator: number): Generator<RecordItem> {
    const start = offset;
    offset += bytesOfLine.length + terminator;
    const item = jsonlItem(bytesOfLine, start === 0, decoder);
    if (item) yield { ...item, rowNumber: ++rowNumber, endOffset: offset };
  }

  for await (const chunk of bytes) {
    let from = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, from)) {
      const piece = chunk.subarray(from, newline);
      const whole = pendingBytes === 0 ? piece : Buffer.concat([...pending, piece]);
      pending = [];
      pendingBytes = 0;
      from = newline + 1;
      yield* line(whole, 1);
    }
    if (from < chunk.length) {
      pending.push(chunk.subarray(from));
      pendingBytes += chunk.length - from;
      if (pendingBytes > maxBytes) throw new DatasetFormatError(`line ${rowNumber + 1} is longer than ${maxBytes} bytes`);
    }
  }
  if (pendingBytes > 0) yield* line(Buffer.concat(pending), 0);
}

type LineItem = { row: Record<string, unknown> } | { reject: string; raw: string };

/** Null for a blank line, which is not a record. */
function jsonlItem(bytes: Buffer, atFileStart: boolean, decoder: TextDecoder): LineItem | null {
  let body = bytes;
  if (atFileStart && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
  if (body[body.length - 1] === 0x0d) body = body.subarray(0, -1);
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    return { reject: 'line is not valid UTF-8', raw: body.toString('utf8') };
  }
  if (text.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { reject: `line is not valid JSON: ${(err as Error).message}`, raw: text };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return { reject: `line is ${kind}, not a JSON object`, raw: text };
  }
  return { row: value as Record<string, unknown> };
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new Error('the input stream must yield bytes');
}
