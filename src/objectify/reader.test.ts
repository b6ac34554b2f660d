import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DatasetFormatError, DatasetTooLargeError, detectFormat, readRecords, type ReadOptions, type RecordItem } from './reader.js';

/** The bytes as a stream of chunks of the given size, as S3 would deliver them. */
function streamOf(bytes: Uint8Array, chunkSize = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(Buffer.from(bytes.subarray(i, i + chunkSize)));
  return Readable.from(chunks);
}

async function readAll(bytes: Uint8Array | string, options: ReadOptions, chunkSize?: number): Promise<RecordItem[]> {
  const items: RecordItem[] = [];
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  for await (const item of readRecords(streamOf(buffer, chunkSize), options)) items.push(item);
  return items;
}

const rows = (items: RecordItem[]) => items.map((item) => ('row' in item ? item.row : { reject: item.reject, raw: item.raw }));
const csv = { format: 'csv', gzip: false } as const;
const jsonl = { format: 'jsonl', gzip: false } as const;

describe('CSV', () => {
  it('reads quoted fields with commas, quotes and line breaks, a BOM and CRLF', async () => {
    const text = '\ufeffcode,name,note\r\nFR,"France, the ""Hexagon""","two\r\nlines"\r\n\r\nDE,Deutschland,Grüße 日本\r\n';
    const items = await readAll(text, csv, 1);
    expect(rows(items)).toEqual([
      { code: 'FR', name: 'France, the "Hexagon"', note: 'two\r\nlines' },
      { code: 'DE', name: 'Deutschland', note: 'Grüße 日本' },
    ]);
    expect(items.map((item) => item.rowNumber)).toEqual([1, 2]);
    expect(items.at(-1)?.endOffset).toBe(Buffer.byteLength(text));
    expect(items[0]?.header).toEqual(['code', 'name', 'note']);
  });

  it('turns a row with the wrong number of fields into a reject and goes on', async () => {
    const items = await readAll('a,b\n1,2\n3\n4,"x,y",5\n6,7', csv);
    expect(rows(items)).toEqual([
      { a: '1', b: '2' },
      { reject: 'row has 1 fields, the header has 2', raw: '3' },
      { reject: 'row has 3 fields, the header has 2', raw: '4,"x,y",5' },
      { a: '6', b: '7' },
    ]);
    expect(items.map((item) => item.rowNumber)).toEqual([1, 2, 3, 4]);
  });

  it('keeps a column named __proto__ as data', async () => {
    const [item] = await readAll('__proto__,b\nx,y\n', csv);
    expect(item && 'row' in item && Object.hasOwn(item.row, '__proto__')).toBe(true);
    expect(item && 'row' in item && Object.getPrototypeOf(item.row)).toBe(Object.prototype);
  });

  it('reads nothing from an empty file or a header alone', async () => {
    expect(await readAll('', csv)).toEqual([]);
    expect(await readAll('a,b\r\n', csv)).toEqual([]);
  });

  it('fails a file it cannot parse any further, or whose header repeats a name', async () => {
    await expect(readAll('a,b\n1,"open\n2,3\n', csv)).rejects.toThrow(DatasetFormatError);
    await expect(readAll('a,b,a\n1,2,3\n', csv)).rejects.toThrow('the CSV header names column "a" twice');
    await expect(readAll('a,b\n' + 'x'.repeat(200) + ',1\n', { ...csv, maxRecordBytes: 100 })).rejects.toThrow(DatasetFormatError);
  });

  it('ends a record at a lone CR too, as Excel and Python read it', async () => {
    expect(rows(await readAll('a,b\r1,2\r\n3,4\n5,x\ry\n', csv, 1))).toEqual([
      { a: '1', b: '2' },
      { a: '3', b: '4' },
      { a: '5', b: 'x' },
      { reject: 'row has 1 fields, the header has 2', raw: 'y' },
    ]);
  });

  it('rejects a row whose bytes are not UTF-8, naming the column, and fails a header that is not', async () => {
    const bytes = Buffer.concat([Buffer.from('a,b\n1,caf'), Buffer.from([0xe9]), Buffer.from('\n2,日本\n3,'), Buffer.from([0xe6, 0x97])]);
    for (const chunkSize of [1, 2, 64]) {
      expect(rows(await readAll(bytes, csv, chunkSize))).toEqual([
        { reject: 'column "b" is not valid UTF-8', raw: '1,caf\ufffd' },
        { a: '2', b: '日本' },
        { reject: 'column "b" is not valid UTF-8', raw: '3,\ufffd' }, // the file ends inside a character
      ]);
    }
    await expect(readAll(Buffer.from('a,n\xe4me\n1,2\n', 'latin1'), csv)).rejects.toThrow('the header row is not valid UTF-8');
  });

  it('names the row of a quoting problem', async () => {
    await expect(readAll('a,b\n1,2\n3,"open\n4,5\n', csv)).rejects.toThrow('row 2 opens a quoted field that is never closed');
    await expect(readAll('a,b\n1,2\n3,4"x\n', csv)).rejects.toThrow('row 2 (near line 3) has a quote inside an unquoted field');
    await expect(readAll('a,b\n1,"2"x\n', csv)).rejects.toThrow('row 1 (near line 2) has text after the closing quote');
  });

  it('needs the saved header to start past offset 0', async () => {
    await expect(readAll('1,2\n', { ...csv, startOffset: 4 })).rejects.toThrow(/needs the header/);
  });
});

describe('JSON Lines', () => {
  it('reads objects and rejects lines that are not objects, counting records only', async () => {
    const text = '\ufeff{"a":1,"b":{"c":[true]}}\r\n\n  \n{"a":"x"}\nnot json\n[1,2]\n42\nnull\n{"a":2}';
    const items = await readAll(text, jsonl, 3);
    expect(rows(items)).toEqual([
      { a: 1, b: { c: [true] } },
      { a: 'x' },
      { reject: expect.stringMatching(/^line is not valid JSON: /) as unknown, raw: 'not json' },
      { reject: 'line is an array, not a JSON object', raw: '[1,2]' },
      { reject: 'line is a number, not a JSON object', raw: '42' },
      { reject: 'line is null, not a JSON object', raw: 'null' },
      { a: 2 },
    ]);
    expect(items.map((item) => item.rowNumber)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(items.at(-1)?.endOffset).toBe(Buffer.byteLength(text));
    expect(items[0]?.header).toBeUndefined();
  });

  it('rejects a line that is not UTF-8', async () => {
    const bytes = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n{"a":1}\n')]);
    expect(rows(await readAll(bytes, jsonl))).toEqual([{ reject: 'line is not valid UTF-8', raw: expect.any(String) as unknown }, { a: 1 }]);
  });

  it('fails a line longer than the limit', async () => {
    await expect(readAll(`{"a":"${'x'.repeat(500)}"}\n`, { ...jsonl, maxRecordBytes: 100 }, 50)).rejects.toThrow(DatasetFormatError);
  });
});

describe('encodings', () => {
  const utf16 = (text: string, order: 'le' | 'be') => {
    const le = Buffer.from(text, 'utf16le');
    return Buffer.concat([Buffer.from(order === 'le' ? [0xff, 0xfe] : [0xfe, 0xff]), order === 'le' ? le : le.swap16()]);
  };

  it.each(['le', 'be'] as const)('reads UTF-16%s with its BOM, in either format, and says so', async (order) => {
    const items = await readAll(utf16('a,b\r\nÖ,日本 🗾\r\n', order), csv, 3);
    expect(rows(items)).toEqual([{ a: 'Ö', b: '日本 🗾' }]);
    expect(items[0]?.encoding).toBe(`utf-16${order}`);
    expect(rows(await readAll(utf16('{"a":"Ö"}\n{"a":2}', order), jsonl, 5))).toEqual([{ a: 'Ö' }, { a: 2 }]);
  });

  it('fails UTF-16 with an unpaired surrogate, and a file that changed encoding since the last read', async () => {
    const broken = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a\n', 'utf16le'), Buffer.from([0x00, 0xd8]), Buffer.from('b\n', 'utf16le')]);
    await expect(readAll(broken, csv)).rejects.toThrow('the file starts with a UTF-16LE byte-order mark but is not valid UTF-16LE text');
    await expect(readAll('a,b\n1,2\n', { ...csv, encoding: 'utf-16le', startOffset: 4, header: ['a', 'b'] })).rejects.toThrow('the file was read as UTF-16LE before');
  });

  it('refuses a binary file by a NUL byte near its start, in either format', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    await expect(readAll(png, csv)).rejects.toThrow('the file looks binary, not CSV text: it has a NUL byte at offset 8');
    await expect(readAll(png, jsonl)).rejects.toThrow('the file looks binary, not JSON Lines text');
  });
});

describe('gzip', () => {
  it('reads compressed CSV and JSON Lines, also from several gzip members', async () => {
    const csvText = 'a,b\n1,"x\ny"\n2,z\n';
    expect(rows(await readAll(gzipSync(csvText), { format: 'csv', gzip: true }, 7))).toEqual(rows(await readAll(csvText, csv)));
    const members = Buffer.concat([gzipSync('{"a":1}\n'), gzipSync('{"a":2}\n')]);
    const items = await readAll(members, { format: 'jsonl', gzip: true });
    expect(rows(items)).toEqual([{ a: 1 }, { a: 2 }]);
    expect(items.at(-1)?.endOffset).toBe(16);
  });

  it('fails corrupt gzip, and gzip read as plain text, as a format error', async () => {
    const compressed = gzipSync('a,b\n'.repeat(1000));
    await expect(readAll(compressed.subarray(0, compressed.length - 20), { format: 'csv', gzip: true })).rejects.toThrow(DatasetFormatError);
    await expect(readAll(Buffer.from('a,b\n1,2\n'), { format: 'csv', gzip: true })).rejects.toThrow(DatasetFormatError);
    await expect(readAll(compressed, csv)).rejects.toThrow('the file is gzip-compressed');
  });

  it('stops a decompression bomb after its first MiB, naming the limit', async () => {
    const bomb = gzipSync(Buffer.from('a\n' + '1\n'.repeat(2 * 1024 * 1024)));
    const read = readAll(bomb, { format: 'csv', gzip: true });
    await expect(read).rejects.toThrow(DatasetTooLargeError);
    await expect(read).rejects.toThrow(/expands more than 100 times .* \(limit MAX_GZIP_RATIO\)/);
    // Ordinary data, and a small file of any ratio, read as before.
    expect(await readAll(gzipSync('a\n' + '1\n'.repeat(100_000)), { format: 'csv', gzip: true })).toHaveLength(100_000);
  });

  it('fails when the file ends before the resume offset', async () => {
    const read = readAll(gzipSync('{"a":1}\n'), { format: 'jsonl', gzip: true, startOffset: 100 });
    await expect(read).rejects.toThrow('the file ends before the resume offset 100');
  });
});

describe('the input stream', () => {
  function failing(gzip: boolean): Readable {
    const head = Buffer.from('a,b\n1,2\n3,4\n');
    return new Readable({
      read() {
        if (this.readableLength === 0 && !this.destroyed) {
          this.push(gzip ? gzipSync(head).subarray(0, 10) : head);
          this.destroy(new Error('socket hang up'));
        }
      },
    });
  }

  it.each([false, true])('passes its error on rather than ending quietly (gzip %s)', async (gzip) => {
    const read = async () => {
      for await (const item of readRecords(failing(gzip), { format: 'csv', gzip })) void item;
    };
    await expect(read()).rejects.toThrow('socket hang up');
  });

  it.each([false, true])('is destroyed when the reader stops early (gzip %s)', async (gzip) => {
    const body = Buffer.from('a\n' + '1\n'.repeat(100_000));
    const input = streamOf(gzip ? gzipSync(body) : body, 1024);
    for await (const item of readRecords(input, { format: 'csv', gzip })) if (item.rowNumber === 3) break;
    await new Promise((resolve) => setImmediate(resolve));
    expect(input.destroyed).toBe(true);
  });
});

describe('resuming from a saved position', () => {
  const cell = fc.stringMatching(/^[a-z ,"é日\n]{0,6}$/).map((s) => s.replace(/\n/g, '\r\n'));
  const csvFile: fc.Arbitrary<CsvFile> = fc.record({
    columns: fc.integer({ min: 2, max: 4 }),
    rows: fc.array(fc.array(cell, { minLength: 4, maxLength: 4 }), { maxLength: 30 }),
    crlf: fc.boolean(),
    bom: fc.boolean(),
    trailingNewline: fc.boolean(),
    quoteAll: fc.boolean(),
  });
  const jsonFile = fc.array(
    fc.oneof(
      { weight: 6, arbitrary: fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }).map((o) => JSON.stringify(o)) },
      { weight: 1, arbitrary: fc.constantFrom('', '  ', 'oops', '[1]', '{"a":') },
    ),
    { maxLength: 30 },
  );

  interface CsvFile {
    columns: number;
    rows: string[][];
    crlf: boolean;
    bom: boolean;
    trailingNewline: boolean;
    quoteAll: boolean;
  }

  function csvText(file: CsvFile): { text: string; expected: Record<string, string>[] } {
    const quote = (field: string) => (file.quoteAll || /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field);
    const header = Array.from({ length: file.columns }, (_, i) => `c${i}`);
    const records = file.rows.map((row) => row.slice(0, file.columns));
    const newline = file.crlf ? '\r\n' : '\n';
    const lines = [header, ...records].map((fields) => fields.map(quote).join(','));
    const text = (file.bom ? '\ufeff' : '') + lines.join(newline) + (file.trailingNewline ? newline : '');
    return { text, expected: records.map((fields) => Object.fromEntries(header.map((name, i) => [name, fields[i] ?? '']))) };
  }

  /** Reads the whole file, then again from the end of every Nth record, as a retried batch would. */
  async function checkResume(text: string, options: ReadOptions, cut: number, chunkSize: number, utf16 = false): Promise<RecordItem[]> {
    // UTF-16 has its BOM in front always (the text's own BOM, if any, is that one).
    const bytes = utf16 ? Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text.replace(/^\ufeff/, ''), 'utf16le')]) : Buffer.from(text);
    const stored = options.gzip ? gzipSync(bytes) : bytes;
    const full = await readAll(stored, options, chunkSize);
    const at = Math.min(cut, full.length);
    const last = full[at - 1];
    const startOffset = last?.endOffset ?? 0;
    // A plain UTF-8 file resumes with a ranged read; gzip and UTF-16 files are read again from their first byte.
    const input = options.gzip || utf16 ? stored : bytes.subarray(startOffset);
    const resumed = await readAll(input, { ...options, startOffset, startRow: last?.rowNumber ?? 0, header: last?.header, encoding: last?.encoding }, chunkSize);
    expect(resumed).toEqual(full.slice(at));
    return full;
  }

  it.each([
    [false, false],
    [true, false],
    [false, true],
  ])('CSV: reading from the endOffset of row N yields exactly the rows after N (gzip %s, UTF-16 %s)', async (gzip, utf16) => {
    await fc.assert(
      fc.asyncProperty(csvFile, fc.nat(31), fc.integer({ min: 1, max: 64 }), async (file, cut, chunkSize) => {
        const { text, expected } = csvText(file);
        const full = await checkResume(text, { format: 'csv', gzip }, cut, chunkSize, utf16);
        expect(rows(full)).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it.each([false, true])('JSON Lines: reading from the endOffset of row N yields exactly the rows after N (gzip %s)', async (gzip) => {
    await fc.assert(
      fc.asyncProperty(jsonFile, fc.boolean(), fc.nat(31), fc.integer({ min: 1, max: 64 }), async (lines, crlf, cut, chunkSize) => {
        const text = lines.join(crlf ? '\r\n' : '\n');
        const full = await checkResume(text, { format: 'jsonl', gzip }, cut, chunkSize);
        const objects = lines.filter((line) => line.startsWith('{') && line.endsWith('}')).map((line) => JSON.parse(line) as unknown);
        expect(full.filter((item) => 'row' in item).map((item) => ('row' in item ? item.row : null))).toEqual(objects);
      }),
      { numRuns: 150 },
    );
  });
});

describe('a large file', () => {
  it('streams 1,000,000 CSV rows in bounded memory', async () => {
    const ROWS = 1_000_000;
    function* generate(): Generator<Buffer> {
      yield Buffer.from('id,name,amount\n');
      for (let start = 0; start < ROWS; start += 5_000) {
        let chunk = '';
        for (let i = start; i < start + 5_000; i++) chunk += `${i},"name ${i}, with comma",${i * 1.5}\n`;
        yield Buffer.from(chunk);
      }
    }
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    let count = 0;
    let peak = 0;
    let last: RecordItem | undefined;
    for await (const item of readRecords(Readable.from(generate()), csv)) {
      count++;
      last = item;
      if (count % 100_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    }
    expect(count).toBe(ROWS);
    expect(last && 'row' in last ? last.row : null).toEqual({ id: '999999', name: 'name 999999, with comma', amount: '1499998.5' });
    // The file is about 44 MB and its rows as objects well over 150 MB; streaming stays near 40 MB
    // of garbage between collections.
    expect(peak).toBeLessThan(100 * 1024 * 1024);
  }, 120_000);
});

describe('detectFormat', () => {
  it('reads the key suffix first, then the Content-Type', () => {
    expect(detectFormat('in/countries.csv')).toEqual({ format: 'csv', gzip: false });
    expect(detectFormat('in/Countries.CSV.GZ', 'application/octet-stream')).toEqual({ format: 'csv', gzip: true });
    expect(detectFormat('events.jsonl')).toEqual({ format: 'jsonl', gzip: false });
    expect(detectFormat('events.ndjson', 'text/plain')).toEqual({ format: 'jsonl', gzip: false });
    expect(detectFormat('events.jsonl.gz')).toEqual({ format: 'jsonl', gzip: true });
    expect(detectFormat('export', 'text/csv; charset=utf-8')).toEqual({ format: 'csv', gzip: false });
    expect(detectFormat('export', 'application/x-ndjson')).toEqual({ format: 'jsonl', gzip: false });
    expect(detectFormat('export.csv', 'application/gzip')).toEqual({ format: 'csv', gzip: true });
  });

  it('answers null when neither tells', () => {
    expect(detectFormat('report.pdf', 'application/pdf')).toBeNull();
    expect(detectFormat('data.json', 'application/json')).toBeNull();
    expect(detectFormat('archive.gz', 'application/gzip')).toBeNull();
  });
});
