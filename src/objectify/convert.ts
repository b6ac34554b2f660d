import { textFlaw } from '../support/text.js';
import type { DateFormat, FieldMapping, FieldType, MappingSpec, Transform } from './spec.js';

export type ConvertResult =
  | { ok: true; key: string; properties: Record<string, unknown> }
  | { ok: false; column: string | null; reason: string };

export interface CompiledMapping {
  /** The distinct source columns, in field order: lets a caller check a CSV header once. */
  readonly sources: readonly string[];
  /** Never throws for bad data: a row that cannot be converted is `{ ok: false }` with a reason. */
  convert(row: Record<string, unknown>): ConvertResult;
}

export interface CompileOptions {
  /**
   * Where the rows come from (default `csv`). CSV cells are text, so a json field parses its cell
   * with JSON.parse; JSON Lines values are already typed, so a json field keeps them as they are.
   */
  format?: 'csv' | 'jsonl';
}

type Step = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * An object's key is a Postgres text in a btree index, whose entries cannot pass about 2.7 kB: a
 * longer key would fail its whole batch on every retry, so its row is rejected instead.
 */
export const MAX_KEY_BYTES = 1024;
/** Deeper JSON values are rejected: serialising them (in Node and in Postgres) recurses per level. */
export const MAX_JSON_DEPTH = 64;
type FieldConverter = (row: Record<string, unknown>) => Step;

const ok = (value: unknown): Step => ({ ok: true, value });
const fail = (reason: string): Step => ({ ok: false, reason });

/** Compiles a spec parsed by MappingSpecSchema; an unparsed, inconsistent spec is a programming error and throws. */
export function compileMapping(spec: MappingSpec, options: CompileOptions = {}): CompiledMapping {
  const format = options.format ?? 'csv';
  const converters = spec.fields.map((field) => compileField(field, format));
  const keyFields = spec.primaryKey.map((property) => {
    const index = spec.fields.findIndex((field) => field.property === property);
    const field = spec.fields[index];
    if (!field || field.type === 'json') throw new Error(`primary key ${property} is not a scalar field: validate the spec with MappingSpecSchema`);
    return { index, field };
  });
  const sources = [...new Set(spec.fields.map((field) => field.source))];
  const known = new Set(sources);

  return {
    sources,
    convert(row) {
      if (spec.strict) {
        for (const column of Object.keys(row)) {
          if (!known.has(column)) return { ok: false, column, reason: `column "${column}" is not in the mapping (strict)` };
        }
      }
      const values: unknown[] = [];
      for (const [i, convert] of converters.entries()) {
        const result = convert(row);
        if (!result.ok) return { ok: false, column: spec.fields[i]?.source ?? null, reason: result.reason };
        values.push(result.value);
      }
      const parts: string[] = [];
      for (const { index, field } of keyFields) {
        const value = values[index];
        if (value === null || value === undefined) return { ok: false, column: field.source, reason: `primary key ${field.property} is empty` };
        parts.push(typeof value === 'number' || typeof value === 'boolean' ? String(value) : (value as string)); // key types are scalar
      }
      const key = encodeKey(parts);
      if (key.length > MAX_KEY_BYTES / 4 && Buffer.byteLength(key) > MAX_KEY_BYTES) {
        return { ok: false, column: keyFields[0]?.field.source ?? null, reason: `primary key is ${Buffer.byteLength(key)} bytes long, above the limit of ${MAX_KEY_BYTES}` };
      }
      // fromEntries defines own properties, so a property named __proto__ stays data.
      const properties = Object.fromEntries(spec.fields.map((field, i) => [field.property, values[i]]));
      return { ok: true, key, properties };
    },
  };
}

/** Joins key values with ":", escaping "%" and ":" inside values so that the join can be undone. */
export function encodeKey(values: readonly string[]): string {
  if (values.length === 0) throw new Error('a key has at least one value');
  return values.map((value) => value.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'))).join(':');
}

/** The inverse of encodeKey. A "%" not followed by 25 or 3A is kept as it is. */
export function decodeKey(key: string): string[] {
  return key.split(':').map((part) => part.replace(/%(25|3A)/gi, (escape) => (escape === '%25' ? '%' : ':')));
}

/** Checks a spec's default against its field type; the converted value is what fills empty cells. */
export function checkDefault(type: FieldType, value: unknown): Step {
  if (value === null) return fail('cannot be null: leave it out instead');
  // A default is a typed JSON value in the spec, so it converts like a JSON Lines value.
  const converted = convertType(type, value, 'jsonl');
  const problem = converted.ok ? unstorable(converted.value) : null;
  return problem === null ? converted : fail(problem);
}

function compileField(field: FieldMapping, format: 'csv' | 'jsonl'): FieldConverter {
  const transforms = (field.transform ?? []).map(compileTransform);
  const column = `column "${field.source}"`;
  let fallback: unknown = null;
  if (field.default !== undefined) {
    const checked = checkDefault(field.type, field.default);
    if (!checked.ok) throw new Error(`default of ${field.property} ${checked.reason}: validate the spec with MappingSpecSchema`);
    fallback = checked.value;
  }
  return (row) => {
    let value = Object.hasOwn(row, field.source) ? row[field.source] : undefined;
    if (!isEmpty(value, field.type)) {
      for (const transform of transforms) {
        const step = transform(value);
        if (!step.ok) return fail(`${column}: ${step.reason}`);
        value = step.value;
        if (value === '') break;
      }
    }
    if (isEmpty(value, field.type)) {
      if (fallback !== null) return ok(fallback);
      return field.required ? fail(`${column} is required but empty`) : ok(null);
    }
    const converted = convertType(field.type, value, format);
    if (!converted.ok) return fail(`${column}: ${converted.reason}`);
    const problem = unstorable(converted.value);
    return problem === null ? converted : fail(`${column} ${problem}`);
  };
}

/**
 * Why Postgres would refuse a value in a jsonb or text column (which would fail the whole batch,
 * again on every retry), or null when it stores as it is: no NUL character, no unpaired UTF-16
 * surrogate (JSON text can spell both), no non-finite number, at most MAX_JSON_DEPTH levels.
 * Iterative, since the nesting is up to whoever wrote the file.
 */
export function unstorable(value: unknown): string | null {
  const stack: Array<[value: unknown, depth: number]> = [[value, 0]];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [item, depth] = entry;
    if (typeof item === 'string') {
      const problem = textProblem(item);
      if (problem) return problem;
    } else if (typeof item === 'number') {
      if (!Number.isFinite(item)) return `holds ${item}, which is not a finite number`;
    } else if (item !== null && typeof item === 'object') {
      if (depth >= MAX_JSON_DEPTH) return `nests deeper than ${MAX_JSON_DEPTH} levels`;
      if (Array.isArray(item)) {
        for (const element of item as unknown[]) stack.push([element, depth + 1]);
      } else {
        for (const [key, element] of Object.entries(item)) {
          const problem = textProblem(key);
          if (problem) return `has a key that ${problem}`;
          stack.push([element, depth + 1]);
        }
      }
    }
  }
  return null;
}

function textProblem(text: string): string | null {
  const flaw = textFlaw(text);
  if (flaw === 'nul') return 'contains a NUL character (U+0000), which cannot be stored';
  if (flaw === 'lone-surrogate') return 'contains an unpaired UTF-16 surrogate, which is not Unicode text';
  return null;
}

/** Missing, null and "" are empty; so is whitespace where it cannot mean anything (every type but string). */
function isEmpty(value: unknown, type: FieldType): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value !== 'string') return false;
  return value === '' || (type !== 'string' && value.trim() === '');
}

function compileTransform(transform: Transform): (value: unknown) => Step {
  if (typeof transform === 'object' && 'split' in transform) {
    const { separator } = transform.split;
    return (value) => {
      const text = asText(value, 'split');
      return text.ok ? ok((text.value as string).split(separator)) : text;
    };
  }
  if (typeof transform === 'object') {
    const { format } = transform['parse-date'];
    return eachElement((value) => parseDate(value, format));
  }
  switch (transform) {
    case 'trim':
      return eachElement(textOp('trim', (text) => text.trim()));
    case 'lowercase':
      return eachElement(textOp('lowercase', (text) => text.toLowerCase()));
    case 'uppercase':
      return eachElement(textOp('uppercase', (text) => text.toUpperCase()));
    case 'parse-number':
      return eachElement(parseNumber);
  }
}

/** After a split the value is a list, and the transforms that follow apply to each element. */
function eachElement(step: (value: unknown) => Step): (value: unknown) => Step {
  return (value) => {
    if (!Array.isArray(value)) return step(value);
    const out: unknown[] = [];
    for (const element of value) {
      const result = step(element);
      if (!result.ok) return result;
      out.push(result.value);
    }
    return ok(out);
  };
}

function textOp(name: string, op: (text: string) => string): (value: unknown) => Step {
  return (value) => {
    const text = asText(value, name);
    return text.ok ? ok(op(text.value as string)) : text;
  };
}

/** Text transforms accept JSON scalars through their text form, so a JSON Lines 42 can be trimmed or split. */
function asText(value: unknown, transform: string): Step {
  if (typeof value === 'string') return ok(value);
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return ok(String(value));
  return fail(`${describe(value)} is not text (transform ${transform})`);
}

// The JavaScript decimal literal without its oddities (hex, Infinity, NaN, separators).
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER_TEXT = /^[+-]?\d+(\.0+)?$/;

/**
 * Locale-free on purpose: "1,234" is a thousand in one country and one point two in another, so
 * a comma is refused rather than guessed; spaces (thousands groups) and "_" are dropped.
 */
function parseNumber(value: unknown): Step {
  if (typeof value === 'number') return ok(value);
  if (typeof value !== 'string') return fail(`${describe(value)} is not a number`);
  const compact = value.replace(/[\s_]/g, '');
  if (compact.includes(',')) return fail(`${quote(value)} is not a number: "," is ambiguous, use "." for decimals and no thousands separator`);
  return finiteNumber(value, compact);
}

function finiteNumber(original: string, text: string): Step {
  if (!NUMBER_TEXT.test(text)) return fail(`${quote(original)} is not a number`);
  const number = Number(text);
  if (!Number.isFinite(number)) return fail(`${quote(original)} is out of range`);
  return ok(number === 0 ? 0 : number); // no -0: it would key differently from 0 in JSON
}

const BOOLEANS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false };

function convertType(type: FieldType, value: unknown, format: 'csv' | 'jsonl'): Step {
  const text = typeof value === 'string' ? value.trim() : null;
  switch (type) {
    case 'string':
      if (typeof value === 'string') return ok(value);
      if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return ok(String(value));
      return fail(`${describe(value)} is not text`);
    case 'integer': {
      if (typeof value === 'number') return safeInteger(value, String(value));
      if (text === null || !INTEGER_TEXT.test(text)) return fail(`${describe(value)} is not an integer`);
      return safeInteger(Number(text), quote(String(value)));
    }
    case 'number':
      if (typeof value === 'number') return Number.isFinite(value) ? ok(value === 0 ? 0 : value) : fail(`${value} is not a finite number`);
      return text === null ? fail(`${describe(value)} is not a number`) : finiteNumber(String(value), text);
    case 'boolean': {
      if (typeof value === 'boolean') return ok(value);
      const key = text === null ? (value === 1 || value === 0 ? String(value) : null) : text.toLowerCase();
      const parsed = key === null ? undefined : BOOLEANS[key];
      return parsed === undefined ? fail(`${describe(value)} is not a boolean (true/false, 1/0, yes/no)`) : ok(parsed);
    }
    case 'date': {
      const match = text === null ? null : /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
      if (!match) return fail(`${describe(value)} is not a date (YYYY-MM-DD; add a parse-date transform for other formats)`);
      const date = isoDate(Number(match[1]), Number(match[2]), Number(match[3]));
      return date === null ? fail(`${describe(value)} is not a calendar date`) : ok(date);
    }
    case 'timestamp':
      return text === null ? fail(`${describe(value)} is not a timestamp`) : parseTimestamp(text);
    case 'json':
      if (typeof value !== 'string' || format === 'jsonl') return ok(value);
      try {
        return ok(JSON.parse(value));
      } catch {
        return fail(`${quote(value)} is not valid JSON`);
      }
  }
}

function safeInteger(number: number, shown: string): Step {
  if (!Number.isInteger(number)) return fail(`${shown} is not an integer`);
  if (!Number.isSafeInteger(number)) return fail(`${shown} is outside the safe integer range (±9007199254740991)`);
  return ok(number === 0 ? 0 : number);
}

const DATE_PATTERNS: Record<DateFormat, { pattern: RegExp; order: [year: number, month: number, day: number] }> = {
  'YYYY-MM-DD': { pattern: /^(\d{4})-(\d{1,2})-(\d{1,2})$/, order: [1, 2, 3] },
  'DD/MM/YYYY': { pattern: /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/, order: [3, 2, 1] },
  'MM/DD/YYYY': { pattern: /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/, order: [3, 1, 2] },
  YYYYMMDD: { pattern: /^(\d{4})(\d{2})(\d{2})$/, order: [1, 2, 3] },
  'DD.MM.YYYY': { pattern: /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/, order: [3, 2, 1] },
};

function parseDate(value: unknown, format: DateFormat): Step {
  const text = asText(value, 'parse-date');
  if (!text.ok) return text;
  const { pattern, order } = DATE_PATTERNS[format];
  const match = pattern.exec((text.value as string).trim());
  if (!match) return fail(`${quote(text.value as string)} does not match ${format}`);
  const [year, month, day] = order.map((group) => Number(match[group]));
  const date = isoDate(year ?? 0, month ?? 0, day ?? 0);
  return date === null ? fail(`${quote(text.value as string)} is not a calendar date`) : ok(date);
}

function isoDate(year: number, month: number, day: number): string | null {
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * An instant needs an offset: a local time without one would be read in the worker's time zone.
 * The result is UTC, with milliseconds, or microseconds (Postgres' precision) when the input has them.
 */
function parseTimestamp(text: string): Step {
  const match = TIMESTAMP.exec(text);
  if (!match) return fail(`${quote(text)} is not an ISO 8601 timestamp (2024-01-31T12:00:00Z)`);
  const [, y, mo, d, h, mi, s, fraction, offset] = match;
  if (offset === undefined) return fail(`${quote(text)} has no UTC offset (end it with Z or ±hh:mm)`);
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s ?? '0'].map(Number) as [number, number, number, number, number, number];
  const offsetMinutes = parseOffset(offset);
  if (isoDate(year, month, day) === null || hour > 23 || minute > 59 || second > 59 || offsetMinutes === null) {
    return fail(`${quote(text)} is not a valid time`);
  }
  const micros = Number((fraction ?? '').padEnd(6, '0').slice(0, 6));
  const instant = new Date(0);
  instant.setUTCFullYear(year, month - 1, day); // unlike Date.UTC, keeps years 1-99 as they are
  instant.setUTCHours(hour, minute, second, Math.floor(micros / 1000));
  const utc = new Date(instant.getTime() - offsetMinutes * 60_000);
  const utcYear = utc.getUTCFullYear();
  if (utcYear < 1 || utcYear > 9999) return fail(`${quote(text)} is outside the years 0001-9999 in UTC`);
  const iso = utc.toISOString();
  const extra = micros % 1000;
  return ok(extra === 0 ? iso : `${iso.slice(0, -1)}${String(extra).padStart(3, '0')}Z`);
}

function parseOffset(offset: string): number | null {
  if (offset === 'Z' || offset === 'z') return 0;
  const digits = offset.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 23 || minutes > 59) return null;
  return (offset.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return quote(value);
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}

/** Long cells are cut so that a reason stays a line, not a copy of the row. */
function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 61)}...` : text);
}
