/**
 * The logit lens: the model's own read-out (final norm, then the unembedding) applied to the residual stream after
 * each layer, at the position that predicts the scored span's first token (the value's, e.g. " Har" of " Harwick",
 * after `Question: q\nAnswer: Emre Georgiou was born in`; the answer's first token where the data names no value).
 * Unlearning that only edits the last layers leaves the answer ranked high at an earlier one. At the last layer the
 * lens is the model's output itself.
 */
import type { CausalLM } from '../../model/arch/types.ts';
import { EnsembleLM } from '../../model/ensemble.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import type { EvalSets } from '../datasets.ts';
import { hiddenAtPositions, readOut } from './layers.ts';
import { answerValue, fitsContext, qaAttackPrompt, spanTokens } from './prompts.ts';
import type { AttackOptions, AttackResult } from './types.ts';

/** Probability and rank (1 = the top token) of `target` under softmax(logits). */
export function tokenRank(logits: Float32Array, target: number): { probability: number; rank: number } {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let z = 0;
  let above = 0;
  const t = logits[target]!;
  for (const v of logits) {
    z += Math.exp(v - max);
    if (v > t) above++;
  }
  return { probability: Math.exp(t - max) / z, rank: above + 1 };
}

export function logitLensAttack(model: CausalLM, tokenizer: Tokenizer, sets: EvalSets, o: AttackOptions): AttackResult {
  if (model instanceof EnsembleLM) return { attack: 'logit-lens', notApplicable: 'an ensemble has no single residual stream to read', measures: [] };
  const prompts = sets.forget.map((q) => qaAttackPrompt([], q.question, q.answer, answerValue(sets, q)));
  // With values named, the items that have one (as the prompt attacks score them); else every answer's first token.
  const withValue = prompts.filter((p) => p.value !== null);
  const items = (withValue.length > 0 ? withValue : prompts).filter((p) => fitsContext(model, tokenizer, p)).map((p) => spanTokens(tokenizer, p));
  if (items.length === 0) return { attack: 'logit-lens', notApplicable: 'no forget item fits the model\'s context', measures: [] };
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  const hidden = hiddenAtPositions(model, items.map((it) => it.prompt), items.map((it) => it.prompt.length - 1), padId, o.batchSize);
  const V = model.config.vocabSize;
  const probability: number[] = [];
  const top1: number[] = [];
  const medianRank: number[] = [];
  for (const rows of hidden) {
    const logits = readOut(model, rows);
    const r = items.map((it, i) => tokenRank(logits.subarray(i * V, (i + 1) * V), it.answer[0]!));
    probability.push(r.reduce((s, x) => s + x.probability, 0) / r.length);
    top1.push(r.filter((x) => x.rank === 1).length / r.length);
    const ranks = r.map((x) => x.rank).sort((a, b) => a - b);
    medianRank.push(ranks.length % 2 === 1 ? ranks[(ranks.length - 1) / 2]! : (ranks[ranks.length / 2 - 1]! + ranks[ranks.length / 2]!) / 2);
  }
  const argmax = (xs: number[]): number => xs.reduce((b, x, i) => (x > xs[b]! ? i : b), 0);
  const pl = argmax(probability);
  const tl = argmax(top1);
  const what = withValue.length > 0 ? 'value' : 'answer';
  return {
    attack: 'logit-lens',
    measures: [
      { key: 'max-top1', label: `best layer's top-1 rate of the ${what}'s first token`, value: top1[tl]!, n: items.length, layer: tl },
      { key: 'max-probability', label: `best layer's probability of the ${what}'s first token`, value: probability[pl]!, n: items.length, layer: pl },
    ],
    layers: [
      { key: 'probability', label: 'mean probability', values: probability },
      { key: 'top1', label: 'top-1 rate', values: top1 },
      { key: 'median-rank', label: 'median rank', values: medianRank },
    ],
  };
}
