import { describe, expect, it } from 'vitest';
import { MAX_RETRY_DELAY_MS, parseDuration, retryDelayMs } from './retry-after.js';

const headers = (h: Record<string, string>) => new Headers(h);

describe('retryDelayMs', () => {
  it('reads retry-after in seconds and as an HTTP date', () => {
    expect(retryDelayMs(headers({ 'retry-after': '3' }))).toBe(3000);
    const now = Date.parse('2026-12-02T10:00:00Z');
    expect(retryDelayMs(headers({ 'retry-after': 'Wed, 02 Dec 2026 10:00:07 GMT' }), now)).toBe(7000);
    expect(retryDelayMs(headers({ 'retry-after': 'Wed, 02 Dec 2026 09:00:00 GMT' }), now)).toBe(0);
  });

  it('prefers the longest of retry-after-ms, retry-after and an exhausted limit’s reset', () => {
    expect(retryDelayMs(headers({ 'retry-after-ms': '1500', 'retry-after': '1' }))).toBe(1500);
    expect(retryDelayMs(headers({ 'retry-after': '1', 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '6m0s' }))).toBe(360_000);
  });

  it('ignores the reset of a limit that is not exhausted, and headers it cannot read', () => {
    expect(retryDelayMs(headers({ 'x-ratelimit-remaining-requests': '5', 'x-ratelimit-reset-requests': '20s' }))).toBeUndefined();
    expect(retryDelayMs(headers({ 'retry-after': 'soon', 'retry-after-ms': '-4' }))).toBeUndefined();
    expect(retryDelayMs(headers({}))).toBeUndefined();
  });

  it('caps what a server asks for', () => {
    expect(retryDelayMs(headers({ 'retry-after': '86400' }))).toBe(MAX_RETRY_DELAY_MS);
  });
});

describe('parseDuration', () => {
  it('reads OpenAI reset durations', () => {
    expect(parseDuration('1s')).toBe(1000);
    expect(parseDuration('20ms')).toBe(20);
    expect(parseDuration('6m0s')).toBe(360_000);
    expect(parseDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseDuration('2')).toBe(2000);
    expect(parseDuration('later')).toBeUndefined();
    expect(parseDuration(null)).toBeUndefined();
  });
});
