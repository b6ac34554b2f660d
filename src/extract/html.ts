import { compile, type DomNode, type FormatCallback } from 'html-to-text';
import type { DecodedText } from './decode.js';
import type { RawContent } from './types.js';

/** Cells end in a tab so a table row reads as one tab-separated line (the trailing tab is trimmed later). */
const tableCell: FormatCallback = (elem, walk, builder) => {
  walk(elem.children, builder);
  builder.addLiteral('\t');
};

/** A row on its own line; the whitespace that pretty-printed HTML puts between cells is dropped. */
const tableRow: FormatCallback = (elem, walk, builder) => {
  builder.openBlock({ leadingLineBreaks: 1 });
  walk((elem.children ?? []).filter((child: DomNode) => child.type !== 'text' || child.data?.trim() !== ''), builder);
  builder.closeBlock({ trailingLineBreaks: 1 });
};

const headings = (['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const).map((selector) => ({ selector, options: { uppercase: false } }));

// Compiled once: a pure function of its options, with no state between calls.
const convert = compile({
  wordwrap: false,
  // The default silently cuts input after 16 Mi characters; the caller's maxTextChars is the real cap.
  limits: { maxInputLength: Number.MAX_SAFE_INTEGER },
  formatters: { tableCell, tableRow },
  selectors: [
    { selector: 'head', format: 'skip' },
    { selector: 'title', format: 'skip' },
    { selector: 'img', format: 'skip' },
    { selector: 'a', options: { ignoreHref: true } },
    ...headings,
    // The stock table formatter only lays out tables named in its `tables` option; the rest run together.
    { selector: 'table', format: 'block', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
    { selector: 'tr', format: 'tableRow' },
    { selector: 'td', format: 'tableCell' },
    { selector: 'th', format: 'tableCell' },
  ],
});

export function htmlToText(html: string): string {
  return convert(html);
}

export function extractHtml(source: DecodedText): RawContent {
  const title = findTitle(source.text);
  return {
    text: htmlToText(source.text),
    metadata: { encoding: source.encoding, ...(title === undefined ? {} : { title }) },
  };
}

/** A <title> belongs in the head, so a regex over the first 64 KiB finds it without a second parse. */
function findTitle(html: string): string | undefined {
  const match = /<title\b[^>]*>([\s\S]*?)<\/title\s*>/i.exec(html.slice(0, 65_536));
  const inner = match?.[1];
  if (inner === undefined) return undefined;
  const title = convert(inner).replace(/\s+/g, ' ').trim();
  return title === '' ? undefined : title;
}
