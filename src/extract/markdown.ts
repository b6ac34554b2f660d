import { Marked, type Token, type Tokens } from 'marked';
import type { DecodedText } from './decode.js';
import { htmlToText } from './html.js';
import type { ExtractContext, RawContent } from './types.js';

/** Markdown → HTML → text, so emphasis markers, link syntax and tables come out as plain text. */
export function extractMarkdown(source: DecodedText, context: ExtractContext): RawContent {
  const marked = new Marked({ gfm: true, async: false });
  const tokens = marked.lexer(source.text);
  context.signal?.throwIfAborted();
  const html = marked.parser(tokens);
  context.signal?.throwIfAborted();
  const heading = tokens.find(isTopHeading);
  const title = heading === undefined ? '' : htmlToText(marked.parseInline(heading.text, { async: false })).trim();
  return {
    text: htmlToText(html),
    metadata: { encoding: source.encoding, ...(title === '' ? {} : { title }) },
  };
}

function isTopHeading(token: Token): token is Tokens.Heading {
  return token.type === 'heading' && (token as Tokens.Heading).depth === 1;
}
