import { z } from 'zod';

/** What a model writes about a document (or one window of it), validated on the way back. */
export interface Insights {
  title: string;
  summary: string;
  keywords: string[];
  /** ISO 639-3, as the local provider reports it; 'und' when the model cannot tell. */
  language: string;
  entities: Entity[];
  /** A subset of AI_LABELS. */
  labels: string[];
  questions: StudyQuestion[];
}

export const ENTITY_KINDS = ['person', 'organization', 'location', 'date', 'product', 'event', 'work', 'other'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

export interface Entity {
  name: string;
  kind: EntityKind;
}

export interface StudyQuestion {
  question: string;
  answer: string;
}

export interface InsightsOptions {
  labels: readonly string[];
  questions: number;
}

/** Longest strings kept from an answer: a model that rambles is clipped, not refused. */
const MAX = { title: 300, summary: 4000, keyword: 100, name: 200, question: 1000, answer: 2000 } as const;
const MAX_KEYWORDS = 15;
const MAX_ENTITIES = 50;

const clipped = (max: number) => z.string().transform((s) => s.trim().slice(0, max));

/**
 * The answer's schema. Every property is required and no other is allowed, as OpenAI's strict
 * structured outputs demand; labels and questions appear only when configured. Lengths are clipped
 * after validation rather than put in the JSON schema, whose maxLength strict mode does not accept.
 */
export function insightsSchema({ labels, questions }: InsightsOptions) {
  return z.strictObject({
    title: clipped(MAX.title),
    summary: clipped(MAX.summary),
    keywords: z.array(clipped(MAX.keyword)).max(MAX_KEYWORDS),
    language: z.string().transform((code) => (/^[a-z]{3}$/.test(code.trim().toLowerCase()) ? code.trim().toLowerCase() : 'und')),
    entities: z.array(z.strictObject({ name: clipped(MAX.name), kind: z.enum(ENTITY_KINDS) })).max(MAX_ENTITIES),
    ...(labels.length > 0 ? { labels: z.array(z.enum(labels as [string, ...string[]])).max(labels.length) } : {}),
    ...(questions > 0
      ? { questions: z.array(z.strictObject({ question: clipped(MAX.question), answer: clipped(MAX.answer) })).max(questions) }
      : {}),
  });
}

/** The JSON schema sent as `response_format` (draft 7, which every compatible server reads). */
export function insightsJsonSchema(options: InsightsOptions): Record<string, unknown> {
  // Without the $schema keyword, which some servers refuse in a response_format.
  const schema: Record<string, unknown> = z.toJSONSchema(insightsSchema(options), { target: 'draft-7', io: 'input' });
  delete schema.$schema;
  return schema;
}

/** Validates an answer; the zod error's message lists what is wrong, for the repair prompt. */
export function parseInsights(value: unknown, options: InsightsOptions): Insights {
  const answer = insightsSchema(options).parse(value);
  return {
    title: answer.title,
    summary: answer.summary,
    keywords: dedupe(answer.keywords.filter((k) => k !== '')),
    language: answer.language,
    entities: answer.entities,
    // Present, and validated, only when configured: the schema's inferred type cannot say so.
    labels: dedupe((answer.labels as string[] | undefined) ?? []),
    questions: (answer.questions as StudyQuestion[] | undefined) ?? [],
  };
}

function dedupe(values: string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const key = v.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
