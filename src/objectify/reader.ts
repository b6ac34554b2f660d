import { isUtf8 } from 'node:buffer';
import { pipeline, Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { CsvError, parse } from 'csv-parse';
import { DatasetFormatError } from './errors.js';
import { textStream, type TextEncodingName, type TextState } from './text-stream.js';

export { DatasetFormatError, DatasetTooLargeError } from './errors.js';
export { GZIP_RATIO_GRACE_BYTES, MAX_GZIP_RATIO, readsFromStart, type TextEncodingName } from './text-stream.js';

export type DatasetFormat = 'csv' | 'jsonl';

export interface ReadOptions {
  format: DatasetFormat;
  gzip: boolean;
  /**
   * Offset where reading starts (default 0): the `endOffset` of the last record already
   * processed. A plain UTF-8 file must be passed already positioned there (a ranged read from this
   * offset); a gzip or UTF-16 file is passed from byte 0 and the reader discards everything before
   * this offset, since a gzip stream cannot be entered in the middle and UTF-16 offsets count the
   * bytes of its UTF-8 translation.
   */
  startOffset?: number;
  /** The `rowNumber` of the last record already processed (default 0); numbering goes on from it. */
  startRow?: number;
  /** The CSV header saved from the first read (the items carry it). Required when a CSV read starts past 0; ignored at 0. */
  header?: string[];
  /** The encoding the first read found (the items carry it). Required to resume a UTF-16 file. */
  encoding?: TextEncodingName;
  /** A record (CSV) or line (JSON Lines) above this many bytes fails the read (default 16 MiB): no row is that large. */
  maxRecordBytes?: number;
  /** A gzip file expanding more than this many times its compressed size fails the read (default MAX_GZIP_RATIO). */
  maxGzipRatio?: number;
}

interface Position {
  /** 1-based among data records: the CSV header and blank lines are not counted. */
  rowNumber: number;
  /** Offset in the uncompressed stream just after this record: the place to resume from. */
  endOffset: number;
  /** CSV only: the header in effect, the same array for every item. */
  header?: string[];
  /** The file's encoding: UTF-8 (with or without a BOM), or UTF-16 with its BOM. */
  encoding: TextEncodingName;
}

export type RecordItem = ({ row: Record<string, unknown> } & Position) | ({ reject: string; raw: string } & Position);

const MiB = 1024 * 1024;

/**
 * Streams the records of a CSV (header row first) or JSON Lines file, UTF-8 or UTF-16 with a BOM.
 * Memory is bounded by the largest record, whatever the file size. A record that is unreadable on
 * its own (wrong number of CSV fields, bytes that are not UTF-8, a JSON Lines line that is not an
 * object) is yielded as a reject; a file that cannot be parsed any further throws
 * DatasetFormatError (DatasetTooLargeError for a decompression bomb); errors of the input stream
 * are rethrown as they are.
 */
export function readRecords(input: Readable, options: ReadOptions): AsyncIterable<RecordItem> {
  const startOffset = options.startOffset ?? 0;
  if (!Number.isSafeInteger(startOffset) || startOffset < 0) throw new Error(`startOffset ${startOffset} is not a byte offset`);
  const state: TextState = { encoding: options.encoding ?? 'utf-8', origin: startOffset };
  const formatName = options.format === 'csv' ? 'CSV' : 'JSON Lines';
  const text = textStream(input, { gzip: options.gzip, startOffset, encoding: options.encoding, maxGzipRatio: options.maxGzipRatio, formatName }, state);
  return options.format === 'csv' ? readCsv(text, state, options) : readJsonl(text, state, options);
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

async function* readCsv(text: AsyncIterable<Buffer>, state: TextState, options: ReadOptions): AsyncGenerator<RecordItem> {
  const base = options.startOffset ?? 0;
  if (base > 0 && !options.header) throw new Error('a CSV read that starts past offset 0 needs the header saved from the first read');
  let header = base > 0 ? options.header : undefined;
  let rowNumber = options.startRow ?? 0;
  const maxRecordBytes = options.maxRecordBytes ?? 16 * MiB;
  const parser = parse({
    bom: false, // the text stream has dropped it
    info: true,
    relax_column_count: true, // a short or long row becomes one reject, not the end of the file
    skip_empty_lines: true,
    // A lone CR ends a record too (old Mac files, and as Excel, Python and pandas read it), rather
    // than ending up inside an unquoted field.
    record_delimiter: ['\r\n', '\n', '\r'],
    max_record_size: maxRecordBytes,
  });
  // Where the bytes that are not UTF-8 are: csv-parse would quietly turn them into U+FFFD.
  const invalid = new InvalidUtf8();
  // csv-parse counts info.bytes over the bytes it is given, so it must get Buffers, not strings.
  pipeline(Readable.from(invalid.watch(text, state), { objectMode: false }), parser, () => undefined);
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { bytes: number } }>) {
      const endOffset = state.origin + info.bytes;
      const broken = invalid.before(endOffset);
      const position = { endOffset, encoding: state.encoding };
      if (!header) {
        // A header that is not UTF-8 means the whole file is in another encoding (or is not text).
        if (broken) throw new DatasetFormatError('the header row is not valid UTF-8: save the file as UTF-8 (is it Latin-1 or Windows-1252?)');
        header = checkedHeader(record);
        continue;
      }
      rowNumber++;
      if (record.length !== header.length) {
        const reject = `row has ${record.length} fields, the header has ${header.length}`;
        yield { reject, raw: csvLine(record), rowNumber, header, ...position };
        continue;
      }
      if (broken) {
        const column = header[record.findIndex((field) => field.includes('\ufffd'))];
        yield { reject: column === undefined ? 'row is not valid UTF-8' : `column "${column}" is not valid UTF-8`, raw: csvLine(record), rowNumber, header, ...position };
        continue;
      }
      const fields = record;
      // fromEntries defines own properties: a column named __proto__ stays a column.
      const row = Object.fromEntries(header.map((name, i) => [name, fields[i]]));
      yield { row, rowNumber, header, ...position };
    }
  } catch (err) {
    if (err instanceof CsvError) throw csvFailure(err, header ? `row ${rowNumber + 1}` : 'the header row', maxRecordBytes);
    throw err;
  } finally {
    parser.destroy();
  }
}

/**
 * Notes the offsets of bytes that are not UTF-8 while passing the text on unchanged, so that a
 * record can be checked by its byte range. Valid chunks (nearly all) cost one isUtf8 call each;
 * a sequence cut by a chunk boundary waits for the next chunk.
 */
class InvalidUtf8 {
  private readonly offsets: number[] = [];
  private next = 0;

  async *watch(chunks: AsyncIterable<Buffer>, state: TextState): AsyncGenerator<Buffer> {
    let carry: Buffer | undefined;
    let offset: number | undefined;
    for await (const chunk of chunks) {
      offset ??= state.origin;
      const data = carry ? Buffer.concat([carry, chunk]) : chunk;
      const complete = data.length - incompleteTail(data);
      const body = data.subarray(0, complete);
      carry = complete < data.length ? data.subarray(complete) : undefined;
      if (!isUtf8(body)) for (const at of invalidSequences(body)) this.offsets.push(offset + at);
      offset += body.length;
      if (body.length > 0) yield body;
    }
    if (carry && offset !== undefined) {
      this.offsets.push(offset); // the file ends inside a sequence
      yield carry;
    }
  }

  /** Whether bytes before `end` (and after the last call's `end`) were not UTF-8. */
  before(end: number): boolean {
    let found = false;
    while (this.next < this.offsets.length && this.offsets[this.next]! < end) {
      found = true;
      this.next++;
    }
    if (this.next > 4096) {
      this.offsets.splice(0, this.next);
      this.next = 0;
    }
    return found;
  }
}

/** How many bytes at the end start a multi-byte sequence that the next chunk completes. */
function incompleteTail(data: Buffer): number {
  for (let back = 1; back <= Math.min(3, data.length); back++) {
    const byte = data[data.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}

/** Offsets of the sequences that are not UTF-8 (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF). */
function invalidSequences(bytes: Buffer): number[] {
  const found: number[] = [];
  for (let i = 0; i < bytes.length; ) {
    const byte = bytes[i]!;
    if (byte < 0x80) {
      i++;
      continue;
    }
    const length = byte >= 0xc2 && byte <= 0xdf ? 2 : byte >= 0xe0 && byte <= 0xef ? 3 : byte >= 0xf0 && byte <= 0xf4 ? 4 : 0;
    if (length > 0 && i + length <= bytes.length && isUtf8(bytes.subarray(i, i + length))) {
      i += length;
    } else {
      found.push(i);
      i++;
    }
  }
  return found;
}

function csvFailure(err: CsvError, row: string, maxRecordBytes: number): DatasetFormatError {
  const lines = (err as unknown as { lines?: unknown }).lines;
  const line = typeof lines === 'number' ? ` (near line ${lines})` : '';
  const reason: Record<string, string> = {
    CSV_QUOTE_NOT_CLOSED: `${row} opens a quoted field that is never closed: the file ends inside it`,
    INVALID_OPENING_QUOTE: `${row}${line} has a quote inside an unquoted field: quote the whole field and double the quotes in it`,
    CSV_INVALID_CLOSING_QUOTE: `${row}${line} has text after the closing quote of a field: double the quotes inside a quoted field`,
    CSV_MAX_RECORD_SIZE: `${row} is longer than ${maxRecordBytes} bytes: is a quote left open?`,
  };
  return new DatasetFormatError(`the CSV cannot be parsed: ${reason[err.code] ?? `${row}: ${err.message}`}`, { cause: err });
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

async function* readJsonl(text: AsyncIterable<Buffer>, state: TextState, options: ReadOptions): AsyncGenerator<RecordItem> {
  const maxBytes = options.maxRecordBytes ?? 16 * MiB;
  let offset: number | undefined; // where the line being assembled starts, once the first chunk is in
  let rowNumber = options.startRow ?? 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const decoder = new TextDecoder('utf-8', { fatal: true });

  function* line(bytesOfLine: Buffer, terminator: number): Generator<RecordItem> {
    offset = (offset ?? state.origin) + bytesOfLine.length + terminator;
    const item = jsonlItem(bytesOfLine, decoder);
    if (item) yield { ...item, rowNumber: ++rowNumber, endOffset: offset, encoding: state.encoding };
  }

  for await (const chunk of text) {
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
function jsonlItem(bytes: Buffer, decoder: TextDecoder): LineItem | null {
  let body = bytes;
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
