import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempFolder } from '../../test/support/fixtures.js';
import { CorruptContentError, extractFile, UnsupportedContentError, type ExtractHints } from './index.js';

let files: Awaited<ReturnType<typeof tempFolder>>;
let counter = 0;

beforeAll(async () => {
  files = await tempFolder('harvester-extract-');
});

afterAll(async () => {
  await files.remove();
});

async function extract(content: string | Uint8Array, hints: ExtractHints, maxTextChars?: number) {
  const path = await files.write(`file-${++counter}`, content);
  return extractFile(path, hints, { maxTextChars });
}

async function failure(content: string | Uint8Array, hints: ExtractHints): Promise<unknown> {
  return extract(content, hints).then(
    () => expect.fail('expected extraction to fail'),
    (error: unknown) => error,
  );
}

describe('plain text', () => {
  it('normalises line ends, NULs and trailing whitespace', async () => {
    const result = await extract('first line  \r\nsecond\0 line\r\n\r\n\r\n\r\nthird\n\n', { key: 'a.txt' });
    expect(result).toEqual({
      format: 'text',
      text: 'first line\nsecond line\n\nthird',
      metadata: { encoding: 'utf-8', characters: 29, words: 5 },
    });
  });

  it('preserves unicode and strips a UTF-8 BOM', async () => {
    const text = 'Grüße, 東京 and emoji 🌾 — ½ ﬁ';
    const bom = Uint8Array.from([0xef, 0xbb, 0xbf]);
    const result = await extract(Buffer.concat([bom, Buffer.from(text)]), { key: 'u.txt', contentType: 'text/plain; charset=utf-8' });
    expect(result.text).toBe(text);
  });

  it('reads UTF-16 with a byte-order mark', async () => {
    const body = Buffer.from('\ufeffhello wörld', 'utf16le');
    const result = await extract(body, { key: 'w.txt' });
    expect(result).toMatchObject({ format: 'text', text: 'hello wörld', metadata: { encoding: 'utf-16le' } });
  });

  it('calls invalid UTF-8 in a text file corrupt', async () => {
    const error = await failure(Buffer.from([0x68, 0x69, 0x20, 0xc3, 0x28, 0x21]), { key: 'bad.txt' });
    expect(error).toBeInstanceOf(CorruptContentError);
    expect((error as CorruptContentError).format).toBe('text');
  });

  it('refuses text longer than maxTextChars', async () => {
    await expect(extract('x'.repeat(101), { key: 'big.txt' }, 100)).rejects.toThrow(new UnsupportedContentError('extracted text exceeds 100 characters'));
    expect((await extract('x'.repeat(100), { key: 'ok.txt' }, 100)).text).toHaveLength(100);
  });

  it('returns empty text for an empty file', async () => {
    expect(await extract('', { key: 'empty' })).toEqual({ format: 'text', text: '', metadata: { encoding: 'utf-8', characters: 0, words: 0 } });
  });

  it('sniffs text without a telling key or type', async () => {
    expect((await extract('just words', { key: 'upload', contentType: 'application/octet-stream' })).format).toBe('text');
  });
});

describe('binary content', () => {
  it('refuses a PNG whatever it claims to be', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
    const error = await failure(png, { key: 'photo.txt', contentType: 'text/plain' });
    expect(error).toBeInstanceOf(UnsupportedContentError);
    expect((error as UnsupportedContentError).reason).toBe('detected png (image/png)');
  });

  it('refuses random bytes with NULs', async () => {
    const junk = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 2_654_435_761) % 256);
    const error = await failure(junk, { key: 'blob.bin' });
    expect((error as UnsupportedContentError).reason).toBe('binary content of unknown type');
  });
});

describe('markdown', () => {
  it('renders to plain text and takes the first top-level heading as title', async () => {
    const source = '# Crop *Rotation*\n\nPlant **legumes** after [wheat](https://example.com).\n\n- beans\n- peas\n\n| crop | yield |\n| --- | --- |\n| oats | 3.1 |\n';
    const result = await extract(source, { key: 'notes.md' });
    expect(result.format).toBe('markdown');
    expect(result.text).toBe('Crop Rotation\n\nPlant legumes after wheat.\n\n * beans\n * peas\n\ncrop\tyield\noats\t3.1');
    expect(result.metadata).toMatchObject({ title: 'Crop Rotation' });
  });
});

describe('html', () => {
  it('returns the body text and the title, without scripts, styles or link targets', async () => {
    const source = `<!doctype html><html><head><title>Field &amp; Farm</title><style>p { color: red }</style></head>
      <body><h1>Harvest</h1><p>Yields <a href="https://example.com/x">rose</a> this year.</p>
      <script>alert("no")</script><table><tr><th>Crop</th><th>t/ha</th></tr><tr><td>Rye</td><td>4.2</td></tr></table></body></html>`;
    const result = await extract(source, { key: 'page', contentType: 'text/html; charset=utf-8' });
    expect(result.format).toBe('html');
    expect(result.text).toBe('Harvest\n\nYields rose this year.\n\nCrop\tt/ha\nRye\t4.2');
    expect(result.metadata).toMatchObject({ title: 'Field & Farm' });
  });
});

describe('json', () => {
  it('lists string and number leaves with their paths', async () => {
    const source = JSON.stringify({ name: 'Field 7', area: 12.5, crops: [{ kind: 'wheat' }, { kind: 'rye' }], 'soil type': 'loam', organic: true, note: null });
    const result = await extract(source, { key: 'field.json' });
    expect(result.format).toBe('json');
    expect(result.text).toBe('name: Field 7\narea: 12.5\ncrops[0].kind: wheat\ncrops[1].kind: rye\n["soil type"]: loam');
    expect(result.metadata).toMatchObject({ type: 'object', keys: 6, leaves: 5 });
  });

  it('describes a top-level array and a bare value', async () => {
    expect((await extract('[1, "two"]', { key: 'a.json' })).metadata).toMatchObject({ type: 'array', items: 2, leaves: 2 });
    expect((await extract('"solo"', { key: 's.json' })).text).toBe('$: solo');
  });

  it('calls invalid JSON corrupt', async () => {
    const error = await failure('{"name": "Field 7",', { key: 'x', contentType: 'application/json' });
    expect(error).toBeInstanceOf(CorruptContentError);
    expect((error as CorruptContentError).format).toBe('json');
  });

  it('handles nesting deeper than the call stack', async () => {
    const depth = 50_000;
    const result = await extract(`${'['.repeat(depth)}"deep"${']'.repeat(depth)}`, { key: 'deep.json' });
    expect(result.text.endsWith(': deep')).toBe(true);
  });
});

describe('csv', () => {
  it('keeps rows as tab-separated lines and counts rows and columns', async () => {
    const source = 'crop,region,notes\nwheat,north,"dry, then wet"\nrye,south,"line one\nline two"\n';
    const result = await extract(source, { key: 'crops.csv' });
    expect(result.format).toBe('csv');
    expect(result.text).toBe('crop\tregion\tnotes\nwheat\tnorth\tdry, then wet\nrye\tsouth\tline one line two');
    expect(result.metadata).toMatchObject({ rows: 2, columns: 3 });
  });

  it('recognises semicolon-separated files', async () => {
    const result = await extract('crop;yield\nwheat;7,5\n', { key: 'eu.csv' });
    expect(result.text).toBe('crop\tyield\nwheat\t7,5');
    expect(result.metadata).toMatchObject({ rows: 1, columns: 2 });
  });

  it('calls an unclosed quote corrupt', async () => {
    const error = await failure('crop,notes\nwheat,"never closed\nrye,fine\n', { key: 'bad.csv' });
    expect(error).toBeInstanceOf(CorruptContentError);
    expect((error as CorruptContentError).format).toBe('csv');
  });
});

describe('options', () => {
  it('rejects an impossible maxTextChars', async () => {
    await expect(extract('x', { key: 'x.txt' }, -1)).rejects.toThrow(RangeError);
  });
});
