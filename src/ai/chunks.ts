import { checkpoint } from './checkpoint.js';
import type { Chunk } from './provider.js';
import { hardCut, isSpace, trimmed, wordWindows, type Span } from './segment.js';

const SENTENCES_PER_CHECKPOINT = 4096;

/**
 * Packs whole sentences into chunks of at most `maxChars`. A sentence longer than that is split at
 * word boundaries, and a word longer than that is cut. Chunks never start or end with whitespace,
 * and only whitespace lies between them.
 */
export async function chunkText(text: string, sentences: readonly Span[], maxChars: number, locale: string, signal: AbortSignal | undefined): Promise<Chunk[]> {
  const spans: Span[] = [];
  let current: Span | undefined;
  let count = 0;
  for (const sentence of sentences) {
    if (++count % SENTENCES_PER_CHECKPOINT === 0) await checkpoint(signal);
    if (current !== undefined && sentence.end - current.start <= maxChars) {
      current.end = sentence.end;
      continue;
    }
    if (current !== undefined) spans.push(current);
    current = undefined;
    if (sentence.end - sentence.start <= maxChars) current = { ...sentence };
    else spans.push(...(await splitSentence(text, sentence, maxChars, locale, signal)));
  }
  if (current !== undefined) spans.push(current);
  return spans.map((span, index) => ({ index, text: text.slice(span.start, span.end), start: span.start, end: span.end }));
}

/** Greedy: as many words as fit, then the next piece starts at the next word. */
async function splitSentence(text: string, sentence: Span, maxChars: number, locale: string, signal: AbortSignal | undefined): Promise<Span[]> {
  const pieces: Span[] = [];
  const push = (from: number, to: number) => {
    const piece = trimmed(text, from, to);
    if (piece !== undefined) pieces.push(piece);
  };
  const segmenter = new Intl.Segmenter(locale, { granularity: 'word' });
  let start = -1; // of the piece being built; -1 until it has a word
  let end = -1;
  let windows = 0;
  for (const window of wordWindows(text, sentence.start, sentence.end)) {
    if (++windows % 256 === 0) await checkpoint(signal);
    for (const { segment, index } of segmenter.segment(text.slice(window.start, window.end))) {
      // Trimmed, not skipped when it starts with a space: ICU attaches a combining mark to a space.
      const word = trimmed(text, window.start + index, window.start + index + segment.length);
      if (word === undefined) continue;
      if (start < 0) start = word.start;
      if (word.end - start > maxChars) {
        if (end > start) {
          push(start, end);
          start = word.start;
        }
        // Only a word longer than a whole chunk gets here: cut it.
        while (word.end - start > maxChars) {
          const cut = hardCut(text, start, start + maxChars);
          push(start, cut);
          start = cut;
          while (isSpace(text.charCodeAt(start))) start++;
        }
      }
      end = word.end;
    }
  }
  if (start >= 0 && end > start) push(start, end);
  return pieces;
}
