/** A piece of the analysed text: `[start, end)` are UTF-16 offsets, and `text === input.slice(start, end)`. */
export interface Chunk {
  index: number;
  text: string;
  start: number;
  end: number;
}

export interface Analysis {
  /** ISO 639-3 code, or 'und' when the text is too short or too odd to tell. */
  language: string;
  summary: string;
  keywords: string[];
  chunks: Chunk[];
}

export interface AnalyseOptions {
  signal?: AbortSignal | undefined;
}

/** What the ingest pipeline needs from a language model, local or remote. */
export interface AiProvider {
  readonly name: string;
  analyse(text: string, options?: AnalyseOptions): Promise<Analysis>;
}
