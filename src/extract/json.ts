import { checkpoint } from './checkpoint.js';
import type { DecodedText } from './decode.js';
import { CorruptContentError } from './errors.js';
import type { ExtractContext, Metadata, RawContent } from './types.js';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Every string and number leaf as a `path: value` line, in document order, so values stay
 * searchable next to the field that gives them meaning. Booleans and nulls carry too little text to keep.
 */
export async function extractJson(source: DecodedText, context: ExtractContext): Promise<RawContent> {
  let root: unknown;
  try {
    root = JSON.parse(source.text);
  } catch (error) {
    if (error instanceof SyntaxError) throw new CorruptContentError('json', error.message, { cause: error });
    throw error;
  }

  const lines: string[] = [];
  // An explicit stack, not recursion: nesting depth is up to whoever wrote the file.
  const stack: [value: unknown, path: string][] = [[root, '']];
  let steps = 0;
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    if (++steps % 10_000 === 0) await checkpoint(context.signal);
    const [value, path] = entry;
    if (typeof value === 'string' || typeof value === 'number') {
      const line = `${path === '' ? '$' : path}: ${String(value)}`;
      context.budget.spend(line.length + 1);
      lines.push(line);
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}[${i}]`]);
    } else if (isObject(value)) {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] as string;
        stack.push([value[key], childPath(path, key)]);
      }
    }
  }
  return { text: lines.join('\n'), metadata: { ...describe(root), leaves: lines.length } };
}

function describe(root: unknown): Metadata {
  if (Array.isArray(root)) return { type: 'array', items: root.length };
  if (isObject(root)) return { type: 'object', keys: Object.keys(root).length };
  return { type: root === null ? 'null' : typeof root };
}

function childPath(parent: string, key: string): string {
  if (!IDENTIFIER.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
