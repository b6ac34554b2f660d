import { CsvError, parse } from 'csv-parse';
import { checkpoint } from './checkpoint.js';
import type { DecodedText } from './decode.js';
import { CorruptContentError } from './errors.js';
import type { ExtractContext, RawContent } from './types.js';

const DELIMITERS = [',', ';', '\t', '|'] as const;

/**
 * The first record is the header. Each record becomes one line of tab-separated fields, so rows
 * survive as lines and a field's own tabs and line breaks become spaces.
 * Ragged rows are accepted (common, and still readable); a quote left open is not.
 */
export async function extractCsv(source: DecodedText, context: ExtractContext): Promise<RawContent> {
  const parser = parse(source.text, {
    delimiter: guessDelimiter(source.text),
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
  });
  const lines: string[] = [];
  let columns = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (lines.length === 0) columns = record.length;
      const line = record.map((field) => field.replace(/[\t\r\n]+/g, ' ')).join('\t');
      context.budget.spend(line.length + 1);
      lines.push(line);
      if (lines.length % 5_000 === 0) await checkpoint(context.signal);
    }
  } catch (error) {
    if (error instanceof CsvError) throw new CorruptContentError('csv', error.message, { cause: error });
    throw error;
  }
  return { text: lines.join('\n'), metadata: { encoding: source.encoding, rows: Math.max(0, lines.length - 1), columns } };
}

/** Semicolons are the norm where the decimal separator is a comma: pick whichever the header uses most. */
function guessDelimiter(text: string): string {
  const header = firstLineOutsideQuotes(text.slice(0, 65_536));
  let best: string = ',';
  let bestCount = 0;
  for (const delimiter of DELIMITERS) {
    const count = header.split(delimiter).length - 1;
    if (count > bestCount) {
      best = delimiter;
      bestCount = count;
    }
  }
  return best;
}

function firstLineOutsideQuotes(text: string): string {
  let inQuotes = false;
  let out = '';
  for (const char of text) {
    if (char === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (char === '\n' || char === '\r')) break;
    else if (!inQuotes) out += char;
  }
  return out;
}
