/**
 * RAKE (Rose et al., 2010): candidate phrases are runs of content words between stopwords,
 * punctuation and sentence ends. A word scores degree/frequency, where its degree adds up the
 * lengths of the phrases it occurs in; a phrase scores the sum of its words. RAKE on its own
 * favours long phrases seen once, so the score is also weighted by log2(1 + occurrences) to let
 * the document's recurring terms through.
 */
export class PhraseCollector {
  private readonly phrases = new Map<string, { count: number; first: number; words: readonly number[] }>();
  private readonly frequency: number[] = [];
  private readonly degree: number[] = [];
  private current: number[] = [];
  private currentStart = 0;

  constructor(
    private readonly vocabulary: readonly string[],
    /** Longer runs (tables, lists of names) are not keyphrases and would swamp the degrees. */
    private readonly maxPhraseWords = 3,
  ) {}

  add(wordId: number, position: number): void {
    if (this.current.length === 0) this.currentStart = position;
    this.current.push(wordId);
  }

  /** Ends the current candidate phrase, if any. */
  end(): void {
    const words = this.current;
    if (words.length === 0) return;
    this.current = [];
    if (words.length > this.maxPhraseWords) return;
    const key = words.map((id) => this.vocabulary[id]).join(' ');
    const phrase = this.phrases.get(key);
    if (phrase === undefined) this.phrases.set(key, { count: 1, first: this.currentStart, words });
    else phrase.count++;
    for (const id of words) {
      this.frequency[id] = (this.frequency[id] ?? 0) + 1;
      this.degree[id] = (this.degree[id] ?? 0) + words.length;
    }
  }

  /** Best first; equal scores in order of first occurrence. */
  top(limit: number): string[] {
    this.end();
    const scored = [...this.phrases].map(([key, phrase]) => {
      let score = 0;
      for (const id of phrase.words) score += (this.degree[id] ?? 0) / (this.frequency[id] ?? 1);
      return { key, first: phrase.first, score: score * Math.log2(1 + phrase.count) };
    });
    scored.sort((a, b) => b.score - a.score || a.first - b.first);
    return scored.slice(0, limit).map((phrase) => phrase.key);
  }
}
