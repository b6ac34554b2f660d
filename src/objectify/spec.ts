/**
 * src/objectify: the mapping spec, the row conversion and the streaming dataset reader (CSV, JSON
 * Lines, gzip, UTF-16); the api validates specs with it, the worker's objectify activities load
 * rows with it.
 */
import { z } from '@hono/zod-openapi';
import { checkDefault, unstorable } from './convert.js';

export const FIELD_TYPES = ['string', 'integer', 'number', 'boolean', 'date', 'timestamp', 'json'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export const DATE_FORMATS = ['YYYY-MM-DD', 'DD/MM/YYYY', 'MM/DD/YYYY', 'YYYYMMDD', 'DD.MM.YYYY'] as const;
export type DateFormat = (typeof DATE_FORMATS)[number];

/** An object type's name; the objects and mappings APIs check path and query values against it. */
export const OBJECT_TYPE = /^[a-z][a-z0-9_-]{0,62}$/;
// Property names only ever appear as JSON keys, never as SQL identifiers; the pattern keeps them tidy.
const PROPERTY = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Text the spec keeps (it is stored as jsonb): no NUL, no unpaired surrogate. */
function storableText(schema: z.ZodString) {
  return schema.superRefine((text, ctx) => {
    const problem = unstorable(text);
    if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text.slice(0, 64))} ${problem}` });
  });
}

const TransformSchema = z
  .union([
    z.enum(['trim', 'lowercase', 'uppercase', 'parse-number']),
    z.strictObject({ 'parse-date': z.strictObject({ format: z.enum(DATE_FORMATS) }) }),
    z.strictObject({ split: z.strictObject({ separator: storableText(z.string().min(1).max(8)) }) }),
  ])
  .openapi('MappingTransform', {
    description:
      'Applied in order before the type conversion. parse-number is locale-free (spaces and _ are dropped, "." is the only decimal mark, "," is refused); parse-date reads the given format into YYYY-MM-DD; split produces a list (type json only), and the transforms after it apply to each element.',
  });
export type Transform = z.infer<typeof TransformSchema>;

const FieldSchema = z
  .strictObject({
    source: storableText(z.string().min(1).max(256)).openapi({ description: 'CSV header name or JSON Lines top-level key', example: 'alpha_2' }),
    property: z.string().regex(PROPERTY, 'property is a letter or _, then up to 62 letters, digits or _').openapi({ example: 'code' }),
    type: z.enum(FIELD_TYPES),
    required: z.boolean().default(false),
    default: z
      .unknown()
      .optional()
      .openapi({ description: 'used when the column is missing, null or empty; a JSON value of the field type (transforms do not apply to it)' }),
    transform: z.array(TransformSchema).max(16).default([]),
  })
  .superRefine((field, ctx) => {
    const problem = transformProblem(field.type, field.transform);
    if (problem) ctx.addIssue({ code: 'custom', path: ['transform'], message: problem });
    if (field.default !== undefined) {
      const checked = checkDefault(field.type, field.default);
      if (!checked.ok) ctx.addIssue({ code: 'custom', path: ['default'], message: `default ${checked.reason}` });
    }
  })
  .openapi('MappingField');
export type FieldMapping = z.infer<typeof FieldSchema>;

export const MappingSpecSchema = z
  .strictObject({
    objectType: z
      .string()
      .regex(OBJECT_TYPE, 'objectType is a lowercase letter, then up to 62 lowercase letters, digits, _ or -')
      .openapi({ example: 'country' }),
    primaryKey: z
      .array(z.string())
      .min(1)
      .max(8)
      .openapi({ description: 'property names; a composite key joins its values with ":"', example: ['code'] }),
    strict: z.boolean().default(false).openapi({ description: 'reject rows that have a column no field maps' }),
    fields: z.array(FieldSchema).min(1).max(500),
  })
  .superRefine((spec, ctx) => {
    const byProperty = new Map<string, FieldMapping>();
    spec.fields.forEach((field, i) => {
      if (byProperty.has(field.property)) {
        ctx.addIssue({ code: 'custom', path: ['fields', i, 'property'], message: `property "${field.property}" is mapped twice` });
      }
      byProperty.set(field.property, field);
    });
    const seen = new Set<string>();
    spec.primaryKey.forEach((property, i) => {
      const field = byProperty.get(property);
      if (!field) {
        ctx.addIssue({ code: 'custom', path: ['primaryKey', i], message: `primary key "${property}" is not the property of any field` });
      } else if (field.type === 'json') {
        // A JSON value has no single text form, so it cannot name an object.
        ctx.addIssue({ code: 'custom', path: ['primaryKey', i], message: `primary key "${property}" has type json; key properties must be scalar` });
      }
      if (seen.has(property)) ctx.addIssue({ code: 'custom', path: ['primaryKey', i], message: `primary key "${property}" is listed twice` });
      seen.add(property);
    });
  })
  .openapi('MappingSpec', {
    example: {
      objectType: 'country',
      primaryKey: ['code'],
      strict: false,
      fields: [
        { source: 'alpha_2', property: 'code', type: 'string', required: true, transform: ['trim', 'uppercase'] },
        { source: 'numeric', property: 'numericCode', type: 'integer', required: false, transform: [] },
      ],
    },
  });
export type MappingSpec = z.infer<typeof MappingSpecSchema>;

/**
 * Catches transform chains that would reject every row, so the mistake surfaces once, when the
 * spec is saved, rather than a million times in the rejects.
 */
function transformProblem(type: FieldType, transforms: readonly Transform[]): string | null {
  let list = false;
  let produces: 'text' | 'number' | 'date' | null = null;
  for (const transform of transforms) {
    if (typeof transform === 'object' && 'split' in transform) {
      if (list) return 'split can be used only once';
      list = true;
      produces = 'text';
    } else if (transform === 'parse-number') produces = 'number';
    else if (typeof transform === 'object') produces = 'date';
    else produces = 'text';
  }
  if (list && type !== 'json') return `split produces a list: the field's type must be json, not ${type}`;
  if (list) return null;
  if (produces === 'date' && type !== 'date' && type !== 'string') return `parse-date produces a date: use type date or string, not ${type}`;
  if (produces === 'number' && !['integer', 'number', 'string', 'json'].includes(type)) {
    return `parse-number produces a number: use type integer, number, string or json, not ${type}`;
  }
  return null;
}
