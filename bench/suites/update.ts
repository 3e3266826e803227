/**
 * The `update` suite: a knowledge update of 20 changed facts on the embedded GPT-2 target (models/target). The facts
 * are built deterministically from retain persons of data/persons (none of forget10): every 7th person, one
 * attribute each in turn from ATTRIBUTES; the new answer is the true answer with its value replaced by the first
 * perturbed answer's value, the record's alternatives the same with the other four perturbed values. One line: the
 * old answers' probability after the update with the non-member level as the peer (the original model's probability
 * of the plausible answers it never learned: ratio = level / ours, ≥ 1 means at or below it), and the issue's bars —
 * new answers ≥ 90% exact under greedy decoding, old answers at or below the non-member level, model utility (TOFU's,
 * on 400 retain items and the world facts; the updated questions left out) ≥ 0.95× the target's — with whether each
 * holds, and the value probe, retain probability and wall time beside them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatJsonl } from '../../src/data/jsonl.ts';
import type { EvalQa, EvalSets } from '../../src/eval/datasets.ts';
import { loadEvalSets } from '../../src/eval/datasets.ts';
import { setMetrics } from '../../src/eval/evaluate.ts';
import { scoreQaSet } from '../../src/eval/qa-scores.ts';
import { modelUtility } from '../../src/eval/utility.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { evenSample } from '../../src/util/sample.ts';
import { changedSpan, type FactRecord } from '../../src/unlearn/update/facts.ts';
import { runUpdate } from '../../src/workflow/knowledge-update/run.ts';
import { makeLine, round } from '../lib/report.ts';
import type { Suite } from '../lib/types.ts';

const TARGET = 'models/target';
const FACTS = 20;
/** Attributes with one value in the answer sentence, taken in turn. */
const ATTRIBUTES = ['birthplace', 'country', 'employer', 'occupation', 'birth_date', 'field_of_study', 'university', 'event_year', 'work1_year', 'hobby'];
const BARS = { newExact: 0.9, oldRatio: 1, utility: 0.95 };

interface PersonsQa {
  id: string;
  subject: string;
  attribute: string;
  question: string;
  answer: string;
  paraphrased_answer: string;
  perturbed_answers: string[];
}

/** The answer with its value replaced by a perturbed answer's (the value read off the paraphrase it rewords), or null. */
function swapValue(r: PersonsQa, perturbed: string): string | null {
  const { oldValue, newValue } = changedSpan(r.paraphrased_answer, perturbed);
  return oldValue.length > 0 && r.answer.split(oldValue).length === 2 ? r.answer.replace(oldValue, newValue) : null;
}

/** The 20 changed facts (see the suite's comment). */
export function benchFacts(dir = 'data/persons'): FactRecord[] {
  const read = (f: string): PersonsQa[] => readFileSync(join(dir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PersonsQa);
  const forget = new Set(read('forget10.jsonl').map((r) => r.subject));
  const all = read('all_qa.jsonl');
  const persons = [...new Set(all.map((r) => r.subject))].filter((s) => !forget.has(s));
  const facts: FactRecord[] = [];
  for (let i = 0; facts.length < FACTS && i < persons.length; i++) {
    const person = persons[(i * 7) % persons.length]!;
    const r = all.find((x) => x.subject === person && x.attribute === ATTRIBUTES[facts.length % ATTRIBUTES.length]);
    const newAnswer = r ? swapValue(r, r.perturbed_answers[0]!) : null;
    if (!r || newAnswer === null) continue;
    const alternatives = r.perturbed_answers.slice(1).map((p) => swapValue(r, p)).filter((a): a is string => a !== null);
    facts.push({ id: r.id, subject: r.subject, attribute: r.attribute, question: r.question, old_answer: r.answer, new_answer: newAnswer, alternatives });
  }
  return facts;
}

/** TOFU's model utility on an even sample of 400 retain items and the world facts (as `lethe eval` computes it). */
function utilityOf(model: CausalLM, tokenizer: Tokenizer, retain: readonly EvalQa[], world: readonly EvalQa[]): number {
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  const scores = (items: readonly EvalQa[]) => {
    const m = setMetrics(model, tokenizer, items, scoreQaSet(model, tokenizer, items, padId), 'other');
    return { probability: m.probability, rougeL: m.rougeRecall, truthRatio: m.truthRatio ?? 0 };
  };
  return modelUtility({ retain: scores(retain), worldFacts: scores(world) }).value;
}

export const updateSuite: Suite = {
  name: 'update',
  description: 'knowledge update of 20 changed facts on the GPT-2 target: new answers exact, old answers vs the non-member level, model utility vs the target',
  cases: ['persons-20'],
  async run(_options, emit) {
    const facts = benchFacts();
    const tmp = mkdtempSync(join(tmpdir(), 'lethe-bench-update-'));
    try {
      const factsPath = join(tmp, 'facts.jsonl');
      writeFileSync(factsPath, formatJsonl(facts));
      process.stderr.write(`update: ${facts.length} facts on ${TARGET} ...\n`);
      const started = performance.now();
      const { model, record } = runUpdate({ modelDir: TARGET, factsPath, retainPath: 'data/persons/retain90.jsonl' });
      const seconds = (performance.now() - started) / 1000;
      const sets: EvalSets = loadEvalSets('data/persons', 'forget10');
      const changed = new Set(facts.map((f) => f.question));
      const retain = evenSample(sets.retain.filter((q) => !changed.has(q.question)), 400);
      const tokenizer = Tokenizer.fromDir(TARGET);
      const utility = utilityOf(model, tokenizer, retain, sets.world);
      const targetUtility = utilityOf(loadModel(TARGET).model, tokenizer, retain, sets.world);
      const v = record.verification;
      const level = v.oldProbability.nonMemberLevel!;
      const probe = 'skipped' in v.probe ? null : v.probe;
      emit(makeLine({
        suite: 'update', caseName: 'persons-20', metric: 'forget-prob', value: v.oldProbability.after, peer: 'non-member level (original model)',
        outcome: { ok: true, value: level, reps: 1, threads: null },
        extras: {
          facts: v.facts, skipped: record.skipped,
          new_exact: round(v.newExactMatch.after), new_exact_bar: BARS.newExact, new_exact_ok: v.newExactMatch.after >= BARS.newExact,
          old_vs_level: round(v.oldProbability.ratio!), old_bar: `<= ${BARS.oldRatio}x level`, old_ok: v.oldProbability.ratio! <= BARS.oldRatio,
          facts_at_or_below_level: v.oldProbability.factsAtOrBelowLevel, old_exact: round(v.oldExactMatch.after), old_prob_before: round(v.oldProbability.before),
          utility: round(utility), target_utility: round(targetUtility), utility_ratio: round(utility / targetUtility), utility_bar: BARS.utility,
          utility_ok: utility >= BARS.utility * targetUtility,
          retain_prob_ratio: v.retain ? round(v.retain.probability.ratio) : null,
          probe_old_before: probe ? round(probe.before.maxOld) : null, probe_old_after: probe ? round(probe.after.maxOld) : null,
          probe_new_after: probe ? round(Math.max(...probe.after.newAccuracy)) : null, probe_classes: probe ? probe.after.classes : null,
          options: `lambda=${record.options.lambda} steps=${record.steps} lr=${record.options.lr}`, seconds: round(seconds),
        },
      }));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  },
};
