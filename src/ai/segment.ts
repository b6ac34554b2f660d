import { checkpoint } from './checkpoint.js';

export interface Span {
  start: number;
  end: number;
}

/*
 * V8's Intl.Segmenter slows down quadratically with the length of the string it walks (200 kB of
 * prose takes a minute). So text is fed to it in windows of a few KB, each cut where a boundary
 * is (nearly) certain: that keeps the whole walk linear.
 */
const SENTENCE_WINDOW = 4096;
const WORD_WINDOW = 512;
/** Windows between two checkpoints: a few milliseconds of work. */
const WINDOWS_PER_CHECKPOINT = 64;

const SENTENCE_END = /[.!?。！？…]/;

export function isSpace(code: number): boolean {
  if (code === 32 || (code >= 9 && code <= 13)) return true;
  return code > 127 && /\s/.test(String.fromCharCode(code));
}

/** Sentences as trimmed, non-empty spans, in order; everything between two of them is whitespace. */
export async function sentenceSpans(text: string, locale: string, signal: AbortSignal | undefined): Promise<Span[]> {
  // A single line break is usually hard wrapping (PDFs, plain text), which ICU would take for the
  // end of a sentence. Blanking it keeps every offset, since each character is replaced by one.
  const unwrapped = text.replace(/(?<![\r\n])\r?\n(?![\r\n])/g, (lineEnd) => ' '.repeat(lineEnd.length));
  const segmenter = new Intl.Segmenter(locale, { granularity: 'sentence' });
  const spans: Span[] = [];
  let count = 0;
  for (const window of windows(unwrapped, 0, unwrapped.length, SENTENCE_WINDOW, sentenceCut)) {
    if (++count % WINDOWS_PER_CHECKPOINT === 0) await checkpoint(signal);
    for (const { segment, index } of segmenter.segment(unwrapped.slice(window.start, window.end))) {
      const span = trimmed(unwrapped, window.start + index, window.start + index + segment.length);
      if (span !== undefined) spans.push(span);
    }
  }
  return spans;
}

/** Windows for word segmentation over `[from, to)`: each ends just after whitespace unless none is near. */
export function wordWindows(text: string, from: number, to: number): Generator<Span> {
  return windows(text, from, to, WORD_WINDOW, wordCut);
}

export function trimmed(text: string, start: number, end: number): Span | undefined {
  let s = start;
  let e = end;
  while (s < e && isSpace(text.charCodeAt(s))) s++;
  while (e > s && isSpace(text.charCodeAt(e - 1))) e--;
  return s < e ? { start: s, end: e } : undefined;
}

/** A cut at `limit`, or one earlier when that would split a surrogate pair; always after `start`. */
export function hardCut(text: string, start: number, limit: number): number {
  const code = text.charCodeAt(limit - 1);
  const splitsPair = code >= 0xd800 && code <= 0xdbff && limit - 1 > start;
  return splitsPair ? limit - 1 : limit;
}

function* windows(text: string, from: number, to: number, size: number, cut: (text: string, start: number, limit: number) => number): Generator<Span> {
  let start = from;
  while (start < to) {
    const limit = start + size;
    const end = limit >= to ? to : cut(text, start, limit);
    yield { start, end };
    start = end;
  }
}

/** After the last whitespace in the window's second half; a hard cut if there is none. */
function wordCut(text: string, start: number, limit: number): number {
  const floor = start + Math.floor((limit - start) / 2);
  for (let i = limit - 1; i > floor; i--) {
    if (isSpace(text.charCodeAt(i))) return i + 1;
  }
  return hardCut(text, start, limit);
}

/** Prefer a paragraph break, then whitespace after sentence punctuation, then any whitespace. */
function sentenceCut(text: string, start: number, limit: number): number {
  const floor = start + Math.floor((limit - start) / 2);
  let afterPunctuation = -1;
  let afterSpace = -1;
  for (let i = limit - 1; i > floor; i--) {
    const code = text.charCodeAt(i);
    if (!isSpace(code)) continue;
    if (code === 10 || code === 13) return i + 1;
    if (afterPunctuation < 0 && SENTENCE_END.test(text.charAt(i - 1))) afterPunctuation = i + 1;
    if (afterSpace < 0) afterSpace = i + 1;
  }
  if (afterPunctuation > 0) return afterPunctuation;
  if (afterSpace > 0) return afterSpace;
  return hardCut(text, start, limit);
}
