export type ContentFormat = 'text' | 'markdown' | 'html' | 'json' | 'csv' | 'pdf' | 'docx';

export type Metadata = Record<string, string | number | boolean>;

export interface ExtractedContent {
  format: ContentFormat;
  /** Normalised: `\n` line ends, no NUL, no trailing whitespace on lines or at the end. */
  text: string;
  metadata: Metadata;
}

/** What the upload says about itself: the S3 key (for its extension) and its Content-Type. */
export interface ExtractHints {
  key: string;
  contentType?: string | undefined;
}

export interface ExtractOptions {
  signal?: AbortSignal | undefined;
  /** Extracted text longer than this is refused rather than truncated. */
  maxTextChars?: number | undefined;
}

/** What each format's extractor returns before the shared normalisation. */
export interface RawContent {
  text: string;
  metadata: Metadata;
}

export interface ExtractContext {
  signal: AbortSignal | undefined;
  budget: TextBudget;
}

/** Lets extractors that build text piece by piece stop as soon as the cap is passed. */
export interface TextBudget {
  readonly maxChars: number;
  /** Throws UnsupportedContentError once the running total passes `maxChars`. */
  spend(chars: number): void;
}
