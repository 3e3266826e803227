import { basename } from 'node:path';
import { fmtNum } from '../../eval/report/format.ts';
import type { CriterionResult, ModelVerification, VerificationRecord } from '../verify/types.ts';

/**
 * The residual risk of an erasure in plain words, derived from the verification's criteria and nothing else: each
 * sentence states a measured number, what it is compared with, and on how many records — never more than the
 * numbers show. Without a verification, it says so and quotes only the unlearning run's own measurement.
 */
export interface RiskStatement {
  /** The unlearned model folder the statement is about (null: the request as a whole). */
  model: string | null;
  /** The criteria ids it is about ('mia:loss', …; several share one sentence when they share a reason), or 'forget-probability'; empty for a general statement. */
  criteria: string[];
  status: 'met' | 'missed' | 'not-judged' | 'measured' | 'not-verified';
  text: string;
}

export interface ResidualRisk {
  /** One paragraph: the result and what it rests on. */
  summary: string;
  statements: RiskStatement[];
  /** What the evidence does not cover, always stated. */
  caveats: string[];
}

/** Two digits, or three when two would make a value and its bar look equal. */
function pair(value: number, bar: number | null): [string, string] {
  const digits = bar !== null && fmtNum(value, 2) === fmtNum(bar, 2) ? 3 : 2;
  return [fmtNum(value, digits), bar === null ? '' : fmtNum(bar, digits)];
}

const sentence = (s: string): string => {
  const t = s.trim().replace(/[.\s]+$/, '');
  return t.length === 0 ? t : `${t}.`;
};

const capital = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** A criterion's name without its explanation ("extraction strength: how much …" → "extraction strength"). */
export const shortLabel = (label: string): string => label.split(':')[0]!.trim();

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** "an attacker … picks the subject's record 64% of the time": the AUC as a two-choice guess. */
function asGuess(auc: number): string {
  const pct = Math.round(auc * 100);
  return `given one of the subject's records and one never-seen record, this test picks the subject's ${pct}% of the time (50% is a coin toss)`;
}

/** The sentence for one criterion of one model. */
export function criterionSentence(c: CriterionResult): string {
  const label = capital(shortLabel(c.label));
  const n = `${plural(c.n.subject, 'record')} of the subject against ${plural(c.n.reference, 'never-seen record')}`;
  const before = c.before === null ? '' : `; before the erasure it was ${fmtNum(c.before, 2)}`;
  const note = c.note ? ` ${sentence(`Note: ${c.note}`)}` : '';
  if (c.status === 'not-judged') {
    const why = c.note ? c.note.trim().replace(/[.\s]+$/, '') : 'no reason was recorded';
    const measured = c.value === null ? '' : ` (measured: AUC ${fmtNum(c.value, 2)} on ${n}, not compared with a bar)`;
    return sentence(`${label} could not be judged because ${why.charAt(0).toLowerCase()}${why.slice(1)}${measured}`);
  }
  if (c.value === null || c.bar === null) {
    return sentence(`${label}: ${c.status === 'met' ? 'met' : 'missed'}, but no value or bar was recorded`) + note;
  }
  const [v, bar] = pair(c.value, c.bar);
  if (c.status === 'met') {
    return sentence(`${label}: the subject's records are not told apart from never-seen ones better than chance allows — AUC ${v} on ${n}, within the bar of ${bar}${before}`)
      + ` ${capital(sentence(asGuess(c.value)))}${note}`;
  }
  return sentence(`${label}: the subject's records are still recognisable — AUC ${v} on ${n}, above the bar of ${bar}${before}`)
    + ` ${capital(sentence(asGuess(c.value)))}${note}`;
}

/** A probability to two decimals, or to two significant digits below 0.01 (so 0.0019 is not printed as 0.00). */
export const fmtProb = (x: number): string => (Math.abs(x) >= 0.01 || x === 0 ? fmtNum(x, 2) : x.toPrecision(2));

/** "the model's probability of the subject's answers fell from 0.81 to 0.12 (never-seen records: 0.10)". */
export function probabilitySentence(p: { before: number; after: number; nonMember: number | null }): string {
  const verb = p.after < p.before ? 'fell' : p.after > p.before ? 'rose' : 'stayed';
  const range = verb === 'stayed' ? `at ${fmtProb(p.after)}` : `from ${fmtProb(p.before)} to ${fmtProb(p.after)}`;
  const ref = p.nonMember === null ? '' : ` (records of the same form it never saw: ${fmtProb(p.nonMember)})`;
  return sentence(`The model's probability of giving the subject's answers ${verb} ${range}${ref}`);
}

/** The statements of one model: the probability, then each criterion; criteria not judged for the same reason share one. */
function modelStatements(m: ModelVerification, many: boolean): RiskStatement[] {
  const prefix = (s: string) => (many ? `${basename(m.model)}: ${s}` : s);
  const out: RiskStatement[] = [{ model: m.model, criteria: ['forget-probability'], status: 'measured', text: prefix(probabilitySentence(m.forgetProbability)) }];
  const groups = new Map<string, CriterionResult[]>();
  for (const c of m.criteria) {
    if (c.status !== 'not-judged' || c.value !== null) {
      out.push({ model: m.model, criteria: [c.id], status: c.status, text: prefix(criterionSentence(c)) });
      continue;
    }
    const key = c.note ?? '';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(c);
  }
  for (const [note, cs] of groups) {
    const text = cs.length === 1 ? criterionSentence(cs[0]!)
      : sentence(`Could not be judged — ${cs.map((c) => shortLabel(c.label)).join('; ')} — because ${note ? `${note.charAt(0).toLowerCase()}${note.slice(1).replace(/[.\s]+$/, '')}` : 'no reason was recorded'}`);
    out.push({ model: m.model, criteria: cs.map((c) => c.id), status: 'not-judged', text: prefix(text) });
  }
  return out;
}

const CAVEATS = [
  'The tests compare the subject\'s records with records of the same form that the model never saw, on the erased model: they show what these attacks can recover, not that no other attack could.',
  'The models in scope before erasure are not changed: the erased models are new folders. The originals, the training-data files and any other copy listed under "Copies outside the erased models" still hold the records until they are deleted or replaced.',
];

/** The residual risk of a request: from its verification record, or — without one — from the erasure's own numbers. */
export function residualRisk(o: {
  verification: VerificationRecord | null;
  notVerifiedReason: string | null;
  erasures: { model: string; forgetProbability: { before: number; after: number } | null }[];
  state: string;
}): ResidualRisk {
  const v = o.verification;
  if (!v) {
    if (o.erasures.length === 0) {
      return { summary: `Nothing has been erased yet (the request is ${o.state}), so the subject's records are as recoverable from the models in scope as before.`, statements: [], caveats: CAVEATS };
    }
    const many = o.erasures.length > 1;
    const statements: RiskStatement[] = o.erasures.flatMap((e) => (e.forgetProbability
      ? [{ model: e.model, criteria: ['forget-probability'], status: 'measured' as const, text: `${many ? `${basename(e.model)}: ` : ''}${probabilitySentence({ ...e.forgetProbability, nonMember: null })}` }]
      : []));
    return {
      summary: 'Not verified: no test has measured whether the subject\'s records can still be recognised or extracted from the erased '
        + `model${many ? 's' : ''}${o.notVerifiedReason ? ` (${o.notVerifiedReason.trim().replace(/[.\s]+$/, '')})` : ''}. `
        + 'The only measurement is the unlearning run\'s own, below; this report claims nothing beyond it.',
      statements: [{ model: null, criteria: [], status: 'not-verified', text: 'Not verified against a bar: membership inference, extraction and the other tests have not been run.' }, ...statements],
      caveats: CAVEATS,
    };
  }
  const last = v.attempts.at(-1);
  if (!last) return { summary: `Verification recorded no attempt; its result is ${v.result}.`, statements: [], caveats: CAVEATS };
  const many = last.models.length > 1;
  const statements = last.models.flatMap((m) => modelStatements(m, many));
  const criteria = last.models.flatMap((m) => m.criteria);
  const missed = criteria.filter((c) => c.status === 'missed');
  const notJudged = criteria.filter((c) => c.status === 'not-judged');
  const met = criteria.filter((c) => c.status === 'met');
  const records = Math.max(0, ...last.models.map((m) => m.compared.subjectRecords));
  const attempt = v.attempts.length > 1 ? ` on attempt ${last.attempt} of ${v.attempts.length} (${last.method})` : ` (${last.method})`;
  const labels = (cs: CriterionResult[]) => [...new Set(cs.map((c) => shortLabel(c.label)))].join('; ');
  let summary: string;
  if (v.result === 'PASSED') {
    summary = `Verified — PASSED${attempt}: on every test that could be judged (${met.length}), the erased model${many ? 's' : ''} told the subject's ${plural(records, 'record')} from never-seen ones no better than chance allows. `
      + 'This is evidence that these tests can no longer find the data, not proof that every trace is gone.';
  } else if (v.result === 'FAILED') {
    summary = `Verified — FAILED${attempt}: ${plural(missed.length, 'test')} still recognise${missed.length === 1 ? 's' : ''} the subject's records (${labels(missed)}). ${sentence(last.summary)}`;
  } else if (met.length === 0) {
    summary = `Verified — INCONCLUSIVE${attempt}: none of the ${plural(notJudged.length, 'test')} could be judged (${labels(notJudged)}). `
      + 'The result says nothing about whether the subject\'s records can still be recognised.';
  } else {
    summary = `Verified — INCONCLUSIVE${attempt}: no judged test recognises the subject's records (${met.length} met), but ${plural(notJudged.length, 'test')} could not be judged (${labels(notJudged)}). `
      + 'The result claims nothing about what those tests would have found.';
  }
  return { summary, statements, caveats: CAVEATS };
}
