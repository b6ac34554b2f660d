/**
 * How long a rate-limited or overloaded endpoint asks us to wait, from its response headers:
 * `retry-after-ms` (OpenAI), `retry-after` (seconds or an HTTP date, RFC 9110), and OpenAI's
 * `x-ratelimit-reset-requests` / `-tokens` (durations like "1s", "6m0s", "20ms") for a limit whose
 * remaining count is 0. The longest of them wins; undefined when none is usable.
 */
export const MAX_RETRY_DELAY_MS = 15 * 60 * 1000;

export function retryDelayMs(headers: Headers, now = Date.now()): number | undefined {
  const delays: number[] = [];
  const ms = Number(headers.get('retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) delays.push(ms);
  const after = headers.get('retry-after');
  if (after !== null) {
    const seconds = Number(after);
    if (after.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) delays.push(seconds * 1000);
    else if (!Number.isNaN(Date.parse(after))) delays.push(Math.max(0, Date.parse(after) - now));
  }
  for (const limit of ['requests', 'tokens']) {
    if (headers.get(`x-ratelimit-remaining-${limit}`)?.trim() !== '0') continue;
    const reset = parseDuration(headers.get(`x-ratelimit-reset-${limit}`));
    if (reset !== undefined) delays.push(reset);
  }
  if (delays.length === 0) return undefined;
  // A server asking for hours is capped: the activity's own schedule-to-close limit decides then.
  return Math.min(Math.ceil(Math.max(...delays)), MAX_RETRY_DELAY_MS);
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** "1h2m3.5s", "6m0s", "20ms", "1.5s" → milliseconds; a bare number is seconds. */
export function parseDuration(value: string | null): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (!/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) total += Number(amount) * UNIT_MS[unit!]!;
  return total;
}
