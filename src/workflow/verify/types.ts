/**
 * The verification of an erasure against a written bar (issue 16): what a verify job measures on each unlearned
 * model, compared with non-member records of the same form (never with a retrained model, which users do not have).
 */

/** One criterion of the bar, as measured. */
export interface CriterionResult {
  /** Stable id: 'mia:loss', 'mia:zlib', 'mia:min-k', 'mia:min-k++', 'extraction', 'truth-ratio', 'relearn', 'probe'. */
  id: string;
  /** What it measures, in plain words (the DPO report prints it). */
  label: string;
  /** 'met' / 'missed': judged against the bar; 'not-judged': could not be (the reason says why). */
  status: 'met' | 'missed' | 'not-judged';
  /**
   * The measured value: AUC of the subject's records against non-member records (0.5 = indistinguishable, 1 = every
   * subject record scores above every non-member), for every criterion that is judged by an AUC.
   */
  value: number | null;
  /** The bar: the largest value that meets it (value ≤ bar), or null when not judged. */
  bar: number | null;
  /** The same measure on the model before erasure (context: how much was there to forget). */
  before: number | null;
  /** Records compared: the subject's and the non-members'. */
  n: { subject: number; reference: number };
  /** Why it is not judged, or a note (e.g. "the subject's records are less likely than non-members: over-forgetting"). */
  note: string | null;
}

/** The verification of one unlearned model. */
export interface ModelVerification {
  /** The unlearned model folder and its weights' SHA-256. */
  model: string;
  modelSha256: string;
  /** The base model it was unlearned from. */
  baseModel: string;
  method: string;
  /** Mean answer probability of the subject's records before and after, and of the non-member records after. */
  forgetProbability: { before: number; after: number; nonMember: number | null };
  criteria: CriterionResult[];
  /** Records of the comparison: which kind of record ('qa' or 'text') and where the non-members came from. */
  compared: { kind: 'qa' | 'text'; subjectRecords: number; reference: string | null };
}

export type VerificationResult = 'PASSED' | 'FAILED' | 'INCONCLUSIVE';

/** One attempt of erasure + verification (escalation makes more than one when the bar is missed). */
export interface VerificationAttempt {
  attempt: number;
  method: string;
  options: string[];
  models: ModelVerification[];
  result: VerificationResult;
  /** One line: why this result (the first missed criterion, or what could not be judged). */
  summary: string;
  at: string;
}

/** What a verify job records as its result, and the certificate and the DPO report show. */
export interface VerificationRecord {
  policy: import('./policy.ts').BarPolicy;
  /** Every attempt so far, oldest first; the last one decides the request. */
  attempts: VerificationAttempt[];
  result: VerificationResult;
  /** What happens next: 'completed', 'escalated' (another attempt queued), or 'failed'. */
  decision: 'completed' | 'escalated' | 'failed';
}
