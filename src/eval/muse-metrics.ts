/**
 * MUSE's metrics (Shi et al. 2024; github.com/swj0419/muse_bench, metrics/*.py and eval.py), on a MUSE folder:
 *
 * - VerbMem (C1, verbmem_f): greedy continuation of each verbmem `prompt`, as many new tokens as the ground truth
 *   `gt` has (at most 128, MUSE's verbmem_max_new_tokens; the gt is cut to its first 128 tokens, as MUSE does), scored
 *   by ROUGE-L F1 against the gt, rouge-score without stemming (MUSE's RougeEvalLogger); mean over items.
 * - KnowMem (C2 knowmem_f, C4 knowmem_r): greedy answer (at most 32 new tokens) to each knowmem question, cut before
 *   the first "\n\n", "\nQuestion" or "Question:" (MUSE's get_prefix_before_words_occur), ROUGE-L F1 against the
 *   gold answer, unstemmed; mean over items. With `icl`, MUSE's few-shot prompt: each _icl pair as
 *   "Question: q\nAnswer: a\n\n" before the question.
 * - PrivLeak (C3): Min-K% (k = 0.4, MUSE's "Min-40%") of every privleak text given BOS; AUC in MUSE's convention
 *   (sklearn roc_curve with the holdout texts as label 1 and −score as the score: ≈ 0 when the forget set is
 *   memorised, ≈ 0.5 when it looks like unseen text) = rocAuc(forget scores, holdout scores); PrivLeak =
 *   (AUC_unlearned − AUC_retain) / AUC_retain × 100. It needs the AUC of a retain model, so without one only the
 *   AUC is reported.
 *
 * Where Lethe differs, and why: prompts start with the model's BOS (else EOS), as Lethe trains text; the knowmem
 * question uses Lethe's QA prompt (qaTokens: "Question: q\nAnswer:" then " a"), textually MUSE's "Question: q\nAnswer: "
 * with the space on the answer's side, as models trained by Lethe saw it; an item longer than the model's context
 * follows --too-long (see prepareMuse); texts shorter than 3 tokens score Min-K% over 1 token (MUSE's int(0.4·n) = 0
 * gives NaN there).
 */
import type { CausalLM } from '../model/arch/types.ts';
import { continuationText, generate } from '../model/generate.ts';
import { qaTokens } from '../model/qa-format.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { rocAuc } from './auc.ts';
import { itemLabel, truncateLeft, type TooLong } from './context-fit.ts';
import { answerTokenStats, minKScore, privLeak, type MiaItem } from './mia.ts';
import type { MuseQa, MuseSets } from './muse-data.ts';
import { rougeL } from './rouge.ts';

export interface MuseOptions {
  /** Cap on a verbmem continuation and on the gt's tokens (MUSE's verbmem_max_new_tokens). */
  verbmemMaxTokens: number;
  /** New tokens for a knowmem answer (MUSE's knowmem_max_new_tokens). */
  knowmemMaxNewTokens: number;
  /** Prefix each knowmem question with the _icl examples (MUSE's few-shot prompt). */
  icl: boolean;
  /** Min-K% fraction of PrivLeak's attack (MUSE's privleak_auc_key forget_holdout_Min-40%). */
  minK: number;
  batchSize: number;
}

export const DEFAULT_MUSE: MuseOptions = { verbmemMaxTokens: 128, knowmemMaxNewTokens: 32, icl: false, minK: 0.4, batchSize: 8 };

/** A generation task: prompt tokens and the most new tokens to decode. */
export interface Continuation {
  prompt: number[];
  maxNewTokens: number;
}

export interface PreparedVerbatim extends Continuation {
  /** The gt the continuation is scored against (cut to verbmemMaxTokens tokens, as MUSE does). */
  gt: string;
}

export interface PreparedKnow extends Continuation {
  answer: string;
}

export const MUSE_SET_NAMES = ['verbmem', 'knowmem_forget', 'knowmem_retain', 'privleak_forget', 'privleak_holdout'] as const;
export type MuseSetName = (typeof MUSE_SET_NAMES)[number];

/** MUSE's sets tokenized and fitted to the model's context, with what --too-long did to them. */
export interface PreparedMuse {
  verbmem: PreparedVerbatim[];
  knowmemForget: PreparedKnow[];
  knowmemRetain: PreparedKnow[];
  privleakForget: MiaItem[];
  privleakHoldout: MiaItem[];
  skipped: Record<MuseSetName, number>;
  truncated: Record<MuseSetName, number>;
}

/** MUSE's few-shot block: "Question: q\nAnswer: a\n\n" per example (metrics/knowmem.py). */
export function museIclText(examples: readonly MuseQa[]): string {
  return examples.map((e) => `Question: ${e.question}\nAnswer: ${e.answer}\n\n`).join('');
}

/** MUSE's cut of a knowmem answer: the text before "\n\n", then before "\nQuestion", then before "Question:". */
export function cutAtMuseStops(output: string): string {
  let s = output;
  for (const word of ['\n\n', '\nQuestion', 'Question:']) s = s.split(word)[0]!;
  return s;
}

const zeros = (): Record<MuseSetName, number> => ({ verbmem: 0, knowmem_forget: 0, knowmem_retain: 0, privleak_forget: 0, privleak_holdout: 0 });

/**
 * Tokenizes MUSE's sets and fits them to the model's context. An item needs its prompt plus the tokens it is scored
 * on: a verbmem prompt + its continuation (|gt| tokens, at most the cap), a knowmem prompt + its gold answer, BOS + a
 * privleak text. `refuse` names the file and item; `skip` leaves it out; `truncate-left` keeps the scored part and
 * drops prompt tokens from the left after the BOS (for a privleak text, whose prompt is the BOS alone, the text's
 * first tokens), and counts them.
 */
export function prepareMuse(sets: MuseSets, tokenizer: Tokenizer, maxPositions: number, mode: TooLong = 'refuse', options: Partial<MuseOptions> = {}): PreparedMuse {
  const o = { ...DEFAULT_MUSE, ...options };
  const bos = tokenizer.bosId ?? tokenizer.eosId;
  if (bos === null) throw new RangeError('the tokenizer has neither a BOS nor an EOS token to start a MUSE prompt with');
  const head = [bos];
  const skipped = zeros();
  const truncated = zeros();
  const encode = (s: string): number[] => tokenizer.encode(s, { addSpecialTokens: false });

  /** The prompt fitted so that prompt + reserve ≤ context, or null when --too-long skip leaves the item out. */
  const fit = (set: MuseSetName, file: string, i: number, label: string, prompt: number[], reserve: number): number[] | null => {
    if (prompt.length + reserve <= maxPositions) return prompt;
    const where = `${file}: ${set} item ${i + 1} ("${itemLabel(label)}")`;
    if (mode === 'skip') {
      skipped[set]++;
      return null;
    }
    if (mode === 'refuse') {
      throw new RangeError(`${where} needs ${prompt.length + reserve} positions, more than the model's context of ${maxPositions} `
        + '(shorten it, leave it out, or pass --too-long skip or truncate-left)');
    }
    const cut = truncateLeft(prompt, reserve, maxPositions, head.length);
    if (cut === null) {
      throw new RangeError(`${where} needs ${reserve + head.length} positions even with its prompt cut to the BOS, more than the model's `
        + `context of ${maxPositions}: --too-long truncate-left keeps the scored part whole (shorten it, or pass --too-long skip)`);
    }
    truncated[set]++;
    return cut;
  };
  const src = (name: string): string => sets.sources[name] ?? name;

  const verbmem = sets.verbmem.flatMap((v, i): PreparedVerbatim[] => {
    const gt = encode(v.gt);
    const n = Math.min(gt.length, o.verbmemMaxTokens);
    const prompt = fit('verbmem', src('verbmem'), i, v.prompt, [...head, ...encode(v.prompt)], n);
    if (prompt === null) return [];
    return [{ prompt, maxNewTokens: n, gt: gt.length > n ? tokenizer.decode(gt.slice(0, n), { skipSpecialTokens: true }) : v.gt }];
  });

  const know = (set: 'knowmem_forget' | 'knowmem_retain', items: readonly MuseQa[], icl: readonly MuseQa[]): PreparedKnow[] => {
    const shots = o.icl && icl.length > 0 ? encode(museIclText(icl)) : [];
    return items.flatMap((q, i): PreparedKnow[] => {
      const t = qaTokens(tokenizer, q.question, q.answer);
      // The few-shot block goes after the BOS that starts Lethe's QA prompt, before the question.
      const full = t.prompt[0] === bos ? [bos, ...shots, ...t.prompt.slice(1)] : [...shots, ...t.prompt];
      const prompt = fit(set, src(set), i, q.question, full, t.answer.length);
      if (prompt === null) return [];
      return [{ prompt, maxNewTokens: Math.min(o.knowmemMaxNewTokens, maxPositions - prompt.length), answer: q.answer }];
    });
  };

  const texts = (set: 'privleak_forget' | 'privleak_holdout', items: readonly string[]): MiaItem[] => items.flatMap((text, i): MiaItem[] => {
    const ids = encode(text);
    if (ids.length === 0) throw new RangeError(`${src(set)}: ${set} item ${i + 1} has no tokens`);
    // The BOS is the prompt; the text is what is scored, so truncate-left drops the text's first tokens.
    const whole = fit(set, src(set), i, text, [...head, ...ids], 0);
    return whole === null ? [] : [{ prompt: head, answer: whole.slice(head.length), text }];
  });

  const out: PreparedMuse = {
    verbmem,
    knowmemForget: know('knowmem_forget', sets.knowmem.forget, sets.knowmem.forgetIcl),
    knowmemRetain: know('knowmem_retain', sets.knowmem.retain, sets.knowmem.retainIcl),
    privleakForget: texts('privleak_forget', sets.privleak.forget),
    privleakHoldout: texts('privleak_holdout', sets.privleak.holdout),
    skipped, truncated,
  };
  if (sets.privleak.forget.length > 0 && (out.privleakForget.length === 0 || out.privleakHoldout.length === 0)) {
    throw new RangeError(`${src(out.privleakForget.length === 0 ? 'privleak_forget' : 'privleak_holdout')}: every text is longer than the model's context of ${maxPositions} (pass --too-long truncate-left)`);
  }
  return out;
}

/**
 * Greedy continuations of many prompts, batched (left-padded; padding masked, so each row decodes as it would alone),
 * each cut to its own budget and decoded without special tokens. A batch is closed before its longest prompt plus its
 * largest budget would exceed the context.
 */
export function greedyContinuations(model: CausalLM, tokenizer: Tokenizer, items: readonly Continuation[], batchSize = DEFAULT_MUSE.batchSize): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < items.length) {
    let end = start;
    let longest = 0;
    let budget = 0;
    while (end < items.length && end - start < batchSize) {
      const it = items[end]!;
      const l = Math.max(longest, it.prompt.length);
      const b = Math.max(budget, it.maxNewTokens);
      if (end > start && l + b > model.config.maxPositions) break;
      longest = l;
      budget = b;
      end++;
    }
    const chunk = items.slice(start, end);
    const gens = generate(model, chunk.map((c) => c.prompt), { maxNewTokens: budget });
    gens.forEach((g, k) => out.push(continuationText(tokenizer, chunk[k]!.prompt, g.tokens.slice(0, chunk[k]!.maxNewTokens), true)));
    start = end;
  }
  return out;
}

/** Per-item ROUGE-L (F1 and recall, unstemmed as MUSE) of outputs against references, and the outputs. */
export interface RougeScores {
  f1: Float64Array;
  recall: Float64Array;
  outputs: string[];
}

/** ROUGE-L of each output against its reference as MUSE's RougeEvalLogger scores it (rouge-score, use_stemmer=False). */
export function museRouge(references: readonly string[], outputs: string[]): RougeScores {
  const f1 = new Float64Array(outputs.length);
  const recall = new Float64Array(outputs.length);
  outputs.forEach((out, i) => {
    const r = rougeL(references[i]!, out);
    f1[i] = r.f1;
    recall[i] = r.recall;
  });
  return { f1, recall, outputs };
}

/** VerbMem: ROUGE-L of the greedy continuation of each prompt against its gt. */
export function verbMemScores(model: CausalLM, tokenizer: Tokenizer, items: readonly PreparedVerbatim[], batchSize?: number): RougeScores {
  return museRouge(items.map((v) => v.gt), greedyContinuations(model, tokenizer, items, batchSize));
}

/** KnowMem: ROUGE-L of the greedy answer, cut at MUSE's stop words, against the gold answer. */
export function knowMemScores(model: CausalLM, tokenizer: Tokenizer, items: readonly PreparedKnow[], batchSize?: number): RougeScores {
  return museRouge(items.map((q) => q.answer), greedyContinuations(model, tokenizer, items, batchSize).map(cutAtMuseStops));
}

/** Min-K% of every text given BOS: −mean of its lowest ⌊k·n⌋ (at least 1) token log-probs (MUSE's Min-40%). */
export function minKTextScores(model: CausalLM, items: readonly MiaItem[], options: { k?: number; padId?: number; batchSize?: number } = {}): Float64Array {
  const stats = answerTokenStats(model, items, { batchSize: options.batchSize, padId: options.padId });
  return Float64Array.from(stats.tokenLogProbs, (lp) => minKScore(lp, options.k ?? DEFAULT_MUSE.minK));
}

/**
 * AUC in MUSE's convention (metrics/privleak.py, key forget_holdout_Min-40%): roc_curve with the forget texts as
 * label 0, the holdout texts as label 1 and −score as the score, i.e. P(forget score > holdout score) + ½ P(tie).
 * ≈ 0: the forget texts look far more familiar than unseen ones; ≈ 0.5: indistinguishable.
 */
export function museAuc(forgetScores: ArrayLike<number>, holdoutScores: ArrayLike<number>): number {
  return rocAuc(forgetScores, holdoutScores);
}

/** PrivLeak = (AUC_unlearned − AUC_retain) / AUC_retain × 100, both in MUSE's convention (eval.py). */
export function musePrivLeak(auc: number, retainAuc: number): number {
  // mia.ts's privLeak takes AUCs in membershipAuc's convention (the complement) and does MUSE's arithmetic on them.
  return privLeak(1 - auc, 1 - retainAuc);
}
