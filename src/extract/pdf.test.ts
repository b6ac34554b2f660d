import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePdf, tempFolder } from '../../test/support/fixtures.js';
import { CorruptContentError, extractFile, UnsupportedContentError } from './index.js';

let files: Awaited<ReturnType<typeof tempFolder>>;
let pdfBytes: Uint8Array;

beforeAll(async () => {
  files = await tempFolder('harvester-pdf-');
  pdfBytes = await makePdf([['Wheat yields rose sharply.', 'Barley held steady.'], ['Second page: outlook for the autumn.']], {
    title: 'Quarterly Harvest Report',
    author: 'Ada Lovelace',
  });
});

afterAll(async () => {
  await files.remove();
});

const file = (name: string, bytes: Uint8Array): Promise<string> => files.write(name, bytes);

describe('extractFile on PDF', () => {
  it('returns the text of each page, separated by a blank line, with pages, title and author', async () => {
    // The wrong Content-Type and extension lose to the magic bytes.
    const result = await extractFile(await file('report.pdf', pdfBytes), { key: 'uploads/report.txt', contentType: 'text/plain' });
    expect(result.format).toBe('pdf');
    expect(result.text).toBe('Wheat yields rose sharply.\nBarley held steady.\n\nSecond page: outlook for the autumn.');
    expect(result.metadata).toMatchObject({ pages: 2, title: 'Quarterly Harvest Report', author: 'Ada Lovelace', words: 13 });
  });

  it('calls a PDF cut in half corrupt', async () => {
    const path = await file('half.pdf', pdfBytes.subarray(0, Math.floor(pdfBytes.length / 2)));
    const error: unknown = await extractFile(path, { key: 'half.pdf' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptContentError);
    expect((error as CorruptContentError).format).toBe('pdf');
  });

  it('calls bytes that only claim to be a PDF corrupt', async () => {
    const path = await file('fake.pdf', new TextEncoder().encode('this is not a pdf at all'));
    await expect(extractFile(path, { key: 'fake.pdf', contentType: 'application/pdf' })).rejects.toThrow(CorruptContentError);
  });

  it('refuses text beyond maxTextChars instead of truncating it', async () => {
    const path = await file('long.pdf', pdfBytes);
    await expect(extractFile(path, { key: 'long.pdf' }, { maxTextChars: 30 })).rejects.toThrow(
      new UnsupportedContentError('extracted text exceeds 30 characters'),
    );
  });

  it('stops when the signal is aborted', async () => {
    const path = await file('abort.pdf', pdfBytes);
    const controller = new AbortController();
    controller.abort(new Error('cancelled by test'));
    await expect(extractFile(path, { key: 'abort.pdf' }, { signal: controller.signal })).rejects.toThrow('cancelled by test');
  });
});
