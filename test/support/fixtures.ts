import { Document, Packer, Paragraph } from 'docx';
import { PDFDocument, StandardFonts } from 'pdf-lib';

/** Test documents generated on the spot, so nothing binary is checked in or downloaded. */

export const ARTICLE = [
  'Temporal workflows make data pipelines durable.',
  'A worker that crashes in the middle of a download is replaced, and the download starts again.',
  'Retries, timeouts and the history of every run come from the workflow engine instead of hand-written queues.',
  'Operators read the status of each pipeline run through the API and the Temporal Web UI.',
].join(' ');

export async function makePdf(pages: string[], title = 'Harvester test document'): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(title);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const text of pages) {
    const page = doc.addPage([595, 842]);
    page.drawText(text, { x: 40, y: 780, size: 11, font, maxWidth: 515, lineHeight: 14 });
  }
  return doc.save();
}

export async function makeDocx(paragraphs: string[]): Promise<Uint8Array> {
  const doc = new Document({ sections: [{ children: paragraphs.map((text) => new Paragraph(text)) }] });
  return new Uint8Array(await Packer.toBuffer(doc));
}
