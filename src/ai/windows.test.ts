import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateTokens, planWindows, windowBudgetChars } from './windows.js';

describe('planWindows', () => {
  it('keeps a text that fits in one window', () => {
    expect(planWindows('short text', 100)).toEqual([{ start: 0, end: 10 }]);
    expect(planWindows('', 100)).toEqual([{ start: 0, end: 0 }]);
  });

  it('cuts at a paragraph break before a sentence end, and at a sentence end before a space', () => {
    const text = 'First sentence. Second one.\n\nA new paragraph starts here and goes on.';
    const [first] = planWindows(text, 40);
    expect(text.slice(first!.start, first!.end)).toBe('First sentence. Second one.\n\n');
    const [sentence] = planWindows('One two three four five. Six seven eight nine', 30);
    expect(sentence!.end).toBe('One two three four five. '.length);
  });

  it('never splits a surrogate pair when it must cut hard', () => {
    const text = '😀'.repeat(50);
    for (const w of planWindows(text, 7)) {
      expect(w.end - w.start).toBeLessThanOrEqual(7);
      expect(text.slice(w.start, w.end)).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
  });

  it('covers every text with consecutive windows within the budget', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 2000 }), fc.integer({ min: 2, max: 300 }), (text, max) => {
        const windows = planWindows(text, max);
        expect(windows[0]!.start).toBe(0);
        expect(windows.at(-1)!.end).toBe(text.length);
        for (const [i, w] of windows.entries()) {
          expect(w.end - w.start).toBeLessThanOrEqual(max);
          if (text.length > 0) expect(w.end).toBeGreaterThan(w.start);
          if (i > 0) expect(w.start).toBe(windows[i - 1]!.end);
        }
      }),
    );
  });
});

describe('the window budget', () => {
  it('leaves room for the prompt and the answer', () => {
    expect(windowBudgetChars(8192, 1024)).toBe((8192 - 1024 - 1024) * 3);
    expect(() => windowBudgetChars(2048, 1024)).toThrow(/no room/);
    expect(estimateTokens(7)).toBe(3);
  });
});
