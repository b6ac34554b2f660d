import { CorruptContentError } from './errors.js';
import type { ContentFormat } from './types.js';

export interface DecodedText {
  text: string;
  encoding: string;
}

/**
 * Decodes a text-based file. UTF-8 unless a UTF-16 byte-order mark says otherwise; the BOM is dropped.
 * Bytes that are not valid in the encoding make the file corrupt: guessing a legacy charset would
 * silently produce mojibake.
 */
export function decodeText(bytes: Uint8Array, format: ContentFormat): DecodedText {
  const [encoding, skip] = sniffEncoding(bytes);
  try {
    const text = new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(bytes.subarray(skip));
    return { text, encoding };
  } catch (error) {
    if (error instanceof TypeError) {
      throw new CorruptContentError(format, `not valid ${encoding.toUpperCase()} text`, { cause: error });
    }
    throw error;
  }
}

function sniffEncoding(bytes: Uint8Array): [encoding: string, bomLength: number] {
  const [a, b, c] = bytes;
  if (a === 0xef && b === 0xbb && c === 0xbf) return ['utf-8', 3];
  if (a === 0xff && b === 0xfe) return ['utf-16le', 2];
  if (a === 0xfe && b === 0xff) return ['utf-16be', 2];
  return ['utf-8', 0];
}
