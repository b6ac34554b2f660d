import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stopwordsFor } from './language.js';
import { createLocalAiProvider } from './local.js';
import type { Analysis, Chunk } from './provider.js';

const ENGLISH = [
  'Temporal workflows coordinate durable activities across unreliable infrastructure.',
  'When a worker crashes, the workflow resumes from its event history without losing progress.',
  'Engineers define retry policies for each activity, and the workflow engine schedules timers, signals and queries.',
  'Durable execution makes long-running data pipelines far easier to reason about.',
  'A workflow history is replayed deterministically, so workflow code must avoid randomness and clocks.',
];

const GERMAN = [
  'Die Energiewende verändert die Stromversorgung in Deutschland grundlegend.',
  'Windkraftanlagen und Solarparks liefern inzwischen mehr als die Hälfte des Stroms.',
  'Gleichzeitig müssen die Netze ausgebaut werden, damit der Strom aus dem Norden die Industrie im Süden erreicht.',
  'Speicher und flexible Verbraucher helfen, Schwankungen im Stromnetz auszugleichen.',
  'Ohne neue Stromleitungen bleibt der Windstrom im Norden oft ungenutzt.',
];

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Every invariant the Chunk type promises, plus the packing limits. */
function checkChunks(text: string, chunks: Chunk[], maxChars: number): void {
  let previousEnd = 0;
  chunks.forEach((chunk, i) => {
    expect(chunk.index).toBe(i);
    expect(chunk.text).toBe(text.slice(chunk.start, chunk.end));
    expect(chunk.text.length).toBeGreaterThan(0);
    expect(chunk.text.length).toBeLessThanOrEqual(maxChars);
    expect(chunk.text.trim()).toBe(chunk.text);
    expect(chunk.start).toBeGreaterThanOrEqual(previousEnd);
    expect(text.slice(previousEnd, chunk.start)).toMatch(/^\s*$/);
    expect(LONE_SURROGATE.test(chunk.text) && !LONE_SURROGATE.test(text)).toBe(false);
    previousEnd = chunk.end;
  });
  expect(text.slice(previousEnd)).toMatch(/^\s*$/);
  expect(chunks.length > 0).toBe(/\S/.test(text));
}

/** The summary is some of the input's sentences, verbatim and in input order. */
function expectSummaryOf(sentences: string[], summary: string, max: number): void {
  const used: string[] = [];
  let rest = summary;
  for (const sentence of sentences) {
    if (rest.startsWith(sentence)) {
      used.push(sentence);
      rest = rest.slice(sentence.length).trimStart();
    }
  }
  expect(rest).toBe('');
  expect(used.length).toBeGreaterThan(0);
  expect(used.length).toBeLessThanOrEqual(max);
}

describe('local provider', () => {
  const provider = createLocalAiProvider();

  it('is named local', () => {
    expect(provider.name).toBe('local');
  });

  it('analyses English: language, keywords without stopwords, summary from the text', async () => {
    const result = await provider.analyse(ENGLISH.join(' '));
    expect(result.language).toBe('eng');
    expect(result.keywords.length).toBeGreaterThan(0);
    expect(result.keywords.length).toBeLessThanOrEqual(10);
    expect(result.keywords).toEqual(expect.arrayContaining(['workflow history', 'event history', 'unreliable infrastructure']));
    const stopwords = stopwordsFor('eng');
    for (const keyword of result.keywords) {
      expect(keyword).toBe(keyword.toLowerCase());
      for (const word of keyword.split(' ')) expect(stopwords.has(word), `${word} in "${keyword}"`).toBe(false);
    }
    expect(new Set(result.keywords).size).toBe(result.keywords.length);
    expectSummaryOf(ENGLISH, result.summary, 3);
  });

  it('analyses German with the German stopword list', async () => {
    const result = await provider.analyse(GERMAN.join(' '));
    expect(result.language).toBe('deu');
    expect(result.keywords.some((keyword) => keyword.includes('energiewende'))).toBe(true);
    const stopwords = stopwordsFor('deu');
    for (const keyword of result.keywords) for (const word of keyword.split(' ')) expect(stopwords.has(word)).toBe(false);
    expectSummaryOf(GERMAN, result.summary, 3);
  });

  it('keeps bare numbers out of the keywords', async () => {
    const result = await provider.analyse('Revenue grew 2024 by 15 percent. In 2024 revenue 2024 grew again, 3.5 times 2024.');
    expect(result.keywords.length).toBeGreaterThan(0);
    for (const keyword of result.keywords) expect(keyword).toMatch(/\p{L}/u);
    expect(result.keywords.join(' ')).not.toMatch(/\d/);
  });

  it('honours maxKeywords and summarySentences', async () => {
    const result = await createLocalAiProvider({ maxKeywords: 2, summarySentences: 1 }).analyse(ENGLISH.join(' '));
    expect(result.keywords).toHaveLength(2);
    expectSummaryOf(ENGLISH, result.summary, 1);
  });

  it('summarises a text of short sentences rather than returning nothing', async () => {
    const result = await provider.analyse('Rain today. Sun tomorrow.');
    expect(result.summary).not.toBe('');
    expect(result.language).toBe('und'); // too short to tell
  });

  it('gives the same answer twice', async () => {
    const text = `${ENGLISH.join(' ')}\n\n${GERMAN.join(' ')}`;
    const first: Analysis = await provider.analyse(text);
    expect(await provider.analyse(text)).toEqual(first);
    expect(await createLocalAiProvider().analyse(text)).toEqual(first);
  });

  it('returns an empty analysis for empty or blank text', async () => {
    const empty = { language: 'und', summary: '', keywords: [], chunks: [] };
    expect(await provider.analyse('')).toEqual(empty);
    expect(await provider.analyse(' \n\t\u00a0 ')).toEqual(empty);
  });

  it('rejects invalid options', () => {
    expect(() => createLocalAiProvider({ chunkChars: 1 })).toThrow(RangeError);
    expect(() => createLocalAiProvider({ maxKeywords: -1 })).toThrow(RangeError);
    expect(() => createLocalAiProvider({ summarySentences: 1.5 })).toThrow(RangeError);
  });
});

describe('chunks', () => {
  it('packs whole sentences', async () => {
    const text = ENGLISH.join(' ');
    const { chunks } = await createLocalAiProvider({ chunkChars: 200 }).analyse(text);
    checkChunks(text, chunks, 200);
    for (const chunk of chunks) expect(ENGLISH.some((sentence) => chunk.text.startsWith(sentence))).toBe(true);
  });

  it('splits a sentence longer than a chunk between words', async () => {
    const text = `${'harvest '.repeat(40)}ends here.`;
    const { chunks } = await createLocalAiProvider({ chunkChars: 50 }).analyse(text);
    checkChunks(text, chunks, 50);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.start === 0 || text[chunk.start - 1] === ' ').toBe(true);
  });

  it('cuts a word longer than a chunk, never inside a surrogate pair', async () => {
    const text = `${'x'.repeat(130)} ${'🌾'.repeat(30)}`;
    const { chunks } = await createLocalAiProvider({ chunkChars: 50 }).analyse(text);
    checkChunks(text, chunks, 50);
    expect(chunks.slice(0, 2).map((chunk) => chunk.text)).toEqual(['x'.repeat(50), 'x'.repeat(50)]);
    // The cut word's remainder is packed with the words after it, as any word would be.
    expect(chunks[2]?.text.startsWith(`${'x'.repeat(30)} 🌾`)).toBe(true);
    for (const chunk of chunks) expect(LONE_SURROGATE.test(chunk.text)).toBe(false);
  });

  it('handles a megabyte without a single line break (Intl.Segmenter is quadratic on long strings)', async () => {
    const text = ENGLISH.join(' ').repeat(2_500);
    const { chunks, keywords } = await createLocalAiProvider().analyse(text);
    expect(keywords.length).toBe(10);
    expect(chunks.at(-1)?.end).toBe(text.length);
  });

  it('keeps its invariants on arbitrary text', async () => {
    const piece = fc.oneof(
      fc.constantFrom('harvest', 'Getreide', 'données', '東京', 'x'.repeat(70), '🌾', 'e\u0301', '2024', 'U.S.'),
      fc.constantFrom(' ', '  ', '. ', '! ', '? ', ', ', '\n', '\n\n', '\t', '\u00a0', '\u3000', '\r\n', ' \u0301'),
      fc.string({ unit: 'binary', maxLength: 12 }),
    );
    const text = fc.array(piece, { maxLength: 80 }).map((pieces) => pieces.join(''));
    await fc.assert(
      fc.asyncProperty(text, fc.integer({ min: 2, max: 120 }), async (input, chunkChars) => {
        const { chunks } = await createLocalAiProvider({ chunkChars }).analyse(input);
        checkChunks(input, chunks, chunkChars);
      }),
      { numRuns: 400 },
    );
  });
});

describe('abort', () => {
  it('rejects at once with the reason of an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    await expect(createLocalAiProvider().analyse(ENGLISH.join(' '), { signal: controller.signal })).rejects.toThrow('stop now');
  });

  it('stops a long analysis part way when the signal is aborted', async () => {
    const text = `${ENGLISH.join(' ')}\n\n`.repeat(5_000); // about 2.3 MB
    const controller = new AbortController();
    const analysis = createLocalAiProvider().analyse(text, { signal: controller.signal });
    setImmediate(() => controller.abort(new Error('cancelled mid-way')));
    await expect(analysis).rejects.toThrow('cancelled mid-way');
  });
});
