import type { ContentFormat } from './types.js';

/** Unknown or unsupported type (images, archives, executables, binary junk). Retrying cannot help. */
export class UnsupportedContentError extends Error {
  override readonly name = 'UnsupportedContentError';
  readonly reason: string;

  constructor(reason: string, options?: ErrorOptions) {
    super(`unsupported content: ${reason}`, options);
    this.reason = reason;
  }
}

/**
 * The file claims a supported format but cannot be read (truncated PDF, broken zip, invalid JSON,
 * bad CSV quoting, invalid UTF-8 in a text file). Retrying cannot help.
 */
export class CorruptContentError extends Error {
  override readonly name = 'CorruptContentError';
  readonly format: ContentFormat;

  constructor(format: ContentFormat, detail: string, options?: ErrorOptions) {
    super(`corrupt ${format}: ${detail}`, options);
    this.format = format;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
