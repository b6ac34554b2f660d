// stopword ships no types. Only the shape this code relies on: lists of words keyed by language code.
declare module 'stopword' {
  export function removeStopwords(tokens: string[], stopwords?: readonly string[]): string[];
  export const eng: readonly string[];
  export const deu: readonly string[];
}
