/**
 * How the verification bar's verdicts (src/workflow/verify/, no retrained model needed) agree with the retain-model
 * verdict (TOFU's forget quality against retain90, which needs a model retrained without the forget set) on the
 * embedded benchmark, for every method with its default settings (issue 16).
 *
 *   npx tsx tools/bar-agreement.ts [--methods npo,rmu] [--out docs/verification-agreement.json]
 *
 * Each method unlearns persons forget10 (400 QA records of 20 persons) from models/target with retain90 as its
 * retain set; then the bar compares the forget10 records with the 400 holdout (never-trained) records on the result,
 * and forget quality compares its forget10 truth ratios with retain90's. The target itself and retain90 itself are
 * the two anchor rows: the first must fail both, the second pass both.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPersonsSets } from '../src/eval/datasets.ts';
import { forgetQuality } from '../src/eval/forget-quality.ts';
import { scoreQaSet } from '../src/eval/qa-scores.ts';
import { truthRatios } from '../src/eval/truth-ratio.ts';
import { FORGET_QUALITY_BAR } from '../src/eval/verdict.ts';
import { loadModel } from '../src/model/checkpoint.ts';
import { Tokenizer } from '../src/model/tokenizer.ts';
import { METHODS } from '../src/unlearn/registry.ts';
import { runUnlearning, writeUnlearned } from '../src/unlearn/run.ts';
import { overall } from '../src/workflow/verify/judge.ts';
import { measureModel } from '../src/workflow/verify/measure.ts';
import { DEFAULT_BAR } from '../src/workflow/verify/policy.ts';

const { values } = parseArgs({ options: { methods: { type: 'string' }, out: { type: 'string', default: 'docs/verification-agreement.json' }, work: { type: 'string', default: '/tmp/lethe-bar-agreement' } } });
const TARGET = 'models/target';
const RETAIN = 'models/retain90';
const sets = loadPersonsSets('data/persons', 'forget10');
const tokenizer = Tokenizer.fromDir(TARGET);
const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
const trsOf = (dir: string) => {
  const s = scoreQaSet(loadModel(dir).model, tokenizer, sets.forget, padId);
  return truthRatios(s.paraphrased, s.perturbed);
};
const retainTrs = trsOf(RETAIN);

interface Row { method: string; forgetQuality: number; fqVerdict: 'pass' | 'fail'; bar: string; summary: string; criteria: Record<string, string>; forgetProbability: number; seconds: number }
const rows: Row[] = [];
const names = values.methods ? values.methods.split(',') : ['(target: nothing forgotten)', '(retain90: never trained on forget10)', ...METHODS.map((m) => m.name)];
mkdirSync(values.work!, { recursive: true });
for (const name of names) {
  const started = performance.now();
  let dir: string;
  if (name.startsWith('(target')) dir = TARGET;
  else if (name.startsWith('(retain90')) dir = RETAIN;
  else {
    dir = join(values.work!, name);
    process.stderr.write(`${name}: unlearning with defaults\n`);
    const result = runUnlearning({ modelDir: TARGET, forgetPath: 'data/persons/forget10.jsonl', retainPath: 'data/persons/retain90.jsonl', method: name, options: [], allowNoop: true });
    writeUnlearned(result, dir, { force: true });
  }
  process.stderr.write(`${name}: bar and forget quality\n`);
  const m = measureModel({ baseModel: TARGET, model: dir, forgetPath: 'data/persons/forget10.jsonl', reference: { path: 'data/persons/holdout.jsonl', label: 'holdout persons' }, policy: DEFAULT_BAR, seed: 1 });
  const fq = forgetQuality(trsOf(dir), retainTrs).pValue;
  const verdict = overall([{ model: name, criteria: m.criteria }]);
  const row: Row = {
    method: name, forgetQuality: fq, fqVerdict: fq >= FORGET_QUALITY_BAR ? 'pass' : 'fail', bar: verdict.result, summary: verdict.summary,
    criteria: Object.fromEntries(m.criteria.map((c) => [c.id, c.value === null ? c.status : `${c.value.toFixed(3)} ${c.status}${c.note?.includes('BELOW') ? ' (below)' : ''}`])),
    forgetProbability: m.forgetProbability.after, seconds: (performance.now() - started) / 1000,
  };
  rows.push(row);
  process.stderr.write(`${name}: bar ${row.bar}, forget quality ${fq.toExponential(2)} (${row.fqVerdict}), forget prob ${row.forgetProbability.toFixed(3)}; ${row.summary}\n`);
  writeFileSync(values.out!, JSON.stringify({ measuredAt: new Date().toISOString(), bar: DEFAULT_BAR, forgetQualityBar: FORGET_QUALITY_BAR, rows }, null, 2) + '\n');
}
const agree = rows.filter((r) => (r.bar === 'PASSED') === (r.fqVerdict === 'pass')).length;
console.log(`| method | bar | forget quality (retain90) | agree | forget prob | first missed / note |\n|---|---|---|---|---|---|`);
for (const r of rows) console.log(`| ${r.method} | ${r.bar} | ${r.forgetQuality.toExponential(2)} (${r.fqVerdict}) | ${(r.bar === 'PASSED') === (r.fqVerdict === 'pass') ? 'yes' : '**no**'} | ${r.forgetProbability.toFixed(3)} | ${r.summary} |`);
console.log(`\n${agree} of ${rows.length} agree.`);
