/**
 * Deterministic values for a JSON Schema, as a structured-output model would give: the test
 * OpenAI server answers a `json_schema` request with one, so product code sees answers that pass
 * its own validation and that vary with the prompt (strings are taken from the prompt's words).
 * Covers the subset OpenAI's strict mode accepts plus the common extras zod emits; `pattern` and
 * `allOf` are not honoured.
 */

export type JsonType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';

export interface JsonSchemaObject {
  type?: JsonType | JsonType[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema;
  items?: JsonSchema | JsonSchema[];
  prefixItems?: JsonSchema[];
  additionalItems?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  exclusiveMaximum?: number | boolean;
  multipleOf?: number;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
  definitions?: Record<string, JsonSchema>;
  $defs?: Record<string, JsonSchema>;
  [keyword: string]: unknown;
}

export type JsonSchema = boolean | JsonSchemaObject;

export function isJsonSchema(value: unknown): value is JsonSchema {
  return typeof value === 'boolean' || (typeof value === 'object' && value !== null && !Array.isArray(value));
}

/** Beyond this depth recursive schemas get their smallest value, so a self-referencing tree ends. */
const MAX_DEPTH = 6;
type Words = readonly [string, ...string[]];
const FALLBACK_WORDS: Words = ['sample', 'answer'];

interface Walk {
  root: JsonSchema;
  words: Words;
  next: () => number;
}

/** A value that conforms to `schema`; the same schema and words always give the same value. */
export function sampleJsonSchema(schema: JsonSchema, words: readonly string[]): unknown {
  const pool: Words = words[0] === undefined ? FALLBACK_WORDS : [words[0], ...words.slice(1)];
  const walk = { root: schema, words: pool, next: seededRandom(hashString(pool.join(' '))) };
  return sample(walk, schema, 0);
}

/** Words of a text, for `sampleJsonSchema`. */
export function wordsOf(text: string): string[] {
  return text.match(/[\p{L}\p{N}]+/gu) ?? [];
}

function sample(walk: Walk, input: JsonSchema, depth: number): unknown {
  const schema = resolve(walk.root, input);
  if (schema === undefined) return null;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return pick(walk, [schema.enum[0], ...schema.enum.slice(1)]);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(alternatives) && alternatives[0] !== undefined) {
    // Past the depth limit prefer a `null` branch, which ends recursion.
    const nullBranch = alternatives.find((a) => typeOf(resolve(walk.root, a)) === 'null');
    return sample(walk, depth > MAX_DEPTH && nullBranch !== undefined ? nullBranch : alternatives[0], depth + 1);
  }
  const types = Array.isArray(schema.type) ? schema.type : [];
  if (depth > MAX_DEPTH && types.includes('null')) return null;
  switch (typeOf(schema)) {
    case 'object':
      return sampleObject(walk, schema, depth);
    case 'array':
      return sampleArray(walk, schema, depth);
    case 'string':
      return sampleString(walk, schema);
    case 'number':
      return sampleNumber(walk, schema, false);
    case 'integer':
      return sampleNumber(walk, schema, true);
    case 'boolean':
      return walk.next() < 0.5;
    case 'null':
      return null;
  }
}

function sampleObject(walk: Walk, schema: JsonSchemaObject, depth: number): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const properties = schema.properties ?? {};
  const required = Array.isArray(schema.required) ? schema.required : [];
  for (const [key, property] of Object.entries(properties)) {
    if (depth > MAX_DEPTH && !required.includes(key)) continue;
    result[key] = sample(walk, property, depth + 1);
  }
  for (const key of required) {
    if (!(key in result)) result[key] = sample(walk, schema.additionalProperties ?? { type: 'string' }, depth + 1);
  }
  return result;
}

function sampleArray(walk: Walk, schema: JsonSchemaObject, depth: number): unknown[] {
  const tuple = schema.prefixItems ?? (Array.isArray(schema.items) ? schema.items : []);
  const rest = Array.isArray(schema.items) ? schema.additionalItems : schema.items;
  const min = Math.max(schema.minItems ?? 0, tuple.length);
  const max = schema.maxItems ?? Number.POSITIVE_INFINITY;
  const count = depth > MAX_DEPTH ? min : Math.min(max, Math.max(min, rest === undefined ? tuple.length : 2));
  return Array.from({ length: count }, (_, i) => sample(walk, tuple[i] ?? rest ?? true, depth + 1));
}

function sampleString(walk: Walk, schema: JsonSchemaObject): string {
  const formatted = sampleFormat(walk, schema.format);
  if (formatted !== undefined) return formatted;
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? Number.POSITIVE_INFINITY;
  const start = Math.floor(walk.next() * walk.words.length);
  const parts: string[] = [];
  const want = 1 + Math.floor(walk.next() * 3);
  for (let i = 0; parts.length < want || parts.join(' ').length < min; i++) {
    parts.push(walk.words[(start + i) % walk.words.length] ?? 'x');
  }
  return [...parts.join(' ')].slice(0, max).join('');
}

/** The formats zod emits; its `pattern`s for them accept these values. */
function sampleFormat(walk: Walk, format: string | undefined): string | undefined {
  const ascii = (): string => (pick(walk, walk.words).normalize('NFKD').replace(/[^a-zA-Z0-9]/g, '') || 'user').toLowerCase();
  switch (format) {
    case 'email':
      return `${ascii()}@example.com`;
    case 'uri':
    case 'url':
      return `https://example.com/${ascii()}`;
    case 'uuid':
      return 'xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, () => Math.floor(walk.next() * 16).toString(16));
    case 'date-time':
      return '2024-05-06T07:08:09Z';
    case 'date':
      return '2024-05-06';
    case 'time':
      return '07:08:09';
    default:
      return undefined;
  }
}

function sampleNumber(walk: Walk, schema: JsonSchemaObject, integer: boolean): number {
  const step = integer ? 1 : 0.01;
  const lower = Math.max(
    schema.minimum ?? Number.NEGATIVE_INFINITY,
    typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + step : Number.NEGATIVE_INFINITY,
    schema.exclusiveMinimum === true && schema.minimum !== undefined ? schema.minimum + step : Number.NEGATIVE_INFINITY,
  );
  const upper = Math.min(
    schema.maximum ?? Number.POSITIVE_INFINITY,
    typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum - step : Number.POSITIVE_INFINITY,
    schema.exclusiveMaximum === true && schema.maximum !== undefined ? schema.maximum - step : Number.POSITIVE_INFINITY,
  );
  // A small window near zero reads like a model's answer, even where the bounds are the safe integers.
  const low = Math.max(lower, Math.min(0, upper - 100));
  const high = Math.min(upper, low + 100);
  const multiple = schema.multipleOf ?? (integer ? 1 : undefined);
  if (multiple === undefined) {
    const value = Math.round((low + (high - low) * walk.next()) * 100) / 100;
    return Math.min(high, Math.max(low, value));
  }
  const first = Math.ceil(low / multiple);
  const steps = Math.max(0, Math.floor(high / multiple) - first);
  return (first + Math.floor(walk.next() * (steps + 1))) * multiple;
}

/**
 * Valid JSON that breaks `schema`, for the server's `schema-violation` fault: an object loses its
 * first required property and the others get values of the wrong type; anything else gets a value
 * of another type.
 */
export function violateJsonSchema(schema: JsonSchema): unknown {
  const resolved = resolve(schema, schema);
  if (resolved === undefined) return { unexpected: true };
  if (typeOf(resolved) !== 'object') return wrongValue(schema, resolved);
  const required = Array.isArray(resolved.required) ? resolved.required : [];
  const result: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(resolved.properties ?? {})) {
    if (key !== required[0]) result[key] = wrongValue(schema, resolve(schema, property));
  }
  return result;
}

function wrongValue(root: JsonSchema, schema: JsonSchemaObject | undefined): unknown {
  if (schema === undefined) return 'unexpected';
  if ('const' in schema || schema.enum !== undefined) return { not: 'one of the allowed values' };
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(alternatives) && alternatives.length > 0) {
    const types = alternatives.map((a) => typeOf(resolve(root, a)));
    return types.includes('object') ? 'not an object' : { not: types.join(' or ') };
  }
  switch (typeOf(schema)) {
    case 'string':
      return 12345;
    case 'object':
      return ['not', 'an', 'object'];
    default:
      return 'not the requested type';
  }
}

/**
 * The 400 OpenAI gives a `strict: true` schema that breaks the two rules it enforces (every object
 * closed with `additionalProperties: false`, every property listed in `required`), in its words;
 * undefined when the schema passes. Zod's `.optional()` fields are the usual offenders.
 */
export function strictSchemaProblem(schema: JsonSchema): string | undefined {
  const type = typeof schema === 'object' ? schema.type : undefined;
  if (type !== 'object') return `schema must be a JSON Schema of 'type: "object"', got 'type: "${String(type)}"'.`;
  return strictProblemAt(schema, []);
}

type Step = string | number;

function strictProblemAt(schema: JsonSchema, path: Step[]): string | undefined {
  if (typeof schema !== 'object') return undefined;
  // OpenAI prints the path as a Python tuple.
  const steps = path.map((p) => (typeof p === 'number' ? String(p) : `'${p}'`)).join(', ');
  const context = `In context=(${steps}${path.length === 1 ? ',' : ''})`;
  const isObject = schema.type === 'object' || (Array.isArray(schema.type) && schema.type.includes('object'));
  if (isObject && schema.additionalProperties !== false) {
    return `${context}, 'additionalProperties' is required to be supplied and to be false.`;
  }
  const required = Array.isArray(schema.required) ? schema.required : [];
  const missing = Object.keys(schema.properties ?? {}).find((key) => !required.includes(key));
  if (isObject && missing !== undefined) {
    return `${context}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing}'.`;
  }
  for (const [step, child] of childSchemas(schema)) {
    const problem = strictProblemAt(child, [...path, ...step]);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function* childSchemas(schema: JsonSchemaObject): Generator<[Step[], JsonSchema]> {
  for (const [key, child] of Object.entries(schema.properties ?? {})) yield [['properties', key], child];
  if (isJsonSchema(schema.items)) yield [['items'], schema.items];
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    for (const [i, child] of (schema[keyword] ?? []).entries()) yield [[keyword, i], child];
  }
  for (const keyword of ['$defs', 'definitions'] as const) {
    for (const [name, child] of Object.entries(schema[keyword] ?? {})) yield [[keyword, name], child];
  }
}

/** The schema behind `$ref`s (only local `#/...` pointers); undefined for `false` or a broken ref. */
function resolve(root: JsonSchema, schema: JsonSchema): JsonSchemaObject | undefined {
  let current: JsonSchema = schema;
  for (let hops = 0; typeof current === 'object' && typeof current.$ref === 'string'; hops++) {
    if (hops > 32 || !current.$ref.startsWith('#')) return undefined;
    const target = pointer(root, current.$ref.slice(1));
    if (!isJsonSchema(target)) return undefined;
    current = target;
  }
  if (current === false) return undefined;
  return current === true ? {} : current;
}

function pointer(root: JsonSchema, path: string): unknown {
  let node: unknown = root;
  for (const raw of path.split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = typeof node === 'object' && node !== null ? (Reflect.get(node, key) as unknown) : undefined;
  }
  return node;
}

/** The one type a value is sampled as: the first non-null of a type list, else inferred from keywords. */
function typeOf(schema: JsonSchemaObject | undefined): JsonType {
  if (schema === undefined) return 'null';
  if (typeof schema.type === 'string') return schema.type;
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== 'null') ?? 'null';
  if (schema.properties !== undefined || schema.required !== undefined) return 'object';
  if (schema.items !== undefined || schema.prefixItems !== undefined) return 'array';
  if (schema.minimum !== undefined || schema.maximum !== undefined) return 'number';
  return 'string';
}

function pick<T>(walk: Walk, values: readonly [T, ...T[]]): T {
  return values[Math.floor(walk.next() * values.length)] ?? values[0];
}

/** FNV-1a: a stable 32-bit seed from text. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** mulberry32: a small seeded generator in [0, 1), so answers repeat exactly for the same input. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
