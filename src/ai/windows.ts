/**
 * How a long text is cut for a model with a bounded context: windows of whole paragraphs or
 * sentences where it can, each small enough for the prompt, the window and the answer together.
 * Pure and deterministic: the same text and budget give the same windows on every worker.
 */

/** A conservative characters-per-token ratio: most tokenizers give 3.5–4.5 for prose, fewer for code or CJK. */
export const CHARS_PER_TOKEN = 3;

/** Tokens kept free for the instructions, the schema and the chat format around the text. */
const PROMPT_ALLOWANCE_TOKENS = 1024;

export interface TextWindow {
  /** UTF-16 offsets into the text: `[start, end)`. */
  start: number;
  end: number;
}

/** A token estimate for text sent to a model (the budget check before a call). */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/** The longest window, in characters, that leaves room for the prompt and the answer. */
export function windowBudgetChars(contextTokens: number, maxOutputTokens: number): number {
  const tokens = contextTokens - maxOutputTokens - PROMPT_ALLOWANCE_TOKENS;
  if (tokens < 256) throw new RangeError(`a context of ${contextTokens} tokens leaves no room for text beside ${maxOutputTokens} answer tokens`);
  return tokens * CHARS_PER_TOKEN;
}

/**
 * Consecutive windows covering the whole text, each at most `maxChars` long. A window ends at the
 * last paragraph break in its second half, else the last sentence end, else the last space, else
 * it is cut hard (never inside a surrogate pair). Windows may start or end with whitespace.
 */
export function planWindows(text: string, maxChars: number): TextWindow[] {
  if (!Number.isSafeInteger(maxChars) || maxChars < 2) throw new RangeError(`maxChars must be an integer of at least 2, got ${maxChars}`);
  const windows: TextWindow[] = [];
  let start = 0;
  while (text.length - start > maxChars) {
    const end = cutPoint(text, start, start + maxChars);
    windows.push({ start, end });
    start = end;
  }
  if (start < text.length || windows.length === 0) windows.push({ start, end: text.length });
  return windows;
}

const BREAKS = [/\n\s*\n/g, /[.!?。！？]["')\]]*\s/g, /\s/g];

function cutPoint(text: string, start: number, limit: number): number {
  const floor = start + Math.floor((limit - start) / 2);
  const region = text.slice(floor, limit);
  for (const pattern of BREAKS) {
    let last = -1;
    for (const match of region.matchAll(pattern)) last = match.index + match[0].length;
    if (last > 0) return floor + last;
  }
  // A high surrogate at the cut would leave its pair in the next window.
  const code = text.charCodeAt(limit - 1);
  return code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit;
}
