import { Document, HeadingLevel, Packer, Paragraph, TextRun } from 'docx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempFolder } from '../../test/support/fixtures.js';
import { zipOf } from '../../test/support/zip.js';
import { CorruptContentError, extractFile, UnsupportedContentError } from './index.js';

let files: Awaited<ReturnType<typeof tempFolder>>;

beforeAll(async () => {
  files = await tempFolder('harvester-docx-');
});

afterAll(async () => {
  await files.remove();
});

const file = (name: string, bytes: Uint8Array): Promise<string> => files.write(name, bytes);

/** A stored (uncompressed) zip of text entries. */
function storedZip(entries: Record<string, string>): Uint8Array {
  return zipOf(Object.entries(entries).map(([name, content]) => ({ name, data: Buffer.from(content) })));
}

async function makeDocx(): Promise<Uint8Array> {
  const document = new Document({
    title: 'Harvest Notes',
    creator: 'Ada Lovelace',
    sections: [
      {
        children: [
          new Paragraph({ text: 'Harvest Notes', heading: HeadingLevel.HEADING_1 }),
          new Paragraph({ children: [new TextRun('The first paragraph mentions '), new TextRun({ text: 'sorghum', bold: true }), new TextRun('.')] }),
          new Paragraph('Zweiter Absatz: Größe und Gewicht.'),
        ],
      },
    ],
  });
  return Packer.toBuffer(document);
}

describe('extractFile on DOCX', () => {
  it('returns the paragraphs separated by blank lines', async () => {
    // An unhelpful key and Content-Type: the zip's [Content_Types].xml gives it away.
    const path = await file('notes.bin', await makeDocx());
    const result = await extractFile(path, { key: 'uploads/notes.bin', contentType: 'application/octet-stream' });
    expect(result.format).toBe('docx');
    expect(result.text).toBe('Harvest Notes\n\nThe first paragraph mentions sorghum.\n\nZweiter Absatz: Größe und Gewicht.');
    expect(result.metadata).toMatchObject({ paragraphs: 3, words: 12 });
  });

  it('refuses a zip that is not a DOCX as an archive', async () => {
    // file-type names it a zip, and nothing about the upload claims otherwise: an unsupported type.
    const path = await file('bundle.zip', storedZip({ 'readme.txt': 'hello', 'data/values.csv': 'a,b\n1,2\n' }));
    const error: unknown = await extractFile(path, { key: 'bundle.zip', contentType: 'application/zip' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedContentError);
    expect((error as UnsupportedContentError).reason).toBe('detected zip (application/zip)');
  });

  it('calls a zip uploaded as .docx without word/document.xml corrupt', async () => {
    // The upload claims to be a Word document; it is a readable zip but not a readable DOCX.
    const path = await file('letter.docx', storedZip({ 'readme.txt': 'hello' }));
    const error: unknown = await extractFile(path, { key: 'letter.docx' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptContentError);
    expect((error as CorruptContentError).format).toBe('docx');
  });

  it('calls a truncated DOCX corrupt', async () => {
    const bytes = await makeDocx();
    const path = await file('cut.docx', bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(extractFile(path, { key: 'cut.docx' })).rejects.toThrow(CorruptContentError);
  });
});
