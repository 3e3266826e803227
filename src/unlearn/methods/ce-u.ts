import { z } from 'zod';
import { answerLogits, answerTargets } from '../../model/logprobs.ts';
import { runLossLoop } from '../loop.ts';
import { shiftedTargetSoftmax, skipFirstAnswerTokens, softTargetCrossEntropy } from '../losses.ts';
import { loopOptionShape } from '../options.ts';
import { defineMethod } from '../types.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import type { UnlearnBatch } from '../batches.ts';
import type { Tensor } from '../../engine/index.ts';

/**
 * The CE-U forget loss: at each answer position (but the first `skip` of each answer), the cross-entropy of the
 * model's logits against softmax of the same logits, detached, with the true token's logit at −∞; mean over positions.
 */
export function ceuLoss(model: CausalLM, batch: UnlearnBatch, skip: number): Tensor {
  const answers = skipFirstAnswerTokens(batch, skip);
  if (answers.answerPositions.length === 0) {
    throw new RangeError(`ce-u: no answer in the batch is longer than ignoreFirstAnswerTokens=${skip} tokens, so nothing is left to unlearn (set it lower)`);
  }
  const logits = answerLogits(model, answers);
  return softTargetCrossEntropy(logits, shiftedTargetSoftmax(logits, answerTargets(answers), -Infinity));
}

/**
 * CE-U, cross-entropy unlearning (Yang 2025, "CE-U: Cross Entropy Unlearning"): move each answer position's
 * distribution toward the model's own, renormalised without the true token. The gradient at the logits is p − q:
 * bounded (gradient ascent's grows without limit as p_y falls), the answer's mass handed to the alternatives in
 * proportion to their probabilities. The retain set is optional (the paper uses none); given one, the shared retain
 * term is added.
 */
export const ceU = defineMethod({
  name: 'ce-u',
  summary: 'cross-entropy toward the model\'s own distribution with the true token removed (CE-U); retain term optional',
  retain: 'optional',
  options: z.object({
    // The skip of 1 and 10 epochs are open-unlearning's CEU trainer's (ignore_first_n_answer_tokens; its finetune
    // defaults). Its lr 1e-5 on a 4096-wide 7B model (1.6e-4 at width 256) with no retain term tripped the retain guard
    // at step 20 on the embedded persons model; α 10 with 48 retain items per step and baseLr 3e-4 met both bars there
    // (docs/unlearning.md). Without a retain set α does nothing.
    ...loopOptionShape({ epochs: 10, lr: 3e-4, alpha: 10, retainBatchSize: 48 }),
    ignoreFirstAnswerTokens: z.number().int().min(0).default(1)
      .describe('answer tokens at the start of each answer left out of the loss (the paper\'s footnote trick: the first one is often a space or a generic word)'),
  }),
  run: (ctx, o, hooks) => runLossLoop(ctx, o, {
    forget: (b, t) => ceuLoss(t.model, b, o.ignoreFirstAnswerTokens),
  }, hooks),
});
