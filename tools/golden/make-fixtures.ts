/**
 * Regenerates test/fixtures/golden/*.json: Lethe writes every folder of GOLDEN_FOLDERS (tools/golden/lethe-folders.ts)
 * twice and checks the two model.safetensors are identical, then tools/golden/read_with_transformers.py reads each
 * with transformers and writes its fixture. Needs the Python in $LETHE_GOLDEN_PYTHON (default
 * /work/venv-golden/bin/python) with torch and transformers; no network (HF_HUB_OFFLINE=1). See docs/golden.md.
 *
 *   npx tsx tools/golden/make-fixtures.ts [--only NAME,NAME] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFolder, DECODE_CHECK, FIXTURE_DIR, GOLDEN_FOLDERS, MAX_NEW_TOKENS, sha256File, TOKENIZER_CHECKS, TOP_K } from './lethe-folders.ts';

const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? '').split(',').filter(Boolean)) : null;
const keep = args.includes('--keep');
const python = process.env['LETHE_GOLDEN_PYTHON'] ?? '/work/venv-golden/bin/python';
if (!existsSync(python)) {
  console.error(`make-fixtures: no Python at ${python}; create the venv (docs/golden.md) or set LETHE_GOLDEN_PYTHON`);
  process.exit(1);
}
const unknown = [...(only ?? [])].filter((n) => !GOLDEN_FOLDERS.some((f) => f.name === n));
if (unknown.length > 0) {
  console.error(`make-fixtures: no golden folder ${unknown.join(', ')} (known: ${GOLDEN_FOLDERS.map((f) => f.name).join(', ')})`);
  process.exit(1);
}

const chosen = GOLDEN_FOLDERS.filter((f) => !only || only.has(f.name));
const root = mkdtempSync(join(tmpdir(), 'lethe-golden-'));
const folders = chosen.map((f) => {
  const started = performance.now();
  const dir = buildFolder(f.name, f.recipe, join(root, 'a'));
  const again = buildFolder(f.name, f.recipe, join(root, 'b'));
  const sha = sha256File(join(dir, 'model.safetensors'));
  if (sha !== sha256File(join(again, 'model.safetensors'))) {
    console.error(`make-fixtures: ${f.name}: two builds wrote different model.safetensors; the recipe is not reproducible`);
    process.exit(1);
  }
  console.log(`${f.name}: built twice, identical (${sha.slice(0, 12)}…, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return { name: f.name, dir, recipe: f.recipe, prompts: f.prompts };
});

const spec = join(root, 'spec.json');
writeFileSync(spec, JSON.stringify({ max_new_tokens: MAX_NEW_TOKENS, top_k: TOP_K, tokenizer_checks: TOKENIZER_CHECKS, decode_check: DECODE_CHECK, folders }, null, 2));
const reader = new URL('./read_with_transformers.py', import.meta.url).pathname;
const run = spawnSync(python, [reader, spec, FIXTURE_DIR], { stdio: 'inherit', env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' } });
if (run.status !== 0) {
  console.error(`make-fixtures: ${reader} failed (exit ${run.status ?? run.signal}); build folders kept in ${root}`);
  process.exit(1);
}
// A full run owns the folder: fixtures of folders no longer in GOLDEN_FOLDERS go.
if (!only) {
  for (const file of readdirSync(FIXTURE_DIR)) {
    if (file.endsWith('.json') && !GOLDEN_FOLDERS.some((f) => `${f.name}.json` === file)) unlinkSync(join(FIXTURE_DIR, file));
  }
}
if (keep) console.log(`folders kept in ${join(root, 'a')}`);
else rmSync(root, { recursive: true, force: true });
