import { CorruptContentError, errorMessage, UnsupportedContentError } from './errors.js';
import type { ExtractContext, RawContent } from './types.js';
import { zipExpansion } from './zip-limit.js';

const MiB = 1024 * 1024;
/**
 * How much a DOCX may expand beyond its own size when unzipped: its XML is mostly markup around
 * the text, so ten bytes per character of the text limit (at least 64 MiB) is ample for a real
 * document, and a zip bomb (deflate reaches about 1,000:1) is refused before mammoth inflates it.
 */
export function docxMaxExpansion(maxTextChars: number): number {
  return Math.max(64 * MiB, 10 * maxTextChars);
}

/**
 * Raw text of a Word document, paragraphs separated by blank lines. mammoth is loaded on first use.
 * It rejects both a broken zip and a zip without `word/document.xml`: either way the file claimed
 * to be a DOCX and is not readable as one.
 */
export async function extractDocx(bytes: Uint8Array, context: ExtractContext): Promise<RawContent> {
  const expansion = await zipExpansion(bytes, docxMaxExpansion(context.budget.maxChars), context.signal);
  const over = expansion.actual === undefined ? expansion.declared : expansion.actual;
  if (over > expansion.limit) {
    const how = expansion.actual === undefined ? `its zip directory declares ${expansion.declared}` : `found by inflating its parts; its zip directory declares ${expansion.declared}`;
    throw new UnsupportedContentError(`the DOCX unzips to more than ${expansion.limit} bytes (${how}): refused as a zip bomb`);
  }
  const { default: mammoth } = await import('mammoth');
  context.signal?.throwIfAborted();
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const result = await mammoth.extractRawText({ buffer }).catch((error: unknown) => {
    throw new CorruptContentError('docx', errorMessage(error), { cause: error });
  });
  const paragraphs = result.value.split(/\n{2,}/).filter((paragraph) => paragraph.trim() !== '').length;
  return { text: result.value, metadata: { paragraphs } };
}
