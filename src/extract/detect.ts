import { fileTypeFromBuffer, fileTypeFromFile, type FileTypeResult } from 'file-type';
import { UnsupportedContentError } from './errors.js';
import type { ContentFormat, ExtractHints } from './types.js';

/** Enough bytes for every signature file-type knows except what sits deep inside a zip. */
export const HEAD_BYTES = 4100;

const TEXT_FORMATS: ReadonlySet<ContentFormat> = new Set(['text', 'markdown', 'html', 'json', 'csv']);

const CONTENT_TYPES: ReadonlyMap<string, ContentFormat> = new Map(Object.entries({
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'application/json': 'json',
  'text/json': 'json',
  'text/csv': 'csv',
  'application/csv': 'csv',
  'text/comma-separated-values': 'csv',
  'application/pdf': 'pdf',
  'application/x-pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
} satisfies Record<string, ContentFormat>));

const EXTENSIONS: ReadonlyMap<string, ContentFormat> = new Map(Object.entries({
  txt: 'text',
  text: 'text',
  log: 'text',
  md: 'markdown',
  markdown: 'markdown',
  html: 'html',
  htm: 'html',
  xhtml: 'html',
  json: 'json',
  csv: 'csv',
  pdf: 'pdf',
  docx: 'docx',
} satisfies Record<string, ContentFormat>));

/**
 * Decides the format from the first bytes of a file and what the upload says about itself.
 * Async because file-type has no synchronous API.
 */
export async function detectFormat(head: Uint8Array, hints: ExtractHints): Promise<ContentFormat> {
  return classify(await fileTypeFromBuffer(head), head, hints);
}

/**
 * As detectFormat, but a zip gets a second look over the whole file: a DOCX only shows itself in
 * `[Content_Types].xml`, which is often beyond the head. file-type seeks past the other entries.
 */
export async function detectFileFormat(path: string, head: Uint8Array, size: number, hints: ExtractHints): Promise<ContentFormat> {
  let magic = await fileTypeFromBuffer(head);
  if (magic?.ext === 'zip' && size > head.byteLength) {
    magic = (await fileTypeFromFile(path)) ?? magic;
  }
  return classify(magic, head, hints);
}

export function classify(magic: FileTypeResult | undefined, head: Uint8Array, hints: ExtractHints): ContentFormat {
  const claimed = formatFromHints(hints);
  if (magic !== undefined && !isTextual(magic)) {
    if (magic.ext === 'pdf') return 'pdf';
    if (magic.ext === 'docx') return 'docx';
    // From the head alone a DOCX can look like a plain zip; mammoth tells the two apart.
    if (magic.ext === 'zip' && claimed === 'docx') return 'docx';
    // Short signatures ("MZ" → exe, "BM" → bmp) also match ordinary text that says what it is.
    const textAfterAll = claimed !== undefined && TEXT_FORMATS.has(claimed) && looksLikeText(head);
    if (!textAfterAll) throw new UnsupportedContentError(`detected ${magic.ext} (${magic.mime})`);
  }
  if (claimed !== undefined) return claimed;
  if (looksLikeText(head)) return 'text';
  throw new UnsupportedContentError('binary content of unknown type');
}

/** Content-Type first, then the key's extension; undefined when neither names a format. */
export function formatFromHints(hints: ExtractHints): ContentFormat | undefined {
  const mime = mediaType(hints.contentType);
  const byExtension = EXTENSIONS.get(extension(hints.key));
  if (mime === undefined) return byExtension;
  const byType = CONTENT_TYPES.get(mime) ?? (mime.endsWith('+json') ? 'json' : undefined);
  // text/plain is what many uploaders send for anything textual: a telling extension is more specific.
  if (byType === 'text' && byExtension !== undefined && TEXT_FORMATS.has(byExtension)) return byExtension;
  if (byType !== undefined) return byType;
  if (mime.startsWith('text/')) return byExtension ?? 'text';
  return byExtension;
}

/** No NUL bytes and valid UTF-8 (a sequence cut off at the end of the head is fine), or a UTF-16 BOM. */
export function looksLikeText(head: Uint8Array): boolean {
  if (hasUtf16Bom(head)) return true;
  if (head.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return true;
  } catch (error) {
    if (error instanceof TypeError) return false;
    throw error;
  }
}

export function hasUtf16Bom(bytes: Uint8Array): boolean {
  const [a, b] = bytes;
  return (a === 0xff && b === 0xfe) || (a === 0xfe && b === 0xff);
}

/** Types file-type finds by looking at text (XML, vCard, iCalendar): not binary, so the hints decide. */
function isTextual(magic: FileTypeResult): boolean {
  return magic.mime.startsWith('text/') || magic.ext === 'xml';
}

function mediaType(contentType: string | undefined): string | undefined {
  const mime = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  if (mime === undefined || mime === '') return undefined;
  // S3's defaults for "nobody said": they carry no information.
  if (mime === 'application/octet-stream' || mime === 'binary/octet-stream') return undefined;
  return mime;
}

function extension(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}
