import type { SubjectKind } from './bank.ts';
import type { CalibrationOptions, Threshold } from './calibrate.ts';

/** A claim kept as a forget or retain item, as unlearn.json lists it. */
export interface KeptClaim {
  template: string;
  asked: string;
  /** The sentence the model said (the item's answer). */
  text: string;
  confidence: number;
  /** The threshold it cleared: the higher of its template's and its sentence position's. */
  threshold: number;
}

export interface SubjectFindings {
  name: string;
  role: 'forget' | 'retain';
  /** Claims the model made about the subject (complete sentences of its answers). */
  claims: number;
  /** Claims above their thresholds: kept only when more than the subject gate (a fictitious name's most). */
  confident: number;
  kept: KeptClaim[];
}

/** The `sourceFree` section of unlearn.json: what was asked, the baseline, and what was found. */
export interface SourceFreeReport {
  subjectKind: SubjectKind;
  /** How confidence is measured, in words. */
  confidence: string;
  templates: number;
  calibration: CalibrationOptions & {
    nonMembers: string[];
    thresholds: Record<string, Threshold>;
    positionThresholds: Record<string, Threshold>;
    /** The most confident claims any fictitious name has: a subject with no more is taken as unknown. */
    subjectGate: number;
  };
  subjects: SubjectFindings[];
  /** A retain file given with --retain, added to the retain subjects' claims. */
  retainFile: { path: string; records: number } | null;
  probeSeconds: number;
}
