import { readTrainingRecords } from '../../data/jsonl.ts';
import type { TrainingRecord } from '../../data/schema.ts';
import { withMatmulPrecision } from '../../engine/index.ts';
import { rocAuc } from '../../eval/auc.ts';
import { extractionStrength, teacherForcedPredictions } from '../../eval/extraction.ts';
import { membershipAuc, miaScores, miaScoresFrom, type MiaAttack, type MiaItem } from '../../eval/mia.ts';
import { scoreQaSet } from '../../eval/qa-scores.ts';
import { relearnCurve, splitForRelearning } from '../../eval/relearn.ts';
import { truthRatios } from '../../eval/truth-ratio.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import { answerProbability, scoreAnswers } from '../../model/logprobs.ts';
import { loadAnyModel } from '../../train/sisa/load.ts';
import { Tokenizer } from '../../model/tokenizer.ts';
import { tokenizeItems, type UnlearnItem } from '../../unlearn/data.ts';
import type { ExampleSource } from '../../train/examples.ts';
import { judge, type Measured } from './judge.ts';
import type { BarPolicy } from './policy.ts';
import type { ModelVerification } from './types.ts';

/**
 * Measures one unlearned model against the bar: the subject's records (the forget set of the erasure) against
 * non-member records of the same form, on the unlearned model — and the same measures on the base model, for
 * context. Every criterion is an AUC in one convention: 1 = every subject record scores as "more known" than every
 * non-member, 0.5 = an attacker cannot tell them apart with that score.
 */
export interface MeasureInput {
  baseModel: string;
  model: string;
  forgetPath: string;
  /** Non-member records (JSONL of the corpus's form) and where they came from, or null when none is registered. */
  reference: { path: string; label: string } | null;
  policy: BarPolicy;
  seed: number;
  /** Skip the measures on the base model (`before`: null) — for a tool that verifies many models of one base. */
  skipBefore?: boolean;
}

export type Measurement = Omit<ModelVerification, 'model' | 'modelSha256' | 'baseModel' | 'method'>;

const MIA_ATTACKS: [MiaAttack, string, string][] = [
  ['loss', 'mia:loss', 'membership inference, loss attack'],
  ['zlib', 'mia:zlib', 'membership inference, zlib-normalised loss'],
  ['minK', 'mia:min-k', 'membership inference, Min-K% (k = 0.4)'],
  ['minKPlusPlus', 'mia:min-k++', 'membership inference, Min-K%++ (k = 0.4)'],
];

export interface Side {
  records: TrainingRecord[];
  items: UnlearnItem[];
  mia: MiaItem[];
}

export function side(records: TrainingRecord[], tokenizer: Tokenizer, maxLength: number): Side {
  const items = tokenizeItems(records, tokenizer, maxLength);
  return { records, items, mia: items.map((it, i) => ({ ...it, text: textOf(records[i]!) })) };
}

const textOf = (r: TrainingRecord): string => (r.kind === 'qa' ? r.answer : r.text);
const exampleOf = (r: TrainingRecord): ExampleSource => (r.kind === 'qa' ? { kind: 'qa', question: r.question, answer: r.answer } : { kind: 'text', text: r.text });

/** QA records with a paraphrased answer and wrong answers phrased alike: what the truth ratio needs. */
function truthRatioItems(records: TrainingRecord[]) {
  const qa = records.filter((r): r is Extract<TrainingRecord, { kind: 'qa' }> => r.kind === 'qa' && !!r.perturbed_answers?.length);
  return qa.map((r) => ({ question: r.question, answer: r.answer, paraphrasedAnswer: r.paraphrased_answer ?? null, perturbedAnswers: r.perturbed_answers!, subject: r.subject ?? null, attribute: r.attribute ?? null }));
}

/** −log truth ratio of each record: higher = the model prefers the true answer over wrong ones phrased alike. */
const knowledgeOf = (s: { paraphrased: Float64Array; perturbed: Float64Array[] }): number[] => Array.from(truthRatios(s.paraphrased, s.perturbed), (tr) => -Math.log(tr));

/** What one model gives one side's records: every per-record score the criteria compare. */
export interface SideScores {
  mia: Partial<Record<MiaAttack, Float64Array>>;
  /** Extraction strength per record: the share of the answer the model completes greedily from the shortest prefix. */
  extraction: number[];
  /** −log truth ratio of the records that have wrong answers phrased alike (truthRatioItems), in their order. */
  knowledge: number[] | null;
  /** TOFU's answer probability over the records. */
  probability: number;
}

/**
 * The scores of one side on one model. When every record is a QA record with wrong answers phrased alike, none cut
 * to fit the context (the persons corpus, TOFU), one teacher-forced pass gives them all: the true answers' token
 * statistics (membership inference), their argmax (extraction), and the paraphrased and perturbed answers scored
 * after the same question (truth ratio). Otherwise each measure makes its own pass over the records it applies to.
 */
export function scoreSide(model: CausalLM, tokenizer: Tokenizer, s: Side, padId: number): SideScores {
  const tr = truthRatioItems(s.records);
  if (tr.length === s.records.length && s.items.every((it) => !it.truncated)) {
    const q = scoreQaSet(model, tokenizer, tr, padId, 32, { moments: true, argmax: true });
    const stats = q.truthStats!;
    return {
      mia: miaScoresFrom(stats, s.mia, { k: 0.4 }), extraction: s.items.map((it, i) => extractionStrength(stats.argmax![i]!, it.answer)),
      knowledge: knowledgeOf(q), probability: q.answer.reduce((sum, m) => sum + Math.exp(m), 0) / q.answer.length,
    };
  }
  const preds = teacherForcedPredictions(model, s.items, { padId });
  return {
    mia: miaScores(model, s.mia, { padId, k: 0.4 }), extraction: preds.map((p, i) => extractionStrength(p, s.items[i]!.answer)),
    knowledge: tr.length > 0 ? knowledgeOf(scoreQaSet(model, tokenizer, tr, padId)) : null, probability: answerProbability(model, s.items, padId),
  };
}

/** How many groups of non-member subjects the relearning attack is repeated on (each a fine-tuned copy). */
const RELEARN_REFERENCE_GROUPS = 4;

/** Record indices grouped by subject, in first-seen order; records without a subject form one group each. */
function bySubject(records: readonly TrainingRecord[]): number[][] {
  const groups = new Map<string, number[]>();
  records.forEach((r, i) => {
    const key = r.subject ? `s:${r.subject}` : `r:${i}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  return [...groups.values()];
}

/** Half of each subject's records to attack with, the other half held out (a seeded shuffle per subject). */
function splitEach(groups: readonly number[][], seed: number): { attack: number[]; heldOut: number[] } {
  const attack: number[] = [];
  const heldOut: number[] = [];
  for (const g of groups) {
    if (g.length < 2) continue;
    const s = splitForRelearning(g, 0.5, seed);
    attack.push(...s.attack);
    heldOut.push(...s.heldOut);
  }
  return { attack, heldOut };
}

/**
 * The relearning attack, scored per record: fine-tune a copy on half of each subject's records and score the other
 * halves; do the same for groups of as many non-member subjects (up to RELEARN_REFERENCE_GROUPS groups, a copy each).
 * The same structure on both sides matters: a person's facts share words (a birthplace in two questions), so even a
 * model that never saw the person recovers some of the held-out half — the non-members measure how much. A model
 * that never learned the subject recovers no more than that; one that only hid the subject recovers more.
 */
function relearnAuc(model: CausalLM, tokenizer: Tokenizer, subject: Side, reference: Side, o: BarPolicy, seed: number): { auc: number; n: { subject: number; reference: number }; groups: number } | null {
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  const opts = { steps: o.relearn.steps, evalEvery: o.relearn.steps, lr: o.relearn.lr, batchSize: o.relearn.batchSize, seed };
  const heldOutScores = (split: { attack: number[]; heldOut: number[] }, from: Side): number[] => {
    let scores: number[] = [];
    relearnCurve(model, tokenizer, split.attack.map((i) => exampleOf(from.records[i]!)), split.heldOut.map((i) => from.items[i]!), opts, undefined,
      (attacked) => { scores = Array.from(scoreAnswers(attacked, split.heldOut.map((i) => from.items[i]!), { padId }).mean); });
    return scores;
  };
  const subjects = bySubject(subject.records);
  const s = splitEach(subjects, seed);
  const others = bySubject(reference.records).filter((g) => g.length >= 2);
  const k = subjects.length;
  const groups = Math.min(RELEARN_REFERENCE_GROUPS, Math.floor(others.length / k));
  if (s.attack.length === 0 || groups === 0) return null;
  const b: number[] = [];
  for (let g = 0; g < groups; g++) b.push(...heldOutScores(splitEach(others.slice(g * k, (g + 1) * k), seed), reference));
  const a = heldOutScores(s, subject);
  return { auc: rocAuc(a, b), n: { subject: a.length, reference: b.length }, groups };
}

export function measureModel(input: MeasureInput): Measurement {
  return withMatmulPrecision(input.policy.precision, () => measureWith(input));
}

function measureWith(input: MeasureInput): Measurement {
  // Either may be a SISA ensemble: it is measured as the one model it answers as (its shards' mean distribution).
  const base = loadAnyModel(input.baseModel).model;
  const model = loadAnyModel(input.model).model;
  const tokenizer = Tokenizer.fromDir(input.model);
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  const maxLength = model.config.maxPositions;
  const forget = readTrainingRecords(input.forgetPath);
  const refAll = input.reference ? readTrainingRecords(input.reference.path) : [];
  // Compare like with like: QA records with QA records, texts with texts — the kind the subject has most of.
  const qa = forget.filter((r) => r.kind === 'qa').length;
  const kind: 'qa' | 'text' = qa * 2 >= forget.length ? 'qa' : 'text';
  const subject = side(forget.filter((r) => r.kind === kind), tokenizer, maxLength);
  const refRecords = refAll.filter((r) => r.kind === kind);
  const reference = refRecords.length > 0 ? side(refRecords, tokenizer, maxLength) : null;
  const noRef = input.reference === null
    ? 'no non-member reference: register records the model never saw with `lethe corpus add FILE --holdout HOLDOUT`'
    : refRecords.length === 0 ? `the non-member reference ${input.reference.label} has no ${kind} records to compare with` : null;

  const measured: Measured[] = [];
  let after: { f: SideScores; h: SideScores } | null = null;
  let before: { f: SideScores; h: SideScores } | null = null;
  const n = { subject: subject.items.length, reference: reference?.items.length ?? 0 };
  if (reference) {
    const scoresOf = (m: CausalLM) => ({ f: scoreSide(m, tokenizer, subject, padId), h: scoreSide(m, tokenizer, reference, padId) });
    after = scoresOf(model);
    before = input.skipBefore ? null : scoresOf(base);
    for (const [attack, id, label] of MIA_ATTACKS) {
      measured.push({ id, label, core: true, n, value: membershipAuc(after.f.mia[attack]!, after.h.mia[attack]!), before: before ? membershipAuc(before.f.mia[attack]!, before.h.mia[attack]!) : null });
    }
    measured.push({
      id: 'extraction', label: 'extraction strength: how much of each answer the model completes from the shortest prefix', core: true, n,
      value: rocAuc(after.f.extraction, after.h.extraction), before: before ? rocAuc(before.f.extraction, before.h.extraction) : null,
    });
    const trS = truthRatioItems(subject.records).length;
    const trR = truthRatioItems(reference.records).length;
    if (trS > 0 && trR > 0) {
      measured.push({
        id: 'truth-ratio', label: 'truth ratio: preference for the true answer over wrong ones phrased alike', core: false, n: { subject: trS, reference: trR },
        value: rocAuc(after.f.knowledge!, after.h.knowledge!), before: before ? rocAuc(before.f.knowledge!, before.h.knowledge!) : null,
      });
    } else measured.push({ id: 'truth-ratio', label: 'truth ratio', core: false, n: { subject: trS, reference: trR }, value: null, before: null, reason: 'the records carry no paraphrased and perturbed answers (paraphrased_answer, perturbed_answers)' });
    const r = input.policy.relearn.steps > 0 ? relearnAuc(model, tokenizer, subject, reference, input.policy, input.seed) : null;
    if (r) {
      measured.push({ id: 'relearn', label: `relearning attack: ${input.policy.relearn.steps} fine-tuning steps on half of each subject's records, the other halves scored (non-members: ${r.groups} group(s) of as many subjects, the same way)`, core: false, n: r.n, value: r.auc, before: null });
    } else measured.push({ id: 'relearn', label: 'relearning attack', core: false, n, value: null, before: null, reason: input.policy.relearn.steps === 0 ? 'turned off by the policy (relearn.steps = 0)' : 'too few records: each side needs subjects with 2 or more records, and as many non-member subjects as the request has' });
  } else {
    for (const [, id, label] of MIA_ATTACKS) measured.push({ id, label, core: true, n, value: null, before: null, reason: noRef! });
    measured.push({ id: 'extraction', label: 'extraction strength', core: true, n, value: null, before: null, reason: noRef! });
    measured.push({ id: 'truth-ratio', label: 'truth ratio', core: false, n, value: null, before: null, reason: noRef! });
    measured.push({ id: 'relearn', label: 'relearning attack', core: false, n, value: null, before: null, reason: noRef! });
  }
  // A per-subject probe needs many labelled facts of one attribute; a request covers one subject's handful.
  measured.push({ id: 'probe', label: 'hidden-state probe of an attribute', core: false, n, value: null, before: null, reason: 'a linear probe is judged on ≥ 10 labelled facts of one attribute; one subject\'s records hold about one per attribute (the eval report runs it on whole forget splits)' });

  return {
    forgetProbability: {
      before: before?.f.probability ?? answerProbability(base, subject.items, padId), after: after?.f.probability ?? answerProbability(model, subject.items, padId),
      nonMember: after?.h.probability ?? null,
    },
    criteria: judge(measured, input.policy),
    compared: { kind, subjectRecords: subject.items.length, reference: input.reference?.label ?? null },
  };
}
