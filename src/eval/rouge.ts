/**
 * ROUGE-L exactly as Google's rouge-score computes it (rouge_scorer.RougeScorer(['rougeL'], use_stemmer=…)
 * .score(reference, candidate)['rougeL']), which is what TOFU, open-unlearning and MUSE call:
 *
 * - tokenisation (rouge_score/tokenize.py): lower-case, every run of characters outside [a-z0-9] becomes a space,
 *   split on whitespace; with stemming, tokens longer than 3 characters are Porter-stemmed; empty tokens dropped;
 * - the stemmer is nltk's `PorterStemmer()` in its default mode, NLTK_EXTENSIONS (rouge-score's DefaultTokenizer
 *   constructs it without arguments). That mode differs from Porter's original algorithm (and from the npm
 *   `stemmer` package, which implements the original) on hundreds of common words: "always" → "alway" not
 *   "alwai", "dying" → "die", "carefully" → "care", "biology" → "biolog" … so it is ported here rule by rule;
 * - LCS over the token sequences; precision = LCS/|candidate|, recall = LCS/|reference|,
 *   F1 = 2PR/(P+R) (0 when P+R = 0); any empty side gives 0/0/0.
 *
 * Which variant a benchmark reports: TOFU and open-unlearning use ROUGE-L *recall* with stemming; MUSE's own code
 * (metrics/logger.py) reports ROUGE-L *F1* without stemming (open-unlearning's MUSE port stems).
 */

import { porterStem } from './porter.ts';

export { porterStem };

export interface RougeOptions {
  /** Porter-stem tokens longer than 3 characters (rouge-score's use_stemmer). Default false. */
  stem?: boolean;
}

export function rougeTokens(text: string, options: RougeOptions = {}): string[] {
  const tokens = text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(/\s+/);
  const out: string[] = [];
  for (const t of tokens) {
    if (t.length === 0) continue;
    out.push(options.stem && t.length > 3 ? porterStem(t) : t);
  }
  return out;
}

function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

export interface RougeL {
  precision: number;
  recall: number;
  f1: number;
}

/** ROUGE-L of `candidate` (the model's text) against `reference` (the ground truth). */
export function rougeL(reference: string, candidate: string, options: RougeOptions = {}): RougeL {
  const ref = rougeTokens(reference, options);
  const cand = rougeTokens(candidate, options);
  if (ref.length === 0 || cand.length === 0) return { precision: 0, recall: 0, f1: 0 };
  const lcs = lcsLength(ref, cand);
  const precision = lcs / cand.length;
  const recall = lcs / ref.length;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}
