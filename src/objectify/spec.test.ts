import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { MappingSpecSchema } from './spec.js';

const country = {
  objectType: 'country',
  primaryKey: ['code'],
  strict: false,
  fields: [
    { source: 'alpha_2', property: 'code', type: 'string', required: true, transform: ['trim', 'uppercase'] },
    { source: 'numeric', property: 'numericCode', type: 'integer' },
  ],
};

/** The messages of a failed parse, each with its path. */
function problems(input: unknown): string[] {
  const result = MappingSpecSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

const withField = (field: Record<string, unknown>) => ({ ...country, fields: [...country.fields, { source: 's', property: 'p', ...field }] });

describe('MappingSpecSchema', () => {
  it('parses the wire shape and fills in the defaults', () => {
    const spec = MappingSpecSchema.parse({ ...country, strict: undefined });
    expect(spec.strict).toBe(false);
    expect(spec.fields[1]).toEqual({ source: 'numeric', property: 'numericCode', type: 'integer', required: false, transform: [] });
    expect(spec.fields[0]?.transform).toEqual(['trim', 'uppercase']);
  });

  it('accepts every type and transform', () => {
    const spec = {
      ...country,
      fields: [
        ...country.fields,
        { source: 'a', property: 'a', type: 'number', transform: ['parse-number'] },
        { source: 'b', property: 'b', type: 'boolean', default: 'no' },
        { source: 'c', property: 'c', type: 'date', transform: [{ 'parse-date': { format: 'DD.MM.YYYY' } }] },
        { source: 'd', property: 'd', type: 'timestamp' },
        { source: 'e', property: 'e', type: 'json', transform: [{ split: { separator: ';' } }, 'trim', 'lowercase'] },
        { source: 'f', property: 'f', type: 'string', transform: [{ 'parse-date': { format: 'MM/DD/YYYY' } }] },
      ],
    };
    expect(problems(spec)).toEqual([]);
  });

  it('checks names', () => {
    expect(problems({ ...country, objectType: 'Country' })[0]).toMatch(/^objectType: objectType is a lowercase letter/);
    expect(problems({ ...country, objectType: 'a'.repeat(64) })).toHaveLength(1);
    expect(problems(withField({ property: '1st', type: 'string' }))[0]).toMatch(/^fields\.2\.property: property is a letter or _/);
    expect(problems(withField({ property: 'a-b', type: 'string' }))).toHaveLength(1);
    expect(problems(withField({ source: '', type: 'string' }))[0]).toMatch(/^fields\.2\.source:/);
    expect(problems(withField({ source: 'x'.repeat(257), type: 'string' }))).toHaveLength(1);
    // Any text is a source name, except what Postgres cannot store (the spec is kept as jsonb).
    expect(problems(withField({ source: '__proto__ "$.\\🙂', type: 'string' }))).toEqual([]);
    expect(problems(withField({ source: 'a\0', type: 'string' }))[0]).toMatch(/^fields\.2\.source: "a\\u0000" contains a NUL character/);
    expect(problems(withField({ source: '\udc00', type: 'string' }))[0]).toMatch(/^fields\.2\.source: .* unpaired UTF-16 surrogate/);
    expect(problems(withField({ type: 'json', transform: [{ split: { separator: '\0' } }] }))[0]).toMatch(/separator: .* NUL character/);
  });

  it('requires the primary key to name scalar properties, once each', () => {
    expect(problems({ ...country, primaryKey: ['alpha_2'] })).toEqual(['primaryKey.0: primary key "alpha_2" is not the property of any field']);
    expect(problems({ ...country, primaryKey: ['code', 'code'] })).toEqual(['primaryKey.1: primary key "code" is listed twice']);
    expect(problems({ ...withField({ type: 'json' }), primaryKey: ['p'] })).toEqual([
      'primaryKey.0: primary key "p" has type json; key properties must be scalar',
    ]);
    expect(problems({ ...country, primaryKey: [] })).toHaveLength(1);
    expect(problems({ ...country, primaryKey: Array.from({ length: 9 }, () => 'code') }).length).toBeGreaterThan(0);
  });

  it('refuses a property mapped twice', () => {
    expect(problems(withField({ property: 'code', type: 'string' }))).toEqual(['fields.2.property: property "code" is mapped twice']);
  });

  it('bounds the number of fields', () => {
    expect(problems({ ...country, fields: [] })[0]).toMatch(/^fields: /);
    const many = Array.from({ length: 501 }, (_, i) => ({ source: `c${i}`, property: `p${i}`, type: 'string' }));
    expect(problems({ ...country, primaryKey: ['p0'], fields: many })).toHaveLength(1);
    expect(problems({ ...country, primaryKey: ['p0'], fields: many.slice(0, 500) })).toEqual([]);
  });

  it('refuses transform chains that cannot produce the type', () => {
    expect(problems(withField({ type: 'string', transform: [{ split: { separator: ',' } }] }))).toEqual([
      "fields.2.transform: split produces a list: the field's type must be json, not string",
    ]);
    expect(problems(withField({ type: 'json', transform: [{ split: { separator: ',' } }, { split: { separator: ';' } }] }))).toEqual([
      'fields.2.transform: split can be used only once',
    ]);
    expect(problems(withField({ type: 'integer', transform: [{ 'parse-date': { format: 'YYYYMMDD' } }] }))).toEqual([
      'fields.2.transform: parse-date produces a date: use type date or string, not integer',
    ]);
    expect(problems(withField({ type: 'boolean', transform: ['parse-number'] }))).toEqual([
      'fields.2.transform: parse-number produces a number: use type integer, number, string or json, not boolean',
    ]);
    // A text transform after parse-number gives text again, which any type may read.
    expect(problems(withField({ type: 'boolean', transform: ['parse-number', 'trim'] }))).toEqual([]);
  });

  it('refuses unknown transforms, formats and separators', () => {
    expect(problems(withField({ type: 'string', transform: ['reverse'] }))).toHaveLength(1);
    expect(problems(withField({ type: 'date', transform: [{ 'parse-date': { format: 'D/M/YY' } }] }))).toHaveLength(1);
    expect(problems(withField({ type: 'json', transform: [{ split: { separator: '' } }] }))).toHaveLength(1);
    expect(problems(withField({ type: 'json', transform: [{ split: { separator: '123456789' } }] }))).toHaveLength(1);
    expect(problems(withField({ type: 'json', transform: [{ split: { separator: ',' }, trim: true }] }))).toHaveLength(1);
  });

  it('requires the default to convert to the field type', () => {
    expect(problems(withField({ type: 'integer', default: '42' }))).toEqual([]);
    expect(problems(withField({ type: 'integer', default: 'abc' }))).toEqual(['fields.2.default: default "abc" is not an integer']);
    expect(problems(withField({ type: 'date', default: '2023-02-29' }))).toEqual(['fields.2.default: default "2023-02-29" is not a calendar date']);
    expect(problems(withField({ type: 'string', default: null }))).toEqual(['fields.2.default: default cannot be null: leave it out instead']);
    expect(problems(withField({ type: 'json', default: { tags: [] } }))).toEqual([]);
  });

  it('requires the default to be storable', () => {
    expect(problems(withField({ type: 'string', default: 'a\0' }))).toEqual(['fields.2.default: default contains a NUL character (U+0000), which cannot be stored']);
    expect(problems(withField({ type: 'json', default: JSON.parse(`${'['.repeat(65)}${']'.repeat(65)}`) as unknown }))).toEqual(['fields.2.default: default nests deeper than 64 levels']);
  });

  it('refuses unknown keys, which are usually typos', () => {
    expect(problems({ ...country, strcit: true })).toHaveLength(1);
    expect(problems(withField({ type: 'string', requried: true }))).toHaveLength(1);
  });

  it('appears in the OpenAPI document as MappingSpec', () => {
    const app = new OpenAPIHono();
    const route = createRoute({
      method: 'post',
      path: '/mappings',
      request: { body: { content: { 'application/json': { schema: MappingSpecSchema } } } },
      responses: { 204: { description: 'stored' } },
    });
    app.openapi(route, (c) => c.body(null, 204));
    const document = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
    expect(Object.keys(document.components?.schemas ?? {})).toEqual(expect.arrayContaining(['MappingSpec', 'MappingField', 'MappingTransform']));
  });
});
