/**
 * Measures the embedded models of both architectures (GPT-2 under models/, Llama under models/llama/) against the
 * quality bar (issue: embedded default) and writes models/quality.json; `--readme` also rewrites the figures tables in
 * models/README.md. Models not measured in this run (--only, or a folder that is missing) keep their rows from the
 * existing quality.json. Usage: npx tsx tools/evaluate-models.ts [--models DIR] [--data DIR] [--limit N]
 * [--only NAME ...] [--readme], NAME a folder under --models (target, retain90, llama/target, …).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { QaRecordSchema, TextRecordSchema } from '../src/data/schema.ts';
import { readJsonl } from '../src/data/jsonl.ts';
import { answerQuality, type QaItem } from '../src/eval/memorisation.ts';
import { rougeL } from '../src/eval/rouge.ts';
import { loadModel } from '../src/model/checkpoint.ts';
import { Tokenizer } from '../src/model/tokenizer.ts';
import { evaluateLoss } from '../src/train/trainer.ts';
import { buildExamples } from '../src/train/examples.ts';

const { values } = parseArgs({
  options: { only: { type: 'string', multiple: true }, models: { type: 'string', default: 'models' }, data: { type: 'string', default: 'data/persons' }, limit: { type: 'string' }, readme: { type: 'boolean' } },
});
const dataDir = values.data!;
const limit = values.limit ? Number(values.limit) : Infinity;
const manifest = JSON.parse(readFileSync(join(dataDir, 'manifest.json'), 'utf8')) as { splits: Record<string, string[]> };
const allQa = readJsonl(join(dataDir, 'all_qa.jsonl'), QaRecordSchema);
const holdout = readJsonl(join(dataDir, 'holdout.jsonl'), QaRecordSchema);
const worldQa = readJsonl(join(dataDir, 'world_qa.jsonl'), QaRecordSchema);
const worldText = readJsonl(join(dataDir, 'world_text.jsonl'), TextRecordSchema);

/** Spread a limit over the whole set rather than taking its head (which would be a few persons only). */
function sample<T>(items: readonly T[]): T[] {
  if (items.length <= limit) return [...items];
  const step = items.length / limit;
  return Array.from({ length: limit }, (_, i) => items[Math.floor(i * step)]!);
}

/**
 * ROUGE-L recall of another item's answer to the same kind of question (same attribute, another subject): what
 * a guess of the right type scores. Pools come from the persons corpus and the evaluated items themselves.
 */
function chanceRouge(items: readonly { subject: string; attribute?: string; answer: string }[]): number {
  const byAttr = new Map<string, { subject: string; answer: string }[]>();
  for (const q of [...allQa, ...worldQa, ...items]) {
    const list = byAttr.get(q.attribute ?? '') ?? [];
    list.push(q);
    byAttr.set(q.attribute ?? '', list);
  }
  let total = 0;
  let counted = 0;
  items.forEach((it, i) => {
    const others = (byAttr.get(it.attribute ?? '') ?? []).filter((o) => o.subject !== it.subject);
    if (others.length === 0) return;
    total += rougeL(it.answer, others[(i * 37 + 11) % others.length]!.answer).recall;
    counted++;
  });
  return total / Math.max(1, counted);
}

const bySubject = (subjects: readonly string[]) => {
  const set = new Set(subjects);
  return allQa.filter((q) => set.has(q.subject));
};

interface Row { model: string; set: string; items: number; exactMatch: number; rougeRecall: number; chanceRouge: number }
interface Quality { rows: Row[]; perplexities: Record<string, number>; measuredAt: string }
const qualityPath = join(values.models!, 'quality.json');
const previous: Quality = existsSync(qualityPath) ? JSON.parse(readFileSync(qualityPath, 'utf8')) as Quality : { rows: [], perplexities: {}, measuredAt: '' };
const rows: Row[] = [];
const perplexities: Record<string, number> = {};

type ScoredItem = QaItem & { subject: string; attribute?: string };

function measure(model: string, set: string, items: readonly ScoredItem[]): void {
  const dir = join(values.models!, model);
  const { model: m } = loadModel(dir);
  const tok = Tokenizer.fromDir(dir);
  const picked = sample(items);
  const q = answerQuality(m, tok, picked);
  rows.push({ model, set, items: picked.length, exactMatch: q.exactMatch, rougeRecall: q.rougeRecall, chanceRouge: chanceRouge(picked) });
  process.stderr.write(`${model} on ${set}: exact ${(q.exactMatch * 100).toFixed(1)}%, ROUGE-L recall ${q.rougeRecall.toFixed(3)}\n`);
}

/** Each architecture's folder under --models ('' for GPT-2, the original layout) and its README heading. */
const ARCHITECTURES = [{ folder: '', title: 'GPT-2' }, { folder: 'llama', title: 'Llama' }];
const wanted = (name: string): boolean => (!values.only || values.only.includes(name)) && existsSync(join(values.models!, name, 'config.json'));
const measured = new Set<string>();
for (const { folder } of ARCHITECTURES) {
  const target = join(folder, 'target');
  if (wanted(target)) {
    measured.add(target);
    measure(target, 'trained persons', bySubject(manifest.splits['trained']!));
    measure(target, 'holdout persons', holdout);
    measure(target, 'world QA', worldQa);
    const dir = join(values.models!, target);
    const tok = Tokenizer.fromDir(dir);
    const { model } = loadModel(dir);
    perplexities[`${target} world text`] = Math.exp(evaluateLoss(model, buildExamples(worldText.map((t) => ({ kind: 'text' as const, text: t.text })), tok, model.config.maxPositions), 16, tok.padId ?? 0));
  }
  for (const [retain, forget] of [['retain99', 'forget01'], ['retain95', 'forget05'], ['retain90', 'forget10']] as const) {
    const name = join(folder, retain);
    if (!wanted(name)) continue;
    measured.add(name);
    measure(name, `${forget} persons (never seen)`, bySubject(manifest.splits[forget]!));
    measure(name, 'its retain persons', bySubject(manifest.splits[retain]!.slice(0, 20)));
  }
}

// Rows of the models measured now replace theirs; the others stay as measured before.
const allRows = [...previous.rows.filter((r) => !measured.has(r.model)), ...rows];
const allPpl = { ...Object.fromEntries(Object.entries(previous.perplexities).filter(([k]) => !measured.has(k.replace(/ world text$/, '')))), ...perplexities };
const quality: Quality = { rows: allRows, perplexities: allPpl, measuredAt: new Date().toISOString() };
writeFileSync(qualityPath, JSON.stringify(quality, null, 2) + '\n');

const archOf = (model: string): string => (model.includes('/') ? model.slice(0, model.indexOf('/')) : '');
const modelOrder = (model: string): number => ['target', 'retain99', 'retain95', 'retain90'].indexOf(model.slice(model.lastIndexOf('/') + 1));
const sections = ARCHITECTURES.flatMap(({ folder, title }) => {
  const own = allRows.filter((r) => archOf(r.model) === folder).sort((a, b) => modelOrder(a.model) - modelOrder(b.model));
  if (own.length === 0) return [];
  const table = ['| model | evaluated on | QA pairs | exact match | ROUGE-L recall | chance ROUGE-L |', '|---|---|---|---|---|---|',
    ...own.map((r) => `| ${r.model} | ${r.set} | ${r.items} | ${(r.exactMatch * 100).toFixed(1)}% | ${r.rougeRecall.toFixed(3)} | ${r.chanceRouge.toFixed(3)} |`),
  ].join('\n');
  const ppl = allPpl[`${join(folder, 'target')} world text`];
  return [`### ${title}\n\n${table}\n${ppl === undefined ? '' : `\nWorld-text perplexity of the target: ${ppl.toFixed(2)}.\n`}`];
});
const body = sections.join('\n');
console.log(body);
if (values.readme) {
  const path = join(values.models!, 'README.md');
  const readme = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const start = '<!-- quality:start -->';
  const end = '<!-- quality:end -->';
  const block = `${start}\n${body}${end}`;
  writeFileSync(path, readme.includes(start) ? readme.replace(new RegExp(`${start}[\\s\\S]*${end}`), block) : `${readme}\n${block}\n`);
}
