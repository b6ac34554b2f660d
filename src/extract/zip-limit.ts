import { createInflateRaw } from 'node:zlib';
import { checkpoint } from './checkpoint.js';

/**
 * How far a zip (a DOCX) expands, checked before a library unzips it into memory: mammoth (through
 * JSZip) inflates each part it reads whole, so a few MiB of deflate that expand to gigabytes would
 * exhaust the worker's memory long before the extracted-text limit is reached.
 *
 * The sizes the central directory declares are checked first (cheap); then every deflated entry is
 * inflated into nothing, counting, because a crafted zip can declare small sizes and hold large
 * ones. The limit applies to the total: media (already compressed) expand to about their own size,
 * which the allowance counts, so only real expansion uses up `maxExpansion`.
 */
export async function zipExpansion(bytes: Uint8Array, maxExpansion: number, signal?: AbortSignal): Promise<{ declared: number; actual?: number; limit: number }> {
  const limit = bytes.byteLength + maxExpansion;
  const entries = centralDirectory(bytes);
  const declared = entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0);
  if (declared > limit) return { declared, limit };
  let actual = 0;
  for (const entry of entries) {
    await checkpoint(signal);
    const data = entryData(bytes, entry);
    if (!data) continue;
    if (entry.method === STORED) actual += data.byteLength;
    else if (entry.method === DEFLATED) actual += await inflatedSize(data, limit - actual);
    if (actual > limit) break;
  }
  return { declared, actual, limit };
}

const STORED = 0;
const DEFLATED = 8;
const U32_MAX = 0xffffffff;

interface Entry {
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/** The entries as the central directory lists them; none for something that is not a readable zip (the unzipper reports it). */
function centralDirectory(bytes: Uint8Array): Entry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = endOfCentralDirectory(view);
  if (end === undefined) return [];
  let count = view.getUint16(end + 10, true);
  let offset = view.getUint32(end + 16, true);
  if (count === 0xffff || offset === U32_MAX) {
    const zip64 = zip64End(view, end);
    if (zip64 === undefined) return [];
    count = Number(view.getBigUint64(zip64 + 32, true));
    offset = Number(view.getBigUint64(zip64 + 48, true));
  }
  const entries: Entry[] = [];
  for (let i = 0; i < count && offset + 46 <= view.byteLength && view.getUint32(offset, true) === 0x02014b50; i++) {
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    const entry: Entry = {
      method: view.getUint16(offset + 10, true),
      compressedSize: view.getUint32(offset + 20, true),
      uncompressedSize: view.getUint32(offset + 24, true),
      localHeaderOffset: view.getUint32(offset + 42, true),
    };
    readZip64Extra(view, offset + 46 + nameLength, extraLength, entry);
    entries.push(entry);
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function endOfCentralDirectory(view: DataView): number | undefined {
  for (let at = view.byteLength - 22; at >= Math.max(0, view.byteLength - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === 0x06054b50) return at;
  }
  return undefined;
}

function zip64End(view: DataView, end: number): number | undefined {
  const locator = end - 20;
  if (locator < 0 || view.getUint32(locator, true) !== 0x07064b50) return undefined;
  const at = Number(view.getBigUint64(locator + 8, true));
  return at + 56 <= view.byteLength && view.getUint32(at, true) === 0x06064b50 ? at : undefined;
}

/** Sizes and offset that do not fit 32 bits are in the zip64 extra field, in this order. */
function readZip64Extra(view: DataView, start: number, length: number, entry: Entry): void {
  for (let at = start; at + 4 <= start + length && at + 4 <= view.byteLength; ) {
    const id = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    if (id === 0x0001) {
      let field = at + 4;
      const next = (): number | undefined => {
        if (field + 8 > at + 4 + size || field + 8 > view.byteLength) return undefined;
        const value = Number(view.getBigUint64(field, true));
        field += 8;
        return value;
      };
      if (entry.uncompressedSize === U32_MAX) entry.uncompressedSize = next() ?? entry.uncompressedSize;
      if (entry.compressedSize === U32_MAX) entry.compressedSize = next() ?? entry.compressedSize;
      if (entry.localHeaderOffset === U32_MAX) entry.localHeaderOffset = next() ?? entry.localHeaderOffset;
      return;
    }
    at += 4 + size;
  }
}

function entryData(bytes: Uint8Array, entry: Entry): Uint8Array | undefined {
  const at = entry.localHeaderOffset;
  if (at + 30 > bytes.byteLength) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, 30);
  if (view.getUint32(0, true) !== 0x04034b50) return undefined;
  const start = at + 30 + view.getUint16(26, true) + view.getUint16(28, true);
  return bytes.subarray(start, Math.min(bytes.byteLength, start + entry.compressedSize));
}

/** Inflates into nothing, stopping once past `budget`; corrupt data counts what came out (the unzipper reports it). */
function inflatedSize(data: Uint8Array, budget: number): Promise<number> {
  return new Promise((resolve) => {
    const inflate = createInflateRaw();
    let size = 0;
    const finish = () => {
      inflate.destroy();
      resolve(size);
    };
    inflate.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > budget) finish();
    });
    inflate.on('end', finish);
    inflate.on('error', finish);
    inflate.end(data);
  });
}
