import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { CorruptContentError, errorMessage, UnsupportedContentError } from './errors.js';
import { normaliseText } from './normalise.js';
import type { ExtractContext, Metadata, RawContent } from './types.js';

/**
 * Text of every page, pages separated by a blank line. pdf.js is loaded on first use: it is large and
 * most workers never see a PDF. Its Node build runs the parser in-process ("fake worker"), and
 * nothing here needs fonts, eval or network fetches, so those are off.
 */
export async function extractPdf(bytes: Uint8Array, context: ExtractContext): Promise<RawContent> {
  const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const task = getDocument({
    data: bytes,
    disableFontFace: true,
    useSystemFonts: false,
    isEvalSupported: false,
    useWorkerFetch: false,
    verbosity: 0, // errors only: pdf.js otherwise warns on stdout about every recoverable quirk
  });
  try {
    const document = await task.promise.catch((error: unknown) => {
      throw loadFailure(error);
    });
    const pages: string[] = [];
    for (let number = 1; number <= document.numPages; number++) {
      context.signal?.throwIfAborted();
      // Normalised per page so the budget counts roughly what the caller will get.
      const text = normaliseText(await pageText(document, number));
      context.budget.spend(text.length + 2);
      pages.push(text);
    }
    const { info } = await document.getMetadata().catch((error: unknown) => {
      throw new CorruptContentError('pdf', `unreadable metadata: ${errorMessage(error)}`, { cause: error });
    });
    return { text: pages.join('\n\n'), metadata: { pages: document.numPages, ...infoFields(info) } };
  } finally {
    await task.destroy();
  }
}

async function pageText(document: PDFDocumentProxy, number: number): Promise<string> {
  try {
    const page = await document.getPage(number);
    const content = await page.getTextContent();
    page.cleanup();
    let text = '';
    for (const item of content.items) {
      // Marked-content markers have no `str`; they carry structure, not text.
      if ('str' in item) text += item.hasEOL ? `${item.str}\n` : item.str;
    }
    return text;
  } catch (error) {
    throw new CorruptContentError('pdf', `page ${number}: ${errorMessage(error)}`, { cause: error });
  }
}

function loadFailure(error: unknown): Error {
  if (error instanceof Error && error.name === 'PasswordException') {
    return new UnsupportedContentError('password-protected PDF', { cause: error });
  }
  return new CorruptContentError('pdf', errorMessage(error), { cause: error });
}

function infoFields(info: unknown): Metadata {
  const fields: Metadata = {};
  if (typeof info !== 'object' || info === null) return fields;
  for (const [from, to] of [['Title', 'title'], ['Author', 'author']] as const) {
    const value: unknown = (info as Record<string, unknown>)[from];
    if (typeof value === 'string' && value.trim() !== '') fields[to] = value.trim();
  }
  return fields;
}
