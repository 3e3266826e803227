// DESIGN.md §1, enforced: dependencies between the folders of src/ point down only. Every import specifier in
// src/**/*.ts (static, type-only, re-export, dynamic with a literal) is resolved to the folder it lands in, and a
// file may import its own folder or a lower layer, never a higher one or a sibling of the same rank.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';

const SRC = new URL('../src/', import.meta.url).pathname;

/**
 * Rank of each top-level folder of src/: lower ranks are lower layers. Folders of the same rank do not import each
 * other (model and data both read untrusted files through util, and neither needs the other). The CLI sits above
 * the API only to start its server (`lethe serve`). A new folder must be added here before it can import anything.
 */
const LAYERS: Readonly<Record<string, number>> = {
  engine: 0,
  util: 1,
  model: 2,
  data: 2,
  train: 3,
  unlearn: 4,
  eval: 5,
  workflow: 6,
  api: 7,
  // The CLI starts the API server (lethe serve), so it sits above it.
  cli: 8,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Removes comments (a specifier quoted in a comment is not an import); string contents are kept as they are. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|(^|[^:'"`\\])\/\/[^\n]*/gm, (_, lead: string | undefined) => lead ?? '');
}

/** `from '…'` (imports and re-exports), `import '…'` (side effects) and `import('…')` (dynamic, literal only). */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)(['"])([^'"\n]+)\1/g;

function importSpecifiers(text: string): string[] {
  return [...stripComments(text).matchAll(SPECIFIER)].map((m) => m[2]!);
}

/** The top-level folder of src/ a path lies in; null outside src/ (or for a file directly in src/). */
function layerOf(path: string): string | null {
  const rel = relative(SRC, path);
  if (rel.startsWith('..')) return null;
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0]! : null;
}

interface Edge {
  file: string;
  specifier: string;
  from: string;
  to: string | null;
}

function importEdges(): Edge[] {
  return sourceFiles(SRC).flatMap((file) => importSpecifiers(readFileSync(file, 'utf8'))
    .filter((s) => s.startsWith('.'))
    .map((specifier) => ({ file: relative(SRC, file), specifier, from: layerOf(file)!, to: layerOf(resolve(dirname(file), specifier)) })));
}

test('the specifier scan finds static, type-only, re-export, side-effect and dynamic imports, not comments', () => {
  const text = [
    "import { a } from './a.ts';",
    "import type { B } from '../b/b.ts';",
    "import {\n  c,\n  d,\n} from \"../c.ts\";",
    "export { e } from './e.ts';",
    "export * from './f.ts';",
    "import './g.ts';",
    "const h = await import('../h.ts');",
    "// import { x } from '../../not-this.ts';",
    "/* export * from '../nor-this.ts'; */",
    "const url = 'https://example.org/'; // from './nor-this-either.ts'",
  ].join('\n');
  assert.deepEqual(importSpecifiers(text), ['./a.ts', '../b/b.ts', '../c.ts', './e.ts', './f.ts', './g.ts', '../h.ts']);
});

test('every file under src/ lies in a folder with a layer', () => {
  const unknown = [...new Set(sourceFiles(SRC).map((f) => layerOf(f) ?? relative(SRC, f)))].filter((l) => !(l in LAYERS));
  assert.deepEqual(unknown, [], 'add the folder to LAYERS in test/layering.test.ts, at its place in the order of DESIGN.md §1');
});

test('no file under src/ imports a higher layer, a sibling layer, or anything outside src/', () => {
  const edges = importEdges();
  // The scan is not vacuous: the tree has hundreds of relative imports, and known downward ones are among them.
  assert.ok(edges.length > 200, `only ${edges.length} relative imports found`);
  assert.ok(edges.some((e) => e.from === 'train' && e.to === 'model'));
  assert.ok(edges.some((e) => e.from === 'unlearn' && e.to === 'train'));
  const bad = edges.filter((e) => e.to === null || (e.to !== e.from && !(LAYERS[e.to]! < LAYERS[e.from]!)))
    .map((e) => `src/${e.file} (${e.from}) imports '${e.specifier}' (${e.to ?? 'outside the layers'})`);
  assert.deepEqual(bad, [], 'dependencies point down only (DESIGN.md §1)');
});
