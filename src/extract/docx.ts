import { CorruptContentError, errorMessage } from './errors.js';
import type { ExtractContext, RawContent } from './types.js';

/**
 * Raw text of a Word document, paragraphs separated by blank lines. mammoth is loaded on first use.
 * It rejects both a broken zip and a zip without `word/document.xml`: either way the file claimed
 * to be a DOCX and is not readable as one.
 */
export async function extractDocx(bytes: Uint8Array, context: ExtractContext): Promise<RawContent> {
  const { default: mammoth } = await import('mammoth');
  context.signal?.throwIfAborted();
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const result = await mammoth.extractRawText({ buffer }).catch((error: unknown) => {
    throw new CorruptContentError('docx', errorMessage(error), { cause: error });
  });
  const paragraphs = result.value.split(/\n{2,}/).filter((paragraph) => paragraph.trim() !== '').length;
  return { text: result.value, metadata: { paragraphs } };
}
