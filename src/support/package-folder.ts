import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A folder at the package's root (migrations, prompts), found by walking up from the calling
 * module: the same call works from source (src/db) and from the build (dist/src/db), where the
 * folder sits beside package.json, not beside the module.
 */
export function packageFolder(name: string, moduleUrl: string): string {
  const start = dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, name);
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`no ${name} folder beside a package.json above ${start}`);
  }
}

/** This package's version (package.json), as recorded in each asset's lineage. */
export const HARVESTER_VERSION = (JSON.parse(readFileSync(packageFolder('package.json', import.meta.url), 'utf8')) as { version: string }).version;
