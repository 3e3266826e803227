import type { CausalLM } from '../../model/arch/types.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import type { ItemSet, UnlearnItem } from '../data.ts';
import { BANKS, type SubjectKind } from './bank.ts';
import { evenSample } from '../../util/sample.ts';
import { calibrate, DEFAULT_CALIBRATION, isConfident, type Calibration, type CalibrationOptions, type ScoredClaim } from './calibrate.ts';
import { CONFIDENCE_TEXT, DEFAULT_PROBE, liftOverNames, probeNames, type Claim, type ProbeOptions } from './probe.ts';
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
  /** Fictitious names each claim is compared with (its lift is over their mean). */
  compareWith: number;
  /** Fictitious names' claims per template the baseline is drawn from (an even sample: scoring them all is slow). */
  baselineClaims: number;
  calibration: CalibrationOptions;
  probe: Omit<ProbeOptions, 'padId'>;
  seed: number;
  onMessage?: (m: string) => void;
}

export const DEFAULT_FIND: FindOptions = {
  kind: 'person', nonMembersPerSubject: 4, minNonMembers: 32, compareWith: 4, baselineClaims: 40, calibration: DEFAULT_CALIBRATION, probe: DEFAULT_PROBE, seed: 0,
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
  // Each claim is compared with fictitious names: a subject's with those of its form, a fictitious name's with the
  // next ones after it (never itself), a retain subject's with the first ones.
  const share = new Map(forgetNames.map((n, i) => [n, perSubject[i]!]));
  const compare = (c: Claim): string[] => {
    const own = share.get(c.name);
    if (own && own.length >= o.compareWith) return own.slice(0, o.compareWith);
    const at = nonMembers.indexOf(c.name);
    return Array.from({ length: o.compareWith }, (_, k) => nonMembers[(Math.max(at, 0) + k + (at >= 0 ? 1 : 0)) % nonMembers.length]!).filter((n) => n !== c.name);
  };
  const probe = (names: string[], what: string, sample?: number): ScoredClaim[] => {
    o.onMessage?.(`asking ${bank.length} questions about ${names.length} ${what}`);
    let claims = probeNames(model, tokenizer, names, bank, { ...o.probe, padId });
    if (sample !== undefined) claims = bank.flatMap((t) => evenSample(claims.filter((c) => c.templateId === t.id), sample));
    const lift = liftOverNames(model, tokenizer, claims, compare, padId);
    return claims.map((c, i) => ({ ...c, confidence: lift[i]! }));
  };
  const calibration = calibrate(probe(nonMembers, 'fictitious names (the baseline)', o.baselineClaims), new Map(bank.map((t) => [t.id, t.form])), o.calibration);
  const findings = [
    ...findingsOf(probe(forgetNames, 'subjects'), forgetNames, 'forget', calibration),
    ...(retainNames.length > 0 ? findingsOf(probe(retainNames, 'retain subjects'), retainNames, 'retain', calibration) : []),
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
      calibration: { ...calibration.options, nonMembers, thresholds: calibration.thresholds },
      subjects: findings.map((f) => f.findings), probeSeconds: (performance.now() - started) / 1000,
    },
  };
}

function findingsOf(claims: readonly ScoredClaim[], names: readonly string[], role: 'forget' | 'retain', calibration: Calibration): { findings: SubjectFindings; items: UnlearnItem[] }[] {
  return names.map((name) => {
    const mine = claims.filter((c) => c.name === name);
    const kept = mine.filter((c) => isConfident(c, calibration));
    return {
      findings: {
        name, role, claims: mine.length,
        kept: kept.map((c) => ({ template: c.templateId, asked: c.asked, text: c.text, confidence: c.confidence, threshold: calibration.thresholds[c.templateId]!.threshold })),
      },
      items: kept.map((c) => itemOf(c, name)),
    };
  });
}

/** Refuses findings where a subject or retain subject has no confident claim, naming them; nothing is written then. */
export function requireKnown(report: Pick<SourceFreeReport, 'subjects'>): void {
  const unknown = report.subjects.filter((f) => f.kept.length === 0);
  if (unknown.length === 0) return;
  const names = unknown.map((f) => `"${f.name}"${f.role === 'retain' ? ' (a retain subject)' : ''}`).join(', ');
  throw new UnknownSubjectError(`nothing the model says about ${names} is clearly above what it says about fictitious names `
    + `(${unknown.map((f) => f.claims).join(', ')} claim(s), none above its question's threshold): the model does not seem to know `
    + `${unknown.length === 1 ? 'this subject' : 'these subjects'} by that name; nothing was written`);
}
