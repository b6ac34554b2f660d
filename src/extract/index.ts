/**
 * src/extract: text and metadata from stored files (text, Markdown, HTML, JSON, CSV, PDF, DOCX),
 * with their limits; called by the extract activity in the worker process.
 */
import { extractCsv } from './csv.js';
import { decodeText } from './decode.js';
import { extractDocx } from './docx.js';
import { extractHtml } from './html.js';
import { extractJson } from './json.js';
import { extractMarkdown } from './markdown.js';
import { countWords, createTextBudget, DEFAULT_MAX_TEXT_CHARS, normaliseText, tooMuchText } from './normalise.js';
import { extractPdf } from './pdf.js';
import { readDetected } from './read.js';
import { extractPlainText } from './text.js';
import type { ContentFormat, ExtractContext, ExtractedContent, ExtractHints, ExtractOptions, RawContent } from './types.js';

export type { ContentFormat, ExtractedContent, ExtractHints, ExtractOptions, Metadata } from './types.js';
export { CorruptContentError, UnsupportedContentError } from './errors.js';
export { detectFormat } from './detect.js';
export { DEFAULT_MAX_TEXT_CHARS } from './normalise.js';

/**
 * Text and metadata from a file on disk. Throws UnsupportedContentError or CorruptContentError
 * when retrying cannot help; the signal's reason when aborted; anything else is an I/O problem.
 * Metadata always has `characters` and `words` (whitespace-separated) of the returned text.
 */
export async function extractFile(path: string, hints: ExtractHints, options: ExtractOptions = {}): Promise<ExtractedContent> {
  const { signal } = options;
  const maxTextChars = options.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS;
  if (!Number.isSafeInteger(maxTextChars) || maxTextChars < 0) {
    throw new RangeError(`maxTextChars must be a non-negative integer, got ${maxTextChars}`);
  }
  signal?.throwIfAborted();
  const { format, bytes } = await readDetected(path, hints, signal);
  signal?.throwIfAborted();
  const raw = await extractRaw(format, bytes, { signal, budget: createTextBudget(maxTextChars) });
  signal?.throwIfAborted();
  const text = normaliseText(raw.text);
  if (text.length > maxTextChars) throw tooMuchText(maxTextChars);
  return { format, text, metadata: { ...raw.metadata, characters: text.length, words: countWords(text) } };
}

async function extractRaw(format: ContentFormat, bytes: Uint8Array, context: ExtractContext): Promise<RawContent> {
  switch (format) {
    case 'pdf':
      return extractPdf(bytes, context);
    case 'docx':
      return extractDocx(bytes, context);
    case 'text':
      return extractPlainText(decodeText(bytes, format));
    case 'markdown':
      return extractMarkdown(decodeText(bytes, format), context);
    case 'html':
      return extractHtml(decodeText(bytes, format));
    case 'json':
      return extractJson(decodeText(bytes, format), context);
    case 'csv':
      return extractCsv(decodeText(bytes, format), context);
  }
}
