import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ContentFormat } from './types.js';

/** The library that reads each format; formats read by our own code have none. */
const LIBRARIES: Partial<Record<ContentFormat, string>> = {
  pdf: 'pdfjs-dist',
  docx: 'mammoth',
  html: 'html-to-text',
  markdown: 'marked',
  csv: 'csv-parse',
};

export interface ExtractorVersion {
  format: ContentFormat;
  /** `pdfjs-dist@5.6.205`; `harvester` for the formats read by Harvester's own code. */
  extractor: string;
}

const require = createRequire(import.meta.url);
const installed = new Map<string, string>();

/** Which extractor (and which installed version of its library) reads a format: for an asset's lineage. */
export function extractorVersion(format: ContentFormat): ExtractorVersion {
  const library = LIBRARIES[format];
  if (library === undefined) return { format, extractor: 'harvester' };
  let version = installed.get(library);
  if (version === undefined) {
    version = installedVersion(library);
    installed.set(library, version);
  }
  return { format, extractor: `${library}@${version}` };
}

/** The version in the package.json above the module Node resolves the package to. */
function installedVersion(name: string): string {
  for (let dir = dirname(require.resolve(name)); dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === name && pkg.version) return pkg.version;
  }
  return 'unknown';
}
