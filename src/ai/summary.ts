import { IntList } from './int-list.js';
import type { Span } from './segment.js';

/** Sentences with fewer words are headings, list items or fragments, not summary material. */
const MIN_SENTENCE_WORDS = 5;

/**
 * Extractive summary: a sentence scores the mean of its content words' frequencies (relative to
 * the most frequent word), so it is about what the document keeps talking about without long
 * sentences winning by length alone. Fed word by word, in order, during the single word pass.
 */
export class SentenceScorer {
  private readonly termFrequency: number[] = [];
  private readonly contentIds = new IntList();
  /** contentIds[firstContent[i] .. firstContent[i + 1]) are sentence i's content words. */
  private readonly firstContent: Int32Array;
  private readonly wordCount: Int32Array;
  private sentence = 0;

  constructor(private readonly sentenceCount: number) {
    this.firstContent = new Int32Array(sentenceCount + 1);
    this.wordCount = new Int32Array(sentenceCount);
  }

  /** Moves on to sentence `index` (never backwards). */
  enter(index: number): void {
    while (this.sentence < index) this.firstContent[++this.sentence] = this.contentIds.length;
  }

  word(): void {
    this.wordCount[this.sentence] = (this.wordCount[this.sentence] ?? 0) + 1;
  }

  content(wordId: number): void {
    this.contentIds.push(wordId);
    this.termFrequency[wordId] = (this.termFrequency[wordId] ?? 0) + 1;
  }

  /** The best `count` sentences, in their original order, whitespace runs collapsed, joined by a space. */
  summarise(text: string, sentences: readonly Span[], count: number): string {
    this.enter(this.sentenceCount);
    if (count === 0 || sentences.length === 0) return '';
    let max = 1;
    for (const frequency of this.termFrequency) max = Math.max(max, frequency);
    const scores = sentences.map((_, index) => this.score(index, max));
    // Short texts may have only short sentences: then any sentence will do rather than none.
    const long = scores.filter((entry) => (this.wordCount[entry.index] ?? 0) >= MIN_SENTENCE_WORDS);
    const candidates = long.length > 0 ? long : scores;
    const chosen = candidates
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, count)
      .map((entry) => entry.index)
      .sort((a, b) => a - b);
    return chosen
      .map((index) => sentences[index] as Span)
      .map((span) => text.slice(span.start, span.end).replace(/\s+/g, ' '))
      .join(' ');
  }

  private score(index: number, maxFrequency: number): { index: number; score: number } {
    const from = this.firstContent[index] ?? 0;
    const to = this.firstContent[index + 1] ?? from;
    if (to === from) return { index, score: 0 };
    let sum = 0;
    for (let i = from; i < to; i++) sum += (this.termFrequency[this.contentIds.at(i)] ?? 0) / maxFrequency;
    return { index, score: sum / (to - from) };
  }
}
