import { crc32 } from 'node:zlib';
import { Document, HeadingLevel, Packer, Paragraph, TextRun } from 'docx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempFolder } from '../../test/support/fixtures.js';
import { CorruptContentError, extractFile, UnsupportedContentError } from './index.js';

let files: Awaited<ReturnType<typeof tempFolder>>;

beforeAll(async () => {
  files = await tempFolder('harvester-docx-');
});

afterAll(async () => {
  await files.remove();
});

const file = (name: string, bytes: Uint8Array): Promise<string> => files.write(name, bytes);

/** A minimal stored (uncompressed) zip, so the test needs no zip library. */
function storedZip(entries: Record<string, string>): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const nameBytes = Buffer.from(name);
    const data = Buffer.from(content);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
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
