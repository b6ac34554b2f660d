import { checkpoint } from './checkpoint.js';
import { PhraseCollector } from './keywords.js';
import { isSpace, wordWindows, type Span } from './segment.js';
import { SentenceScorer } from './summary.js';

const HAS_LETTER = /\p{L}/u;
const WINDOWS_PER_CHECKPOINT = 256;

export interface WordPass {
  phrases: PhraseCollector;
  scorer: SentenceScorer;
}

/**
 * One walk over the words feeds both the keyword and the summary scoring: word segmentation is
 * the most expensive step of the analysis. Content words (not stopwords, with at least one letter,
 * so no bare numbers) are interned, so millions of words cost an integer each.
 */
export async function walkWords(text: string, sentences: readonly Span[], locale: string, stopwords: ReadonlySet<string>, signal: AbortSignal | undefined): Promise<WordPass> {
  const ids = new Map<string, number>();
  const vocabulary: string[] = [];
  const phrases = new PhraseCollector(vocabulary);
  const scorer = new SentenceScorer(sentences.length);
  const segmenter = new Intl.Segmenter(locale, { granularity: 'word' });
  let sentence = 0;
  let windows = 0;
  for (const window of wordWindows(text, 0, text.length)) {
    if (++windows % WINDOWS_PER_CHECKPOINT === 0) await checkpoint(signal);
    for (const { segment, index, isWordLike } of segmenter.segment(text.slice(window.start, window.end))) {
      const start = window.start + index;
      if (sentenceEnd(sentences, sentence) <= start) {
        while (sentenceEnd(sentences, sentence) <= start) sentence++;
        phrases.end(); // a phrase never runs across a sentence boundary
        scorer.enter(sentence);
      }
      if (!isWordLike) {
        if (!isBlank(segment)) phrases.end(); // punctuation
        continue;
      }
      scorer.word();
      const word = segment.toLowerCase();
      if (stopwords.has(word) || !HAS_LETTER.test(word)) {
        phrases.end();
        continue;
      }
      let id = ids.get(word);
      if (id === undefined) {
        id = vocabulary.push(word) - 1;
        ids.set(word, id);
      }
      phrases.add(id, start);
      scorer.content(id);
    }
  }
  return { phrases, scorer };
}

function sentenceEnd(sentences: readonly Span[], index: number): number {
  return sentences[index]?.end ?? Number.POSITIVE_INFINITY;
}

function isBlank(segment: string): boolean {
  for (let i = 0; i < segment.length; i++) if (!isSpace(segment.charCodeAt(i))) return false;
  return true;
}
