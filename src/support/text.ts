/**
 * src/support: small pure helpers shared by several folders (request fingerprints, text that
 * Postgres cannot store, the package's own folders). No network or database I/O.
 */
/**
 * Text that Postgres cannot keep as it was sent: a NUL character (text and jsonb refuse U+0000)
 * or an unpaired UTF-16 surrogate (jsonb refuses the escape JSON.stringify writes for one; text
 * would store U+FFFD instead). No name, key or value of this API needs either, so a request that
 * holds one is refused at the edge (400) instead of failing in the database with a 500.
 */
export function textProblem(text: string, what = 'text'): string | undefined {
  const flaw = textFlaw(text);
  if (flaw === 'nul') return `${what} may not contain a NUL character (U+0000)`;
  if (flaw === 'lone-surrogate') return `${what} may not contain an unpaired UTF-16 surrogate`;
  return undefined;
}

/** Any NUL or surrogate code unit: one scan rules out almost all text (paired surrogates pass the next check). */
const SUSPECT = /[\0\uD800-\uDFFF]/;

/** Which of the two flaws the text has, if any; cheap enough for every cell of a dataset. */
export function textFlaw(text: string): 'nul' | 'lone-surrogate' | undefined {
  if (!SUSPECT.test(text)) return undefined;
  if (text.includes('\0')) return 'nul';
  return /\p{Cs}/u.test(text) ? 'lone-surrogate' : undefined;
}

/**
 * The first string (value or object key) in a validated request value that textProblem refuses,
 * as "path: problem"; undefined when there is none. Iterative: a free-form JSON value may nest deeply.
 */
export function findTextProblem(value: unknown): string | undefined {
  const stack: Array<[item: unknown, path: string]> = [[value, '']];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [item, path] = entry;
    if (typeof item === 'string') {
      const problem = textProblem(item);
      if (problem) return path ? `${path}: ${problem}` : problem;
    } else if (Array.isArray(item)) {
      item.forEach((element, i) => stack.push([element, path ? `${path}.${i}` : String(i)]));
    } else if (item !== null && typeof item === 'object') {
      for (const [key, element] of Object.entries(item)) {
        const at = path ? `${path}.${key}` : key;
        const problem = textProblem(key);
        if (problem) return `${JSON.stringify(at)} (a key): ${problem}`;
        stack.push([element, at]);
      }
    }
  }
  return undefined;
}
