import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileMapping, type CompileOptions, decodeKey, encodeKey, MAX_KEY_BYTES } from './convert.js';
import { FIELD_TYPES, MappingSpecSchema } from './spec.js';

/** One field `v` (source column `col`) keyed by a string `id`, as a parsed spec. */
function one(field: Record<string, unknown>, options?: CompileOptions) {
  const spec = MappingSpecSchema.parse({
    objectType: 't',
    primaryKey: ['id'],
    fields: [{ source: 'id', property: 'id', type: 'string' }, { source: 'col', property: 'v', ...field }],
  });
  const mapping = compileMapping(spec, options);
  return (value: unknown) => {
    const result = mapping.convert(value === undefined ? { id: '1' } : { id: '1', col: value });
    return result.ok ? result.properties.v : result.reason;
  };
}

const reason = (text: string) => `column "col": ${text}`;

describe('types', () => {
  it('string: any scalar as text', () => {
    const convert = one({ type: 'string' });
    expect([' x ', 42, 1.5, true].map(convert)).toEqual([' x ', '42', '1.5', 'true']);
    expect(convert({ a: 1 })).toBe(reason('an object is not text'));
    expect(convert([1])).toBe(reason('a list is not text'));
  });

  it('integer: safe integers from digits or JSON numbers', () => {
    const convert = one({ type: 'integer' });
    expect(['42', ' -7 ', '+3', '007', '-0', '42.00', 42, -0, 9007199254740991].map(convert)).toEqual([42, -7, 3, 7, 0, 42, 42, 0, 9007199254740991]);
    expect(convert('12a')).toBe(reason('"12a" is not an integer'));
    expect(convert('4.2')).toBe(reason('"4.2" is not an integer'));
    expect(convert('1e3')).toBe(reason('"1e3" is not an integer'));
    expect(convert('1 000')).toBe(reason('"1 000" is not an integer'));
    expect(convert(4.2)).toBe(reason('4.2 is not an integer'));
    expect(convert(true)).toBe(reason('true is not an integer'));
    expect(convert('9007199254740992')).toBe(reason('"9007199254740992" is outside the safe integer range (±9007199254740991)'));
    expect(convert(-(2 ** 60))).toMatch(/outside the safe integer range/);
  });

  it('number: finite decimals', () => {
    const convert = one({ type: 'number' });
    expect(['-1234.5', '1e3', '.5', '5.', ' 2.5E-3 ', 1.25, '-0'].map(convert)).toEqual([-1234.5, 1000, 0.5, 5, 0.0025, 1.25, 0]);
    for (const bad of ['1,5', 'NaN', 'Infinity', '0x10', '1_000', '--1', '1.2.3']) expect(convert(bad)).toBe(reason(`${JSON.stringify(bad)} is not a number`));
    expect(convert('1e400')).toBe(reason('"1e400" is out of range'));
    expect(convert(false)).toBe(reason('false is not a number'));
  });

  it('boolean: true/false, 1/0, yes/no in any case', () => {
    const convert = one({ type: 'boolean' });
    expect(['true', 'FALSE', ' Yes ', 'no', '1', '0', 1, 0, true, false].map(convert)).toEqual([true, false, true, false, true, false, true, false, true, false]);
    expect(convert('y')).toBe(reason('"y" is not a boolean (true/false, 1/0, yes/no)'));
    expect(convert(2)).toBe(reason('2 is not a boolean (true/false, 1/0, yes/no)'));
  });

  it('date: ISO dates that exist in the calendar', () => {
    const convert = one({ type: 'date' });
    expect(['2024-02-29', ' 2000-02-29 ', '1900-02-28', '0001-01-01', '9999-12-31'].map(convert)).toEqual([
      '2024-02-29',
      '2000-02-29',
      '1900-02-28',
      '0001-01-01',
      '9999-12-31',
    ]);
    for (const bad of ['2023-02-29', '1900-02-29', '2024-04-31', '2024-13-01', '2024-00-10', '0000-01-01']) {
      expect(convert(bad)).toBe(reason(`${JSON.stringify(bad)} is not a calendar date`));
    }
    expect(convert('31/01/2024')).toBe(reason('"31/01/2024" is not a date (YYYY-MM-DD; add a parse-date transform for other formats)'));
    expect(convert('2024-01-31T00:00:00Z')).toMatch(/is not a date/);
    expect(convert(20240131)).toMatch(/is not a date/);
  });

  it('timestamp: ISO 8601 with an offset, normalised to UTC', () => {
    const convert = one({ type: 'timestamp' });
    expect(convert('2024-01-31T12:00:00Z')).toBe('2024-01-31T12:00:00.000Z');
    expect(convert('2024-01-31T12:00:00+02:00')).toBe('2024-01-31T10:00:00.000Z');
    expect(convert('2024-01-31 12:00-0530')).toBe('2024-01-31T17:30:00.000Z');
    expect(convert('2024-01-01t00:30+01')).toBe('2023-12-31T23:30:00.000Z');
    expect(convert('2024-02-29T23:59:59.5z')).toBe('2024-02-29T23:59:59.500Z');
    expect(convert('2024-01-31T12:00:00.123456789Z')).toBe('2024-01-31T12:00:00.123456Z');
    expect(convert('2024-01-31T12:00:00,250000+00:00')).toBe('2024-01-31T12:00:00.250Z');
    expect(convert('0099-06-01T00:00:00Z')).toBe('0099-06-01T00:00:00.000Z');
    expect(convert('2024-01-31T12:00:00')).toBe(reason('"2024-01-31T12:00:00" has no UTC offset (end it with Z or ±hh:mm)'));
    expect(convert('2024-01-31')).toBe(reason('"2024-01-31" is not an ISO 8601 timestamp (2024-01-31T12:00:00Z)'));
    for (const bad of ['2023-02-29T00:00:00Z', '2024-01-31T24:00:00Z', '2024-01-31T12:60:00Z', '2024-01-31T12:00:60Z', '2024-01-31T12:00:00+24:00']) {
      expect(convert(bad)).toBe(reason(`${JSON.stringify(bad)} is not a valid time`));
    }
    expect(convert('0001-01-01T00:00:00+01:00')).toBe(reason('"0001-01-01T00:00:00+01:00" is outside the years 0001-9999 in UTC'));
    expect(convert(1706702400)).toBe(reason('1706702400 is not a timestamp'));
  });

  it('json: CSV cells are parsed, JSON Lines values are kept', () => {
    const fromCsv = one({ type: 'json' });
    expect(['{"a":[1,2]}', ' [true] ', '"text"', '3'].map(fromCsv)).toEqual([{ a: [1, 2] }, [true], 'text', 3]);
    expect(fromCsv('hello')).toBe(reason('"hello" is not valid JSON'));
    const fromJsonl = one({ type: 'json' }, { format: 'jsonl' });
    expect(['hello', '{"a":1}', 3, { a: { b: null } }, [1, 'x'], false].map(fromJsonl)).toEqual(['hello', '{"a":1}', 3, { a: { b: null } }, [1, 'x'], false]);
  });
});

describe('transforms', () => {
  it('trim, lowercase and uppercase, in order, also on JSON scalars', () => {
    expect(one({ type: 'string', transform: ['trim', 'uppercase'] })('  fr \t')).toBe('FR');
    expect(one({ type: 'string', transform: ['lowercase'] })('ÄÖÜ ÉTÉ')).toBe('äöü été');
    expect(one({ type: 'string', transform: ['uppercase'] })('straße')).toBe('STRASSE');
    expect(one({ type: 'integer', transform: ['trim'] })(42)).toBe(42);
    expect(one({ type: 'string', transform: ['uppercase'] })(true)).toBe('TRUE');
    expect(one({ type: 'string', transform: ['trim'] })({})).toBe(reason('an object is not text (transform trim)'));
  });

  it('parse-number: spaces and _ dropped, "." only, no guessing about ","', () => {
    const number = one({ type: 'number', transform: ['parse-number'] });
    expect(['1 234 567.5', '1\u00a0234', '1_000_000', ' -1234.5 ', '+.5', '1e3', 12.5].map(number)).toEqual([1234567.5, 1234, 1000000, -1234.5, 0.5, 1000, 12.5]);
    expect(number('1,234.5')).toBe(reason('"1,234.5" is not a number: "," is ambiguous, use "." for decimals and no thousands separator'));
    expect(number('12,5')).toMatch(/"," is ambiguous/);
    expect(number('12 abc')).toBe(reason('"12 abc" is not a number'));
    expect(number('_')).toBe(reason('"_" is not a number'));
    expect(number(true)).toBe(reason('true is not a number'));
    const integer = one({ type: 'integer', transform: ['parse-number'] });
    expect(['1 000', '1e3', '42.0'].map(integer)).toEqual([1000, 1000, 42]);
    expect(integer('4.5')).toBe(reason('4.5 is not an integer'));
    expect(one({ type: 'string', transform: ['parse-number'] })('0_1.50')).toBe('1.5');
  });

  it('parse-date: each format, into YYYY-MM-DD, checked against the calendar', () => {
    const date = (format: string) => one({ type: 'date', transform: [{ 'parse-date': { format } }] });
    expect(date('YYYY-MM-DD')('2024-1-5')).toBe('2024-01-05');
    expect(date('DD/MM/YYYY')('31/01/2024')).toBe('2024-01-31');
    expect(date('MM/DD/YYYY')('1/31/2024')).toBe('2024-01-31');
    expect(date('YYYYMMDD')(' 20240229 ')).toBe('2024-02-29');
    expect(date('YYYYMMDD')(20240229)).toBe('2024-02-29');
    expect(date('DD.MM.YYYY')('29.02.2024')).toBe('2024-02-29');
    expect(date('DD/MM/YYYY')('01/31/2024')).toBe(reason('"01/31/2024" is not a calendar date'));
    expect(date('DD.MM.YYYY')('29.02.2023')).toBe(reason('"29.02.2023" is not a calendar date'));
    expect(date('DD/MM/YYYY')('2024-01-31')).toBe(reason('"2024-01-31" does not match DD/MM/YYYY'));
    expect(date('YYYYMMDD')('2024013')).toBe(reason('"2024013" does not match YYYYMMDD'));
    expect(one({ type: 'string', transform: [{ 'parse-date': { format: 'DD.MM.YYYY' } }] })('1.2.2024')).toBe('2024-02-01');
  });

  it('split: a list whose elements the later transforms work on', () => {
    const tags = one({ type: 'json', transform: [{ split: { separator: ';' } }, 'trim', 'lowercase'] });
    expect(tags('Red; GREEN ;;blue')).toEqual(['red', 'green', '', 'blue']);
    expect(tags('single')).toEqual(['single']);
    const numbers = one({ type: 'json', transform: [{ split: { separator: '|' } }, 'parse-number'] });
    expect(numbers('1|2.5| 3 ')).toEqual([1, 2.5, 3]);
    expect(numbers('1|x')).toBe(reason('"x" is not a number'));
    const dates = one({ type: 'json', transform: [{ split: { separator: ', ' } }, { 'parse-date': { format: 'YYYYMMDD' } }] });
    expect(dates('20240101, 20241231')).toEqual(['2024-01-01', '2024-12-31']);
    expect(one({ type: 'json', transform: [{ split: { separator: ',' } }] }, { format: 'jsonl' })(12)).toEqual(['12']);
  });
});

describe('empty values, defaults and required', () => {
  it('turns missing, null and "" into null, a default or a reject', () => {
    const optional = one({ type: 'integer' });
    expect([undefined, null, '', '   '].map(optional)).toEqual([null, null, null, null]);
    const required = one({ type: 'integer', required: true });
    expect([undefined, null, ''].map(required)).toEqual(Array(3).fill('column "col" is required but empty'));
    const withDefault = one({ type: 'integer', required: true, default: '5' });
    expect([undefined, null, '', ' ', '7'].map(withDefault)).toEqual([5, 5, 5, 5, 7]);
  });

  it('keeps whitespace in a string, unless a transform empties it', () => {
    expect(one({ type: 'string' })('  ')).toBe('  ');
    expect(one({ type: 'string', transform: ['trim'], default: 'n/a' })('  ')).toBe('n/a');
    expect(one({ type: 'string', transform: ['trim'], required: true })(' ')).toBe('column "col" is required but empty');
  });

  it('does not transform the default', () => {
    expect(one({ type: 'string', transform: ['uppercase'], default: 'unknown' })(undefined)).toBe('unknown');
    expect(one({ type: 'date', transform: [{ 'parse-date': { format: 'DD/MM/YYYY' } }], default: '2000-01-01' })('')).toBe('2000-01-01');
  });
});

describe('strict mode', () => {
  const spec = (strict: boolean) => MappingSpecSchema.parse({ objectType: 't', primaryKey: ['id'], strict, fields: [{ source: 'id', property: 'id', type: 'string' }] });

  it('rejects a row with a column no field maps, naming it', () => {
    expect(compileMapping(spec(true)).convert({ id: '1', extra: '' })).toEqual({ ok: false, column: 'extra', reason: 'column "extra" is not in the mapping (strict)' });
    expect(compileMapping(spec(true)).convert({ id: '1' }).ok).toBe(true);
    expect(compileMapping(spec(false)).convert({ id: '1', extra: 'x' })).toEqual({ ok: true, key: '1', properties: { id: '1' } });
  });
});

describe('keys', () => {
  const spec = MappingSpecSchema.parse({
    objectType: 'reading',
    primaryKey: ['site', 'day', 'n', 'ok'],
    fields: [
      { source: 'Site', property: 'site', type: 'string' },
      { source: 'Day', property: 'day', type: 'date', transform: [{ 'parse-date': { format: 'DD/MM/YYYY' } }] },
      { source: 'N', property: 'n', type: 'integer' },
      { source: 'OK', property: 'ok', type: 'boolean' },
      { source: 'Note', property: 'note', type: 'string' },
    ],
  });
  const mapping = compileMapping(spec);

  it('joins the converted key values with ":", escaping ":" and "%"', () => {
    const result = mapping.convert({ Site: 'a:b%c', Day: '02/01/2024', N: '007', OK: 'Yes', Note: '' });
    expect(result).toEqual({ ok: true, key: 'a%3Ab%25c:2024-01-02:7:true', properties: { site: 'a:b%c', day: '2024-01-02', n: 7, ok: true, note: null } });
    expect(decodeKey('a%3Ab%25c:2024-01-02:7:true')).toEqual(['a:b%c', '2024-01-02', '7', 'true']);
    expect(mapping.sources).toEqual(['Site', 'Day', 'N', 'OK', 'Note']);
  });

  it('rejects a row with an empty key part', () => {
    expect(mapping.convert({ Site: 'x', Day: '02/01/2024', N: '', OK: 'no' })).toEqual({ ok: false, column: 'N', reason: 'primary key n is empty' });
  });

  it('round-trips any tuple, and distinct tuples give distinct keys', () => {
    const tuple = fc.array(fc.string({ unit: fc.constantFrom('a', ':', '%', '2', '5', '3', 'A', 'é') }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(tuple, (values) => {
        expect(decodeKey(encodeKey(values))).toEqual(values);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(tuple, tuple, (a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b));
        expect(encodeKey(a)).not.toBe(encodeKey(b));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 8 }), (values) => {
        expect(decodeKey(encodeKey(values))).toEqual(values);
      }),
    );
  });

  it('throws for an empty tuple, a programming error', () => {
    expect(() => encodeKey([])).toThrow();
  });
});

describe('robustness', () => {
  it('keeps a property and a column named __proto__ as data', () => {
    const spec = MappingSpecSchema.parse({ objectType: 't', primaryKey: ['__proto__'], fields: [{ source: '__proto__', property: '__proto__', type: 'string' }] });
    const row = JSON.parse('{"__proto__":"x"}') as Record<string, unknown>;
    const result = compileMapping(spec).convert(row);
    expect(result.ok && Object.hasOwn(result.properties, '__proto__') && result.key).toBe('x');
    // Inherited members of a plain object are not columns.
    const constructor = MappingSpecSchema.parse({ objectType: 't', primaryKey: ['c'], fields: [{ source: 'constructor', property: 'c', type: 'string' }] });
    expect(compileMapping(constructor).convert({})).toEqual({ ok: false, column: 'constructor', reason: 'primary key c is empty' });
  });

  it('never throws for bad data, and says which column when it rejects', () => {
    const fields = FIELD_TYPES.map((type) => ({ source: type, property: type === 'json' ? 'j' : type, type }));
    const spec = MappingSpecSchema.parse({ objectType: 't', primaryKey: ['string'], strict: true, fields });
    const value = fc.oneof(fc.string(), fc.jsonValue(), fc.constantFrom('2024-02-30', '1e999', 'YES', '2024-01-01T00:00:00+14:00'));
    for (const format of ['csv', 'jsonl'] as const) {
      const mapping = compileMapping(spec, { format });
      fc.assert(
        fc.property(fc.dictionary(fc.constantFrom(...FIELD_TYPES, 'other'), value), (row) => {
          const result = mapping.convert(row);
          if (!result.ok) {
            expect(result.reason.length).toBeGreaterThan(0);
            expect(result.column === null || Object.hasOwn(row, result.column) || (FIELD_TYPES as readonly string[]).includes(result.column)).toBe(true);
          }
        }),
        { numRuns: 2000 },
      );
    }
  });

  it('rejects values Postgres cannot store, rather than letting them fail a batch', () => {
    const json = one({ type: 'json' }, { format: 'jsonl' });
    const text = one({ type: 'string' });
    expect(text('a\0b')).toBe('column "col" contains a NUL character (U+0000), which cannot be stored');
    expect(text('x\ud800')).toBe('column "col" contains an unpaired UTF-16 surrogate, which is not Unicode text');
    expect(text('🙂 \u{1F600}')).toBe('🙂 😀');
    expect(json({ 'k\0': 1 })).toBe('column "col" has a key that contains a NUL character (U+0000), which cannot be stored');
    expect(json([Number.POSITIVE_INFINITY])).toBe('column "col" holds Infinity, which is not a finite number');
    const nested = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    expect(json(nested(64))).toEqual(nested(64));
    expect(json(nested(65))).toBe('column "col" nests deeper than 64 levels');
    expect(json(nested(1_000_000))).toBe('column "col" nests deeper than 64 levels');
  });

  it('rejects a key longer than MAX_KEY_BYTES', () => {
    const spec = MappingSpecSchema.parse({ objectType: 't', primaryKey: ['id'], fields: [{ source: 'id', property: 'id', type: 'string' }] });
    const mapping = compileMapping(spec);
    expect(mapping.convert({ id: 'é'.repeat(MAX_KEY_BYTES / 2) })).toMatchObject({ ok: true });
    expect(mapping.convert({ id: 'é'.repeat(MAX_KEY_BYTES / 2 + 1) })).toEqual({ ok: false, column: 'id', reason: `primary key is ${MAX_KEY_BYTES + 2} bytes long, above the limit of ${MAX_KEY_BYTES}` });
  });

  it('throws for a spec that did not go through the schema, a programming error', () => {
    const spec = { objectType: 't', primaryKey: ['missing'], strict: false, fields: [{ source: 'a', property: 'a', type: 'string' as const, required: false, transform: [] }] };
    expect(() => compileMapping(spec)).toThrow(/validate the spec/);
  });
});
