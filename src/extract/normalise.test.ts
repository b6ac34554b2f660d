import { describe, expect, it } from 'vitest';
import { UnsupportedContentError } from './errors.js';
import { countWords, createTextBudget, normaliseText } from './normalise.js';

describe('normaliseText', () => {
  it('unifies line ends, drops NULs and trailing whitespace', () => {
    expect(normaliseText('\n\n  one \r\ntwo\t\rthree\0 \n\n\n\nfour  \n \n')).toBe('  one\ntwo\nthree\n\nfour');
  });

  it('handles a very long run of spaces in linear time', () => {
    const text = `${' '.repeat(2_000_000)}x${' '.repeat(2_000_000)}`;
    expect(normaliseText(text)).toBe(`${' '.repeat(2_000_000)}x`);
  });
});

describe('countWords', () => {
  it('counts whitespace-separated tokens', () => {
    expect(countWords('')).toBe(0);
    expect(countWords(' one  two\nthree\t')).toBe(3);
  });
});

describe('createTextBudget', () => {
  it('throws once the total passes the cap', () => {
    const budget = createTextBudget(10);
    budget.spend(10);
    expect(() => budget.spend(1)).toThrow(UnsupportedContentError);
  });
});
