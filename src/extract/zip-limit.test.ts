import { deflateRawSync } from 'node:zlib';
import { Document, Packer, Paragraph } from 'docx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempFolder } from '../../test/support/fixtures.js';
import { zipOf } from '../../test/support/zip.js';
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

/** A zip of deflated entries; `declared` overrides an entry's stated uncompressed size. */
function deflatedZip(entries: Array<{ name: string; content: Buffer; declared?: number }>): Buffer {
  return zipOf(entries.map((e) => ({ name: e.name, data: deflateRawSync(e.content), deflated: true, size: e.declared ?? e.content.length })));
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
