import { add, crossEntropy, exp, log, neg, scale, sum, Tensor } from '../../engine/index.ts';
import { answerLogits, answerTargets, type AnswerBatch } from '../../model/logprobs.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import { makeBatch, type UnlearnBatch } from '../batches.ts';
import { answerNll } from '../losses.ts';
import type { LossSpec } from '../loop.ts';
import type { UnlearnItem } from '../data.ts';

/** A fact as token ids: the question's prompt, both answers, and where the old answer's own tokens lie. */
export interface FactTokens {
  /** Prompt + new answer: what the update trains toward (the loop's "forget" items). */
  learn: UnlearnItem;
  /** Prompt + old answer. */
  old: UnlearnItem;
  /** The old answer's tokens [from, to) that the new answer does not share at the same place (the old value). */
  oldFrom: number;
  oldTo: number;
}

/** The old value's token range: after the answers' common first tokens, before their common last ones. */
export function oldValueRange(oldAnswer: readonly number[], newAnswer: readonly number[]): { from: number; to: number } {
  let from = 0;
  const max = Math.min(oldAnswer.length, newAnswer.length);
  while (from < max && oldAnswer[from] === newAnswer[from]) from++;
  let s = 0;
  while (s < max - from && oldAnswer[oldAnswer.length - 1 - s] === newAnswer[newAnswer.length - 1 - s]) s++;
  // Both answers are different strings, so the old one keeps at least one token of its own unless it is a prefix of
  // the new one (then it has no value tokens to push down and only the new answer is learnt).
  return { from, to: Math.max(from, oldAnswer.length - s) };
}

/**
 * Unlikelihood of the old value: −mean over the old value's tokens of log(1 − p_θ(token | prompt, old answer so far)),
 * teacher-forced on the old answer. It pushes exactly the tokens that carry the old value toward 0 and no further
 * than needed (the gradient fades as p → 0), and leaves the tokens both answers share alone, where it would fight
 * the new answer's NLL. Rows without value tokens add nothing; a batch without any gives a constant 0.
 */
export function oldValueUnlikelihood(model: CausalLM, batch: UnlearnBatch, ranges: readonly { from: number; to: number }[]): Tensor {
  const L = batch.answers.ids.shape[1]!;
  const kept: number[] = [];
  batch.items.forEach((it, b) => {
    for (let j = ranges[b]!.from; j < ranges[b]!.to; j++) kept.push(b * L + it.prompt.length + j - 1);
  });
  if (kept.length === 0) return new Tensor(Float32Array.of(0), []);
  const answers: AnswerBatch = { ...batch.answers, answerPositions: Int32Array.from(kept) };
  const nll = crossEntropy(answerLogits(model, answers), answerTargets(answers), { reduction: 'none' });
  // 1 − p, floored so that log stays finite when the model is still certain of the old value.
  const rest = add(neg(exp(neg(nll))), 1 + 1e-6);
  return scale(sum(log(rest)), -1 / kept.length);
}

/**
 * The update's forget term for the shared loop, whose forget items are the facts' `learn` items: NLL of the new
 * answers + λ·unlikelihood of the old values on the same facts. (The loop adds α·retain NLL.)
 */
export function updateLossSpec(facts: readonly FactTokens[], padId: number, lambda: number): LossSpec {
  const byItem = new Map(facts.map((f) => [f.learn, f] as const));
  let parts: Record<string, number> = {};
  return {
    forget: (batch, t) => {
      const learn = answerNll(t.model, batch);
      const these = batch.items.map((it) => byItem.get(it)!);
      parts = { learn: learn.item() };
      if (lambda === 0) return learn;
      const ul = oldValueUnlikelihood(t.model, makeBatch(these.map((f) => f.old), padId), these.map((f) => ({ from: f.oldFrom, to: f.oldTo })));
      parts['unlikelihood'] = ul.item();
      return add(learn, scale(ul, lambda));
    },
    parts: () => parts,
  };
}
