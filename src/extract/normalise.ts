import { UnsupportedContentError } from './errors.js';
import type { TextBudget } from './types.js';

export const DEFAULT_MAX_TEXT_CHARS = 20_000_000;

/**
 * `\n` line ends, no NUL, no trailing whitespace on any line, no leading blank lines, at most one
 * blank line in a row (converters pad blocks generously), nothing trailing at the end.
 * Split-and-join rather than a `[ \t]+$` regex, which backtracks quadratically on long space runs.
 */
export function normaliseText(raw: string): string {
  const lines = raw.replace(/\r\n?/g, '\n').replaceAll('\0', '').split('\n');
  const kept: string[] = [];
  let blank = true; // true at the start, so leading blank lines go
  for (const line of lines) {
    const trimmed = line.trimEnd();
    if (trimmed === '') {
      if (!blank) kept.push('');
      blank = true;
    } else {
      kept.push(trimmed);
      blank = false;
    }
  }
  return kept.join('\n').trimEnd();
}

/** Whitespace-separated tokens, as `wc -w` counts them. */
export function countWords(text: string): number {
  const word = /\S+/g;
  let count = 0;
  while (word.exec(text) !== null) count++;
  return count;
}

export function createTextBudget(maxChars: number): TextBudget {
  let spent = 0;
  return {
    maxChars,
    spend(chars) {
      spent += chars;
      if (spent > maxChars) throw tooMuchText(maxChars);
    },
  };
}

export function tooMuchText(maxChars: number): UnsupportedContentError {
  return new UnsupportedContentError(`extracted text exceeds ${maxChars} characters`);
}
