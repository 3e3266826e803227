import type { CausalLM } from '../model/arch/types.ts';
import { visitAnswerLogits, type PromptAnswer } from '../model/logprobs.ts';
import { rocAuc } from './auc.ts';
import { zlibCompressedSize } from './zlib-size.ts';

export { zlibCompressedSize };

/**
 * Membership-inference attacks, with open-unlearning's definitions (src/evals/metrics/mia/*.py) and sign
 * convention: every score is "loss-like" — HIGHER means the item looks LESS like training data.
 *
 *   LOSS        mean answer-token NLL                                              (loss.py)
 *   zlib        mean NLL / zlib-compressed byte length of the answer text          (zlib.py; Carlini et al. 2021
 *               divide the total log-perplexity by the zlib entropy, open-unlearning divides the mean NLL, and MUSE
 *               divides the mean NLL too; we follow open-unlearning)
 *   Min-K%      −mean of the lowest ⌊k·T⌋ (at least 1) token log-probs, k = 0.4   (min_k.py)
 *   Min-K%++    the same over z_t = (log p(x_t) − μ_t)/σ_t, with μ_t = Σ_v p(v) log p(v) and
 *               σ_t² = Σ_v p(v) (log p(v))² − μ_t² under the model's own next-token distribution at t,
 *               σ_t² clamped at 1e-6                                               (min_k_plus_plus.py)
 *   reference   LOSS(target) − LOSS(reference model)                              (reference.py)
 *
 * Token sets, as in open-unlearning: LOSS, zlib and reference use every answer token; Min-K% and Min-K%++ use
 * every answer token but the last (open-unlearning's tokenwise_logprobs drops the final labelled token, the EOS of
 * its chat-formatted answers). Pass `minKSkipLastToken` to get that when your answers end with EOS.
 *
 * AUC (membershipAuc): forget items are the members, holdout items the non-members; AUC = P(holdout score >
 * forget score) + ½ P(tie) — open-unlearning's roc_auc_score with label 1 on holdout — so 1 means the forget set
 * looks clearly more like training data than the holdout set and 0.5 means the attack cannot tell them apart.
 */

export interface TokenStats {
  /** log p of every answer token given its prefix, per item. */
  tokenLogProbs: Float64Array[];
  /** Per answer token: μ_t, the mean of log p(v) under p itself (only when moments were asked for). */
  mu: Float64Array[] | null;
  /** Per answer token: σ_t², the variance of log p(v) under p (unclamped). */
  variance: Float64Array[] | null;
  /** Per answer token: the teacher-forced argmax (first index on ties, as torch.argmax), when asked for. */
  argmax: Int32Array[] | null;
}

export interface TokenStatsOptions {
  batchSize?: number;
  padId?: number;
  /** Also compute μ_t and σ_t² (needs the full log-softmax of every answer position; Min-K%++ only). */
  moments?: boolean;
  /** Also the teacher-forced argmax of every answer position (extraction strength and memorisation read it). */
  argmax?: boolean;
}

/**
 * Teacher-forced token log-probs (and Min-K%++ moments) of answers given prompts, in batches, without a graph.
 * The log-softmax is taken in float64 on the answer positions' logits only, so no second [B, T, V] tensor is
 * allocated and the moments do not inherit float32 round-off.
 */
export function answerTokenStats(model: CausalLM, items: readonly PromptAnswer[], options: TokenStatsOptions = {}): TokenStats {
  const collect = new TokenStatsCollector(items.map((it) => it.answer), options);
  visitAnswerLogits(model, items, { batchSize: options.batchSize ?? 8, padId: options.padId }, (i, j, logits) => collect.add(i, j, logits));
  return collect.stats;
}

/**
 * TokenStats filled from logits rows as a pass produces them: the log-softmax in float64 (so the moments do not
 * inherit float32 round-off), the answer token's log-prob, and optionally the moments and the argmax.
 */
export class TokenStatsCollector {
  readonly stats: TokenStats;
  private readonly answers: readonly (readonly number[])[];
  private row = new Float64Array(0);

  constructor(answers: readonly (readonly number[])[], options: Pick<TokenStatsOptions, 'moments' | 'argmax'>) {
    this.answers = answers;
    const moments = options.moments ?? false;
    this.stats = {
      tokenLogProbs: answers.map((a) => new Float64Array(a.length)),
      mu: moments ? answers.map((a) => new Float64Array(a.length)) : null,
      variance: moments ? answers.map((a) => new Float64Array(a.length)) : null,
      argmax: options.argmax ? answers.map((a) => new Int32Array(a.length)) : null,
    };
  }

  /** The logits row that predicts answer token j of item i. */
  add(i: number, j: number, logits: Float32Array): void {
    const V = logits.length;
    if (this.row.length !== V) this.row = new Float64Array(V);
    const row = this.row;
    let max = -Infinity;
    let at = 0;
    for (let v = 0; v < V; v++) {
      if (logits[v]! > max) {
        max = logits[v]!;
        at = v;
      }
    }
    const out = this.stats;
    if (out.argmax) out.argmax[i]![j] = at;
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(logits[v]! - max);
    const lse = max + Math.log(z);
    for (let v = 0; v < V; v++) row[v] = logits[v]! - lse;
    out.tokenLogProbs[i]![j] = row[this.answers[i]![j]!]!;
    if (out.mu) {
      const m = vocabMoments(row);
      out.mu[i]![j] = m.mu;
      out.variance![i]![j] = m.variance;
    }
  }
}

/** μ = Σ p log p and σ² = Σ p (log p)² − μ² of one next-token distribution given as log-probs (float64 sums). */
export function vocabMoments(logProbs: ArrayLike<number>): { mu: number; variance: number } {
  let mu = 0;
  let m2 = 0;
  for (let v = 0; v < logProbs.length; v++) {
    const l = logProbs[v]!;
    const p = Math.exp(l);
    mu += p * l;
    m2 += p * l * l;
  }
  return { mu, variance: m2 - mu * mu };
}

function mean(values: ArrayLike<number>): number {
  if (values.length === 0) throw new RangeError('score of an empty answer');
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

/** LOSS: mean answer-token NLL. */
export function lossScore(tokenLogProbs: ArrayLike<number>): number {
  return -mean(tokenLogProbs);
}

/** zlib: mean NLL divided by the zlib-compressed size in bytes of the text (open-unlearning's ZLIBAttack). */
export function zlibScore(tokenLogProbs: ArrayLike<number>, text: string | Uint8Array): number {
  return lossScore(tokenLogProbs) / zlibCompressedSize(text);
}

/** −mean of the lowest max(1, ⌊k·n⌋) values (Python's int() truncation of len·k, as open-unlearning). */
function minKMean(values: ArrayLike<number>, k: number): number {
  if (!(k > 0 && k <= 1)) throw new RangeError(`Min-K% fraction must be in (0, 1], got ${k}`);
  if (values.length === 0) return 0; // open-unlearning scores an item without tokens as 0
  const sorted = Float64Array.from(values).sort();
  const numK = Math.max(1, Math.trunc(values.length * k));
  let s = 0;
  for (let i = 0; i < numK; i++) s += sorted[i]!;
  return -(s / numK);
}

/** Min-K%: −mean of the lowest k fraction of token log-probs (k = 0.4 as in TOFU/MUSE configs). */
export function minKScore(tokenLogProbs: ArrayLike<number>, k = 0.4): number {
  return minKMean(tokenLogProbs, k);
}

/** Min-K%++: Min-K% over token log-probs standardised by the model's own next-token distribution. */
export function minKPlusPlusScore(tokenLogProbs: ArrayLike<number>, mu: ArrayLike<number>, variance: ArrayLike<number>, k = 0.4): number {
  const T = tokenLogProbs.length;
  if (mu.length !== T || variance.length !== T) throw new RangeError('minKPlusPlusScore: token log-probs, μ and σ² differ in length');
  const z = new Float64Array(T);
  for (let t = 0; t < T; t++) z[t] = (tokenLogProbs[t]! - mu[t]!) / Math.sqrt(Math.max(variance[t]!, 1e-6));
  return minKMean(z, k);
}

/** Reference attack: the target's LOSS minus a reference model's LOSS on the same tokens. */
export function referenceScore(targetTokenLogProbs: ArrayLike<number>, referenceTokenLogProbs: ArrayLike<number>): number {
  return lossScore(targetTokenLogProbs) - lossScore(referenceTokenLogProbs);
}

/**
 * AUC of the attack separating forget (members) from holdout (non-members), for loss-like scores: 1 = forget
 * items look clearly more like training data, 0.5 = indistinguishable (open-unlearning's mia_auc).
 */
export function membershipAuc(forgetScores: ArrayLike<number>, holdoutScores: ArrayLike<number>): number {
  return rocAuc(holdoutScores, forgetScores);
}

/**
 * MUSE's PrivLeak in percent, from AUCs in membershipAuc's convention. MUSE's own AUC is the complement
 * (1 − AUC: a model that memorised the forget set scores ≈ 0 there), and PrivLeak = (AUC'_unlearned −
 * AUC'_retain) / AUC'_retain × 100 on those, so this converts first — open-unlearning's privleak does the same,
 * adding 1e-10 to the denominator. ≈ 0: the unlearned model leaks as little as a model never trained on the forget
 * set; strongly negative: the forget set is still recognisable (under-unlearning); positive: over-unlearning.
 * MUSE and open-unlearning's TOFU/MUSE configs take both AUCs from the Min-K% attack with k = 0.4.
 */
export function privLeak(aucUnlearned: number, aucRetain: number): number {
  const score = 1 - aucUnlearned;
  const ref = 1 - aucRetain;
  return ((score - ref) / (ref + 1e-10)) * 100;
}

export type MiaAttack = 'loss' | 'zlib' | 'minK' | 'minKPlusPlus' | 'reference';

export interface MiaItem extends PromptAnswer {
  /** The answer as text (what the zlib attack compresses; open-unlearning decodes the answer tokens). */
  text: string;
}

export interface MiaOptions {
  /** Min-K% / Min-K%++ fraction (default 0.4). */
  k?: number;
  /** Reference model for the reference attack (skipped without one). */
  reference?: CausalLM;
  /** Drop each answer's last token for Min-K% and Min-K%++ (open-unlearning's handling of the final EOS). */
  minKSkipLastToken?: boolean;
  batchSize?: number;
  padId?: number;
}

/** Every attack's per-item score (loss-like: higher = looks less like training data). */
export function miaScores(model: CausalLM, items: readonly MiaItem[], options: MiaOptions = {}): Partial<Record<MiaAttack, Float64Array>> {
  return miaScoresFrom(answerTokenStats(model, items, { batchSize: options.batchSize, padId: options.padId, moments: true }), items, options);
}

/**
 * The same from token statistics already computed (with moments) in the one teacher-forced pass an evaluation
 * makes over its items; only the reference attack, if asked for, runs its own model.
 */
export function miaScoresFrom(stats: TokenStats, items: readonly MiaItem[], options: MiaOptions = {}): Partial<Record<MiaAttack, Float64Array>> {
  if (!stats.mu || !stats.variance) throw new RangeError('miaScoresFrom needs token statistics with moments');
  const k = options.k ?? 0.4;
  const ref = options.reference ? answerTokenStats(options.reference, items, { batchSize: options.batchSize, padId: options.padId }) : null;
  const cut = (a: Float64Array): Float64Array => (options.minKSkipLastToken ? a.subarray(0, a.length - 1) : a);
  const n = items.length;
  const out: Partial<Record<MiaAttack, Float64Array>> = {
    loss: new Float64Array(n),
    zlib: new Float64Array(n),
    minK: new Float64Array(n),
    minKPlusPlus: new Float64Array(n),
  };
  if (ref) out.reference = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const lp = stats.tokenLogProbs[i]!;
    out.loss![i] = lossScore(lp);
    out.zlib![i] = zlibScore(lp, items[i]!.text);
    out.minK![i] = minKScore(cut(lp), k);
    out.minKPlusPlus![i] = minKPlusPlusScore(cut(lp), cut(stats.mu![i]!), cut(stats.variance![i]!), k);
    if (ref) out.reference![i] = referenceScore(lp, ref.tokenLogProbs[i]!);
  }
  return out;
}

/** membershipAuc of every attack, forget (members) vs holdout (non-members). */
export function miaAucs(model: CausalLM, forget: readonly MiaItem[], holdout: readonly MiaItem[], options: MiaOptions = {}): Partial<Record<MiaAttack, number>> {
  const f = miaScores(model, forget, options);
  const h = miaScores(model, holdout, options);
  const out: Partial<Record<MiaAttack, number>> = {};
  for (const attack of Object.keys(f) as MiaAttack[]) out[attack] = membershipAuc(f[attack]!, h[attack]!);
  return out;
}
