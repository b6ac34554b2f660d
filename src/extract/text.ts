import type { DecodedText } from './decode.js';
import type { RawContent } from './types.js';

export function extractPlainText(source: DecodedText): RawContent {
  return { text: source.text, metadata: { encoding: source.encoding } };
}
