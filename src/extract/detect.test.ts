import { describe, expect, it } from 'vitest';
import { detectFormat, formatFromHints, looksLikeText } from './detect.js';
import { UnsupportedContentError } from './errors.js';

const utf8 = (text: string) => new TextEncoder().encode(text);
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]);
const GZIP = Uint8Array.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03, 1, 2, 3]);
const PDF_HEAD = utf8('%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n');

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('detectFormat', () => {
  it('trusts magic bytes over a wrong Content-Type and extension', async () => {
    expect(await detectFormat(PDF_HEAD, { key: 'notes.txt', contentType: 'text/plain' })).toBe('pdf');
    const error = await rejection(detectFormat(PNG, { key: 'notes.txt', contentType: 'text/plain; charset=utf-8' }));
    expect(error).toBeInstanceOf(UnsupportedContentError);
    expect((error as UnsupportedContentError).reason).toBe('detected png (image/png)');
  });

  it('refuses other recognised binary types, naming them', async () => {
    const error = await rejection(detectFormat(GZIP, { key: 'data.json', contentType: 'application/json' }));
    expect((error as UnsupportedContentError).reason).toMatch(/^detected gz /);
  });

  it('uses the Content-Type, ignoring parameters', async () => {
    const body = utf8('plain words');
    expect(await detectFormat(body, { key: 'upload', contentType: 'text/markdown; charset=UTF-8' })).toBe('markdown');
    expect(await detectFormat(body, { key: 'upload', contentType: 'application/xhtml+xml' })).toBe('html');
    expect(await detectFormat(body, { key: 'upload', contentType: 'application/vnd.api+json' })).toBe('json');
    expect(await detectFormat(body, { key: 'upload.md', contentType: 'text/csv' })).toBe('csv');
  });

  it('falls back to the extension when the Content-Type says nothing', async () => {
    const body = utf8('a,b\n1,2\n');
    expect(await detectFormat(body, { key: 'dir/Report.CSV', contentType: 'application/octet-stream' })).toBe('csv');
    expect(await detectFormat(body, { key: 'x.markdown', contentType: 'binary/octet-stream' })).toBe('markdown');
    expect(await detectFormat(body, { key: 'page.htm' })).toBe('html');
    expect(await detectFormat(body, { key: 'server.log' })).toBe('text');
    // text/plain is the generic answer of many uploaders; a telling extension is more specific.
    expect(await detectFormat(body, { key: 'data.json', contentType: 'text/plain' })).toBe('json');
  });

  it('sniffs UTF-8 text when neither hint tells', async () => {
    expect(await detectFormat(utf8('Grüße aus Köln — 日本語'), { key: 'upload.bin' })).toBe('text');
    expect(await detectFormat(utf8('<?xml version="1.0"?><a/>'), { key: 'feed' })).toBe('text');
  });

  it('refuses unknown binary content', async () => {
    const junk = Uint8Array.from({ length: 512 }, (_, i) => (i * 7919) % 251); // includes NULs
    const error = await rejection(detectFormat(junk, { key: 'blob' }));
    expect(error).toBeInstanceOf(UnsupportedContentError);
    expect((error as UnsupportedContentError).reason).toBe('binary content of unknown type');
    await expect(detectFormat(Uint8Array.from([0xfd, 0x41, 0xc0, 0x20]), { key: 'blob' })).rejects.toThrow(UnsupportedContentError);
  });

  it('does not take text for a binary type that shares its first letters when the hints say text', async () => {
    // file-type reads "MZ" as a Windows executable and "BM" as a bitmap.
    expect(await detectFormat(utf8('MZ Holdings annual report'), { key: 'report.txt' })).toBe('text');
    expect(await detectFormat(utf8('BMW,Model\nX5,2024\n'), { key: 'cars.csv' })).toBe('csv');
    await expect(detectFormat(utf8('MZ Holdings annual report'), { key: 'report.bin' })).rejects.toThrow(/detected exe/);
  });

  it('calls a zip a DOCX only when the upload says so (mammoth then checks)', async () => {
    const zipHead = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0, ...new Array<number>(40).fill(0)]);
    await expect(detectFormat(zipHead, { key: 'archive.zip' })).rejects.toThrow(/detected zip/);
    expect(await detectFormat(zipHead, { key: 'letter.docx' })).toBe('docx');
  });
});

describe('formatFromHints', () => {
  it('names no format for unknown types and extensions', () => {
    expect(formatFromHints({ key: 'photo.jpeg', contentType: 'image/jpeg' })).toBeUndefined();
    expect(formatFromHints({ key: 'file.constructor' })).toBeUndefined();
    expect(formatFromHints({ key: '.md' })).toBeUndefined(); // a dotfile, not an extension
    expect(formatFromHints({ key: 'script.py', contentType: 'text/x-python' })).toBe('text');
  });
});

describe('looksLikeText', () => {
  it('accepts a multi-byte character cut off at the end of the head', () => {
    const bytes = utf8('naïve');
    expect(looksLikeText(bytes.subarray(0, 3))).toBe(true);
  });

  it('rejects NULs and invalid UTF-8', () => {
    expect(looksLikeText(Uint8Array.from([0x61, 0, 0x62]))).toBe(false);
    expect(looksLikeText(Uint8Array.from([0x61, 0xc3, 0x28]))).toBe(false);
  });
});
