import { z } from '@hono/zod-openapi';
import { MappingSpecSchema } from '../objectify/spec.js';
import { S3BucketSchema } from '../storage/names.js';

/**
 * The connector wire shape: what a source is (kind and config), when it is polled (schedule) and,
 * for tabular kinds, how its rows become objects (mapping). The API validates requests with these
 * schemas and generates the OpenAPI document from them.
 */

export const CONNECTOR_KINDS = ['http-csv', 's3-prefix'] as const;
export type ConnectorKind = (typeof CONNECTOR_KINDS)[number];

export const HttpCsvConfigSchema = z
  .strictObject({
    url: z.string().min(1).max(2048).openapi({
      description: 'http or https URL serving CSV, e.g. a Google Sheets "export as CSV" link. Private, loopback and link-local addresses are refused unless the host is in CONNECTOR_ALLOWED_HOSTS.',
      example: 'https://docs.google.com/spreadsheets/d/<id>/export?format=csv',
    }),
  })
  .openapi('HttpCsvConfig');

export const S3PrefixConfigSchema = z
  .strictObject({
    bucket: S3BucketSchema,
    prefix: z.string().max(1024).default('').openapi({ description: 'only keys starting with this; empty for the whole bucket', example: 'reports/' }),
    suffix: z.string().min(1).max(256).optional().openapi({ description: 'only keys ending with this', example: '.pdf' }),
  })
  .openapi('S3PrefixConfig');

export type HttpCsvConfig = z.infer<typeof HttpCsvConfigSchema>;
export type S3PrefixConfig = z.infer<typeof S3PrefixConfigSchema>;

/** `30m`, `1h`, `2d`: whole seconds, minutes, hours or days. */
export const EVERY = /^([1-9]\d{0,5})(s|m|h|d)$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;
export const MIN_INTERVAL_SECONDS = 60;
const MAX_INTERVAL_SECONDS = 366 * 86_400;

/** Seconds in an `every` value (the schema has checked its form). */
export function intervalSeconds(every: string): number {
  const match = EVERY.exec(every);
  if (!match) throw new Error(`not an interval: ${every}`);
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const ScheduleSchema = z
  .union([
    z.strictObject({
      every: z
        .string()
        .regex(EVERY, 'every is a whole number of s, m, h or d, e.g. "15m"')
        .refine((every) => intervalSeconds(every) >= MIN_INTERVAL_SECONDS && intervalSeconds(every) <= MAX_INTERVAL_SECONDS, 'every is between 1m and 366d')
        .openapi({ example: '15m' }),
    }),
    z.strictObject({
      cron: z.string().min(9).max(120).openapi({ description: 'five-field cron expression, checked by Temporal', example: '0 * * * *' }),
      timezone: z.string().max(64).refine(isTimeZone, 'timezone is an IANA time zone name, e.g. "Europe/Berlin"').default('UTC'),
    }),
  ])
  .openapi('ConnectorSchedule', { description: 'An interval, or a cron expression in a time zone. Runs on a Temporal Schedule.' });
export type ConnectorSchedule = z.infer<typeof ScheduleSchema>;

const MappingRefSchema = z
  .union([z.string().regex(/^\d{1,18}$/, 'a mapping id').openapi({ example: '7' }), MappingSpecSchema])
  .openapi({ description: 'A registered mapping id, or an inline spec (registered idempotently)' });

const common = {
  name: z.string().min(1).max(200).openapi({ example: 'country list' }),
  schedule: ScheduleSchema,
  /** Pause the schedule after a failed sync, until resumed. */
  pauseOnFailure: z.boolean().default(true).openapi({ description: 'pause the schedule after a failed sync until it is resumed (default true)' }),
};

export const CreateConnectorSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ ...common, kind: z.literal('http-csv'), config: HttpCsvConfigSchema, mapping: MappingRefSchema }),
    z.strictObject({ ...common, kind: z.literal('s3-prefix'), config: S3PrefixConfigSchema }),
  ])
  .openapi('CreateConnector');
export type CreateConnector = z.infer<typeof CreateConnectorSchema>;

/** Any subset of the fields; the kind stays (its cursor means nothing to another kind). */
export const UpdateConnectorSchema = z
  .strictObject({
    name: common.name.optional(),
    schedule: ScheduleSchema.optional(),
    pauseOnFailure: z.boolean().optional(),
    config: z.union([HttpCsvConfigSchema, S3PrefixConfigSchema]).optional(),
    mapping: MappingRefSchema.optional(),
  })
  .openapi('UpdateConnector');
export type UpdateConnector = z.infer<typeof UpdateConnectorSchema>;
