import { deflateRawSync } from 'node:zlib';
import { Document, Packer, Paragraph } from 'docx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempFolder } from '../../test/support/fixtures.js';
import { extractFile, UnsupportedContentError } from './index.js';
import { zipExpansion } from './zip-limit.js';

let files: Awaited<ReturnType<typeof tempFolder>>;

beforeAll(async () => {
  files = await tempFolder('harvester-zip-limit-');
});

afterAll(async () => {
  await files.remove();
});

const MiB = 1024 * 1024;

/** A zip of deflated entries; `declared` overrides an entry's stated uncompressed size (CRCs are 0: nothing here checks them). */
function deflatedZip(entries: Array<{ name: string; content: Buffer; declared?: number }>): Buffer {
  const parts: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  for (const { name, content, declared } of entries) {
    const nameBytes = Buffer.from(name);
    const data = deflateRawSync(content);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(declared ?? content.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(declared ?? content.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    parts.push(local, nameBytes, data);
    directory.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const centralBytes = Buffer.concat(directory);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, centralBytes, end]);
}

describe('zipExpansion', () => {
  it('measures a real DOCX well inside the limit', async () => {
    const docx = await Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph('Hello.')] }] }));
    const { declared, actual, limit } = await zipExpansion(docx, MiB);
    expect(actual).toBe(declared);
    expect(actual).toBeLessThan(limit);
  });

  it('stops at the declared sizes when they pass the limit, and inflates when they lie', async () => {
    const zeros = Buffer.alloc(8 * MiB);
    const honest = await zipExpansion(deflatedZip([{ name: 'a.xml', content: zeros }]), MiB);
    expect(honest).toEqual({ declared: 8 * MiB, limit: expect.any(Number) as unknown });
    const lying = await zipExpansion(deflatedZip([{ name: 'a.xml', content: zeros, declared: 10 }]), MiB);
    expect(lying.declared).toBe(10);
    expect(lying.actual).toBeGreaterThan(lying.limit);
    expect(lying.actual).toBeLessThan(lying.limit + MiB);
  });

  it('finds nothing to measure in what is not a zip', async () => {
    expect(await zipExpansion(Buffer.from('not a zip at all'), MiB)).toEqual({ declared: 0, actual: 0, limit: 16 + MiB });
  });
});

describe('extractFile on a DOCX zip bomb', () => {
  it('refuses it before mammoth unzips it, even when its directory understates the sizes', async () => {
    const bomb = deflatedZip([
      { name: '[Content_Types].xml', content: Buffer.from('<Types/>') },
      { name: 'word/document.xml', content: Buffer.alloc(128 * MiB, 0x20), declared: 1000 },
    ]);
    expect(bomb.length).toBeLessThan(MiB);
    const path = await files.write('bomb.docx', bomb);
    const error: unknown = await extractFile(path, { key: 'bomb.docx' }, { maxTextChars: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedContentError);
    expect((error as Error).message).toMatch(/^unsupported content: the DOCX unzips to more than \d+ bytes \(found by inflating its parts; its zip directory declares 1008\): refused as a zip bomb$/);
  });
});
