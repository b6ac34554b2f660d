import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The shape of src/ that the code map in the README promises, checked on the import graph itself.
// Folders are the units (the files at the top of src/ count as one); type-only imports are
// erased at build time and do not count.

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

interface Edge {
  from: string;
  to: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

function isTypeOnly(statement: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(statement)) {
    return statement.isTypeOnly || (!!statement.exportClause && ts.isNamedExports(statement.exportClause) && statement.exportClause.elements.every((e) => e.isTypeOnly));
  }
  const clause = statement.importClause;
  if (!clause) return false; // a side-effect import
  if (clause.isTypeOnly) return true;
  const named = clause.namedBindings;
  return !clause.name && !!named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
}

/** Every value import between two files of src/. */
function valueImports(): Edge[] {
  return sources(SRC).flatMap((file) => {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
    return source.statements.flatMap((statement) => {
      if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) || !statement.moduleSpecifier) return [];
      const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
      if (!specifier.startsWith('.') || isTypeOnly(statement)) return [];
      const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
      return target.startsWith(SRC) ? [{ from: relative(SRC, file), to: relative(SRC, target) }] : [];
    });
  });
}

const folderOf = (path: string): string => (path.includes('/') ? path.split('/')[0]! : '(top)');

/** The strongly connected components with more than one folder (Tarjan). */
function folderCycles(edges: Edge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const [a, b] = [folderOf(from), folderOf(to)];
    if (a !== b) next.set(a, (next.get(a) ?? new Set()).add(b));
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const folder of next.keys()) if (!index.has(folder)) visit(folder);
  return cycles;
}

describe('the architecture of src/', () => {
  const edges = valueImports();

  it('has no import cycle between folders', () => {
    const cycles = folderCycles(edges);
    const explain = cycles.map((cycle) =>
      edges.filter((e) => cycle.includes(folderOf(e.from)) && cycle.includes(folderOf(e.to)) && folderOf(e.from) !== folderOf(e.to)).map((e) => `${e.from} -> ${e.to}`),
    );
    expect(explain).toEqual([]);
  });

  it('keeps the contracts a leaf: they import only each other', () => {
    expect(edges.filter((e) => folderOf(e.from) === 'contracts' && folderOf(e.to) !== 'contracts')).toEqual([]);
  });

  it('loads workflow code only in the worker', () => {
    expect(edges.filter((e) => folderOf(e.to) === 'workflows' && !['workflows', 'worker'].includes(folderOf(e.from)))).toEqual([]);
  });

  it('lets workflows import only contracts and their own folder', () => {
    expect(edges.filter((e) => folderOf(e.from) === 'workflows' && !['workflows', 'contracts'].includes(folderOf(e.to)))).toEqual([]);
  });

  it('has no `as never` casts', () => {
    const casts = sources(SRC).filter((file) => /\bas never\b/.test(readFileSync(file, 'utf8'))).map((file) => relative(SRC, file));
    expect(casts).toEqual([]);
  });
});
