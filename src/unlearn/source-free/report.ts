import type { SubjectKind } from './bank.ts';
import type { CalibrationOptions, Threshold } from './calibrate.ts';

/** A claim kept as a forget or retain item, as unlearn.json lists it. */
export interface KeptClaim {
  template: string;
  asked: string;
  /** The sentence the model said (the item's answer). */
  text: string;
  confidence: number;
  /** The template's threshold it cleared. */
  threshold: number;
}

export interface SubjectFindings {
  name: string;
  role: 'forget' | 'retain';
  /** Claims the model made about the subject (complete sentences of its answers). */
  claims: number;
  kept: KeptClaim[];
}

/** The `sourceFree` section of unlearn.json: what was asked, the baseline, and what was found. */
export interface SourceFreeReport {
  subjectKind: SubjectKind;
  /** How confidence is measured, in words. */
  confidence: string;
  templates: number;
  calibration: CalibrationOptions & { nonMembers: string[]; thresholds: Record<string, Threshold> };
  subjects: SubjectFindings[];
  /** A retain file given with --retain, added to the retain subjects' claims. */
  retainFile: { path: string; records: number } | null;
  probeSeconds: number;
}
