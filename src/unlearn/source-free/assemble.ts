import type { CausalLM } from '../../model/arch/types.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import type { ItemSet, UnlearnItem } from '../data.ts';
import { BANKS, type SubjectKind } from './bank.ts';
import { calibrate, DEFAULT_CALIBRATION, isConfident, thresholdOf, type Calibration, type CalibrationOptions, type ScoredClaim } from './calibrate.ts';
import { CONFIDENCE_TEXT, DEFAULT_PROBE, probeNames, type Claim, type ProbeOptions } from './probe.ts';
import { fictitiousNames } from './names.ts';
import type { SourceFreeReport, SubjectFindings } from './report.ts';

/** Nothing the model says about a subject clears the baseline: it does not know the subject (or not by that name). */
export class UnknownSubjectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownSubjectError';
  }
}

export interface FindOptions {
  kind: SubjectKind;
  /** Fictitious names per forget subject, and the least in all (a one-subject request still needs a baseline). */
  nonMembersPerSubject: number;
  minNonMembers: number;
  calibration: CalibrationOptions;
  probe: Omit<ProbeOptions, 'padId'>;
  seed: number;
  onMessage?: (m: string) => void;
}

export const DEFAULT_FIND: FindOptions = {
  kind: 'person', nonMembersPerSubject: 4, minNonMembers: 32, calibration: DEFAULT_CALIBRATION, probe: DEFAULT_PROBE, seed: 0,
};

export interface FoundSets {
  forget: ItemSet;
  /** Null without retain subjects. */
  retain: ItemSet | null;
  report: Omit<SourceFreeReport, 'retainFile'>;
}

const itemOf = (c: Claim, subject: string): UnlearnItem => ({ prompt: c.prompt, answer: c.answer, question: c.asked, subject });

/**
 * Source-free forget and retain sets: asks the model the kind's question bank about every subject, retain subject
 * and fictitious name; calibrates each template's threshold on the fictitious names (calibrate.ts); keeps the
 * subjects' claims above it. A subject with none is reported with no kept claims (requireKnown refuses that).
 */
export function findSourceFreeSets(model: CausalLM, tokenizer: Tokenizer, subjects: readonly string[], retainSubjects: readonly string[], o: FindOptions = DEFAULT_FIND): FoundSets {
  const started = performance.now();
  const clean = (names: readonly string[]): string[] => [...new Set(names.map((n) => n.trim()).filter((n) => n.length > 0))];
  const forgetNames = clean(subjects);
  const retainNames = clean(retainSubjects);
  if (forgetNames.length === 0) throw new RangeError('no subject given (--subject NAME)');
  const both = retainNames.filter((n) => forgetNames.some((f) => f.toLowerCase() === n.toLowerCase()));
  if (both.length > 0) throw new RangeError(`"${both[0]}" is both a subject to forget and a retain subject`);
  const bank = BANKS[o.kind];
  const total = Math.max(o.minNonMembers, o.nonMembersPerSubject * forgetNames.length);
  const known = [...forgetNames, ...retainNames];
  // Each subject's share of fictitious names has its form; the rest of the minimum take the first subject's.
  // Interleaved, subject by subject: name j was made for subject j mod |subjects|, in that subject's form.
  const perSubject = forgetNames.map((name, i) => fictitiousNames(name, Math.ceil(total / forgetNames.length), o.seed + i, known));
  const nonMembers = [...new Set(Array.from({ length: total }, (_, j) => perSubject[j % forgetNames.length]![Math.floor(j / forgetNames.length)]!))];
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  const probe = (names: string[], what: string): Claim[] => {
    o.onMessage?.(`asking ${bank.length} questions about ${names.length} ${what}`);
    return probeNames(model, tokenizer, names, bank, { ...o.probe, padId });
  };
  const fictitious = probe(nonMembers, 'fictitious names (the baseline)');
  const calibration = calibrate(fictitious.map(scored), new Map(bank.map((t) => [t.id, t.form])), o.calibration);
  // The subject gate: a name the model never saw still gets a few claims past the thresholds (they are quantiles of
  // its own kind's confidences); a subject the model knows gets many more than any fictitious name does.
  const subjectGate = subjectGateOf(fictitious, nonMembers, calibration);
  const findings = [
    ...findingsOf(probe(forgetNames, 'subjects'), forgetNames, 'forget', calibration, subjectGate),
    ...(retainNames.length > 0 ? findingsOf(probe(retainNames, 'retain subjects'), retainNames, 'retain', calibration, subjectGate) : []),
  ];
  const setOf = (role: 'forget' | 'retain'): ItemSet | null => {
    const mine = findings.filter((f) => f.findings.role === role);
    if (mine.length === 0) return null;
    const items = mine.flatMap((f) => f.items);
    return { items, description: `source-free: ${items.length} confident claims about ${mine.length} ${role === 'forget' ? 'subject' : 'retain subject'}${mine.length === 1 ? '' : 's'}` };
  };
  return {
    forget: setOf('forget')!, retain: setOf('retain'),
    report: {
      subjectKind: o.kind, confidence: CONFIDENCE_TEXT, templates: bank.length,
      calibration: { ...calibration.options, nonMembers, thresholds: calibration.thresholds, positionThresholds: calibration.positionThresholds, subjectGate },
      subjects: findings.map((f) => f.findings), probeSeconds: (performance.now() - started) / 1000,
    },
  };
}

/** The most claims above their thresholds that any of `names` (the fictitious ones) has. */
export function subjectGateOf(claims: readonly Pick<Claim, 'name' | 'templateId' | 'index' | 'form' | 'meanLogProb'>[], names: readonly string[], calibration: Calibration): number {
  return Math.max(0, ...names.map((n) => claims.filter((c) => c.name === n && isConfident(scored(c), calibration)).length));
}

const scored = (c: Pick<Claim, 'templateId' | 'index' | 'form' | 'meanLogProb'>): ScoredClaim => ({ templateId: c.templateId, index: c.index, form: c.form, confidence: c.meanLogProb });

export function findingsOf(claims: readonly Claim[], names: readonly string[], role: 'forget' | 'retain', calibration: Calibration, subjectGate: number): { findings: SubjectFindings; items: UnlearnItem[] }[] {
  return names.map((name) => {
    const mine = claims.filter((c) => c.name === name);
    const confident = mine.filter((c) => isConfident(scored(c), calibration));
    const kept = confident.length > subjectGate ? confident : [];
    return {
      findings: {
        name, role, claims: mine.length, confident: confident.length,
        kept: kept.map((c) => ({ template: c.templateId, asked: c.asked, text: c.text, confidence: c.meanLogProb, threshold: thresholdOf(scored(c), calibration) })),
      },
      items: kept.map((c) => itemOf(c, name)),
    };
  });
}

/** Refuses findings where a subject or retain subject has no kept claim, naming them; nothing is written then. */
export function requireKnown(report: Pick<SourceFreeReport, 'subjects'>): void {
  const unknown = report.subjects.filter((f) => f.kept.length === 0);
  if (unknown.length === 0) return;
  const names = unknown.map((f) => `"${f.name}"${f.role === 'retain' ? ' (a retain subject)' : ''}`).join(', ');
  throw new UnknownSubjectError(`the model says no more about ${names} than about fictitious names `
    + `(${unknown.map((f) => `${f.confident} of ${f.claims} claims`).join(', ')} above their thresholds, no more than a fictitious name's most): the model does not seem to know `
    + `${unknown.length === 1 ? 'this subject' : 'these subjects'} by that name; nothing was written`);
}
