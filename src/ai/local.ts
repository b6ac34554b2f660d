import { checkpoint } from './checkpoint.js';
import { chunkText } from './chunks.js';
import { detectLanguage, segmenterLocale, stopwordsFor } from './language.js';
import type { AiProvider, Analysis, AnalyseOptions } from './provider.js';
import { sentenceSpans } from './segment.js';
import { walkWords } from './words.js';

export interface LocalAiOptions {
  /** Default 10. */
  maxKeywords?: number | undefined;
  /** Default 3. */
  summarySentences?: number | undefined;
  /** Longest chunk, in UTF-16 code units. Default 1200; at least 2, so a surrogate pair always fits. */
  chunkChars?: number | undefined;
}

/**
 * Analysis without a model: franc for the language, Intl.Segmenter for sentences and words, RAKE
 * for keywords and an extractive summary. Deterministic (same text, same result) and offline, so
 * it suits tests and air-gapped installs; linear in the length of the text.
 */
export function createLocalAiProvider(options: LocalAiOptions = {}): AiProvider {
  const maxKeywords = count('maxKeywords', options.maxKeywords ?? 10, 0);
  const summarySentences = count('summarySentences', options.summarySentences ?? 3, 0);
  const chunkChars = count('chunkChars', options.chunkChars ?? 1200, 2);

  async function analyse(text: string, { signal }: AnalyseOptions = {}): Promise<Analysis> {
    signal?.throwIfAborted();
    if (!/\S/.test(text)) return { language: 'und', summary: '', keywords: [], chunks: [] };
    const language = detectLanguage(text);
    const locale = segmenterLocale(language);
    await checkpoint(signal);
    const sentences = await sentenceSpans(text, locale, signal);
    await checkpoint(signal);
    const { phrases, scorer } = await walkWords(text, sentences, locale, stopwordsFor(language), signal);
    await checkpoint(signal);
    const keywords = phrases.top(maxKeywords);
    const summary = scorer.summarise(text, sentences, summarySentences);
    await checkpoint(signal);
    const chunks = await chunkText(text, sentences, chunkChars, locale, signal);
    return { language, summary, keywords, chunks };
  }

  return { name: 'local', analyse };
}

function count(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer of at least ${min}, got ${value}`);
  return value;
}
