import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageFolder } from '../support/package-folder.js';
import type { InsightsOptions } from './insights.js';

/**
 * The prompt files this build uses: prompts/<PROMPT_VERSION>/*.md at the package's root. A change
 * of wording is a new version folder, so each asset's recorded prompt version names the exact
 * text its model calls were given.
 */
export const PROMPT_VERSION = 'analysis/v1';

const FILES = ['system', 'labels', 'questions', 'document', 'window', 'combine', 'repair'] as const;
type PromptName = (typeof FILES)[number];

export interface PromptSet {
  version: string;
  /** The instructions, with the optional rules for labels and questions when configured. */
  system(options: InsightsOptions): string;
  document(text: string): string;
  window(text: string, part: number, of: number): string;
  combine(partials: string): string;
  repair(errors: string): string;
}

/** Reads the prompt files once; a missing file fails the worker at start-up, not a run. */
export function loadPromptSet(version = PROMPT_VERSION): PromptSet {
  const folder = join(packageFolder('prompts', import.meta.url), version);
  const files = Object.fromEntries(FILES.map((name) => [name, readFileSync(join(folder, `${name}.md`), 'utf8').trim()])) as Record<PromptName, string>;
  return {
    version,
    system: ({ labels, questions }) =>
      [
        files.system,
        ...(labels.length > 0 ? [fill(files.labels, { labels: labels.map((l) => JSON.stringify(l)).join(', ') })] : []),
        ...(questions > 0 ? [fill(files.questions, { questions: String(questions) })] : []),
      ].join('\n'),
    document: (text) => fill(files.document, { text }),
    window: (text, part, of) => fill(files.window, { text, part: String(part), of: String(of) }),
    combine: (partials) => fill(files.combine, { partials }),
    repair: (errors) => fill(files.repair, { errors }),
  };
}

/** `{{name}}` → its value, in one pass, so a value that itself holds `{{…}}` (document text) is left as it is. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (match, name: string) => values[name] ?? match);
}
