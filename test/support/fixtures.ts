import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Document, Packer, Paragraph } from 'docx';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import type { MappingSpec } from '../../src/objectify/spec.js';

/** Test documents generated on the spot, so nothing binary is checked in or downloaded. */

export const ARTICLE = [
  'Temporal workflows make data pipelines durable.',
  'A worker that crashes in the middle of a download is replaced, and the download starts again.',
  'Retries, timeouts and the history of every run come from the workflow engine instead of hand-written queues.',
  'Operators read the status of each pipeline run through the API and the Temporal Web UI.',
].join(' ');

/** A mapping of `id,value` rows: a string key and an integer, both required. */
export function keyValueSpec(objectType: string): MappingSpec {
  return {
    objectType,
    primaryKey: ['id'],
    strict: false,
    fields: [
      { source: 'id', property: 'id', type: 'string', required: true, transform: [] },
      { source: 'value', property: 'value', type: 'integer', required: true, transform: [] },
    ],
  };
}

/** A PDF whose pages hold the given lines (long lines wrap), with a title and optional author. */
export async function makePdf(
  pages: string[][],
  meta: { title?: string; author?: string } = {},
): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(meta.title ?? 'Harvester test document');
  if (meta.author) doc.setAuthor(meta.author);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = doc.addPage([595, 842]);
    lines.forEach((line, i) => page.drawText(line, { x: 50, y: 780 - i * 20, size: 12, font, maxWidth: 495, lineHeight: 14 }));
  }
  return doc.save();
}

export async function makeDocx(paragraphs: string[]): Promise<Uint8Array> {
  const doc = new Document({ sections: [{ children: paragraphs.map((text) => new Paragraph(text)) }] });
  return new Uint8Array(await Packer.toBuffer(doc));
}

/** A temp folder for one test file's inputs: `write` returns the path, `remove` deletes it all. */
export async function tempFolder(prefix: string): Promise<{ write(name: string, bytes: string | Uint8Array): Promise<string>; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return {
    async write(name, bytes) {
      const path = join(dir, name);
      await writeFile(path, bytes);
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Prose of at least `chars` characters in short paragraphs, different for each seed: text for model windows. */
export function ledgerProse(chars: number, seed: string): string {
  const paragraphs: string[] = [];
  for (let i = 0, length = 0; length < chars; i++) {
    const p = `Section ${i} of the ${seed} ledger lists ${i * 3} barrels of cider, pressed in the old mill by the river and sold at the autumn market.`;
    paragraphs.push(p);
    length += p.length + 2;
  }
  return paragraphs.join('\n\n');
}
