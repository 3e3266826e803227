/**
 * How the verification bar's verdicts (src/workflow/verify/, no retrained model needed) agree with the retain-model
 * verdict (TOFU's forget quality against retain90, which needs a model retrained without the forget set) on the
 * embedded benchmark, for every method with its default settings (issue 16).
 *
 *   npx tsx tools/bar-agreement.ts [--split forget10|forget05|forget01] [--methods npo,rmu] [--out FILE]
 *
 * Each method unlearns the split (forget10: 400 QA records of 20 persons) from models/target with the matching retain
 * set; then the bar compares the split's records with the 400 holdout (never-trained) records on the result, and
 * forget quality compares its truth ratios with the retain model's (retain90 for forget10, retain99 for forget01).
 * The target itself and the retain model itself are the two anchor rows: the first must fail both, the second pass
 * both. Writes docs/verification-agreement-<split>.json after every row.
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

const { values } = parseArgs({ options: {
  methods: { type: 'string' }, split: { type: 'string', default: 'forget10' }, out: { type: 'string' }, work: { type: 'string', default: '/tmp/lethe-bar-agreement' },
} });
const SPLITS: Record<string, string> = { forget01: 'retain99', forget05: 'retain95', forget10: 'retain90' };
const split = values.split!;
if (!SPLITS[split]) throw new Error(`--split ${split}: one of ${Object.keys(SPLITS).join(', ')}`);
const out = values.out ?? `docs/verification-agreement-${split}.json`;
const TARGET = 'models/target';
const RETAIN = `models/${SPLITS[split]}`;
const FORGET = `data/persons/${split}.jsonl`;
const sets = loadPersonsSets('data/persons', split);
const tokenizer = Tokenizer.fromDir(TARGET);
const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
const trsOf = (dir: string) => {
  const s = scoreQaSet(loadModel(dir).model, tokenizer, sets.forget, padId);
  return truthRatios(s.paraphrased, s.perturbed);
};
const retainTrs = trsOf(RETAIN);

interface Row { method: string; forgetQuality: number; fqVerdict: 'pass' | 'fail'; bar: string; summary: string; criteria: Record<string, { value: number | null; bar: number | null; status: string; n: { subject: number; reference: number }; below: boolean }>; forgetProbability: number; seconds: number }
const rows: Row[] = [];
const names = values.methods ? values.methods.split(',') : ['(target: nothing forgotten)', `(${SPLITS[split]}: never trained on ${split})`, ...METHODS.map((m) => m.name)];
mkdirSync(values.work!, { recursive: true });
for (const name of names) {
  const started = performance.now();
  let dir: string;
  if (name.startsWith('(target')) dir = TARGET;
  else if (name.startsWith('(retain')) dir = RETAIN;
  else {
    dir = join(values.work!, split, name);
    process.stderr.write(`${name}: unlearning with defaults\n`);
    const result = runUnlearning({ modelDir: TARGET, forgetPath: FORGET, retainPath: `data/persons/${SPLITS[split]}.jsonl`, method: name, options: [], allowNoop: true });
    writeUnlearned(result, dir, { force: true });
  }
  process.stderr.write(`${name}: bar and forget quality\n`);
  const m = measureModel({ baseModel: TARGET, model: dir, forgetPath: FORGET, reference: { path: 'data/persons/holdout.jsonl', label: 'holdout persons' }, policy: DEFAULT_BAR, seed: 1, skipBefore: true });
  const fq = forgetQuality(trsOf(dir), retainTrs).pValue;
  const verdict = overall([{ model: name, criteria: m.criteria }]);
  const row: Row = {
    method: name, forgetQuality: fq, fqVerdict: fq >= FORGET_QUALITY_BAR ? 'pass' : 'fail', bar: verdict.result, summary: verdict.summary,
    criteria: Object.fromEntries(m.criteria.map((c) => [c.id, { value: c.value, bar: c.bar, status: c.status, n: c.n, below: !!c.note?.includes('BELOW') }])),
    forgetProbability: m.forgetProbability.after, seconds: (performance.now() - started) / 1000,
  };
  rows.push(row);
  process.stderr.write(`${name}: bar ${row.bar}, forget quality ${fq.toExponential(2)} (${row.fqVerdict}), forget prob ${row.forgetProbability.toFixed(3)}; ${row.summary}\n`);
  writeFileSync(out, JSON.stringify({ measuredAt: new Date().toISOString(), split, retainModel: RETAIN, bar: DEFAULT_BAR, forgetQualityBar: FORGET_QUALITY_BAR, rows }, null, 2) + '\n');
}
const agree = rows.filter((r) => (r.bar === 'PASSED') === (r.fqVerdict === 'pass')).length;
console.log(`| method | bar | forget quality (retain90) | agree | forget prob | first missed / note |\n|---|---|---|---|---|---|`);
for (const r of rows) console.log(`| ${r.method} | ${r.bar} | ${r.forgetQuality.toExponential(2)} (${r.fqVerdict}) | ${(r.bar === 'PASSED') === (r.fqVerdict === 'pass') ? 'yes' : '**no**'} | ${r.forgetProbability.toFixed(3)} | ${r.summary} |`);
console.log(`\n${agree} of ${rows.length} agree.`);
