import { readTrainingRecords } from '../src/data/jsonl.ts';
import { loadModel } from '../src/model/checkpoint.ts';
import type { CausalLM } from '../src/model/arch/types.ts';
import { answerProbability, perplexity } from '../src/eval/probability.ts';
import { evenSample } from '../src/util/sample.ts';
import { tokenizeItems, type UnlearnItem } from '../src/unlearn/data.ts';
import type { UnlearnContext } from '../src/unlearn/types.ts';

/**
 * The embedded models of each architecture (built by tools/build-models.ts), paths from the repository root: the
 * target to unlearn from and the retain model trained without the forget10 persons, its exact-unlearning reference.
 */
export const EMBEDDED = [
  { arch: 'gpt2', architecture: 'GPT2LMHeadModel', target: 'models/target', retain90: 'models/retain90' },
  { arch: 'llama', architecture: 'LlamaForCausalLM', target: 'models/llama/target', retain90: 'models/llama/retain90' },
] as const;
export type EmbeddedArch = (typeof EMBEDDED)[number]['arch'];

/** The three numbers the unlearn bench and the tuning script report for a model on persons forget10. */
export interface Quality {
  forgetProb: number;
  retainProb: number;
  worldPpl: number;
}

export interface QualitySets {
  forget: readonly UnlearnItem[];
  retain: readonly UnlearnItem[];
  world: readonly UnlearnItem[];
  padId: number;
}

/** Every forget item, an even sample of 400 retain items, and the world text. */
export function qualitySets(ctx: UnlearnContext, worldPath = 'data/persons/world_text.jsonl'): QualitySets {
  const world = tokenizeItems(readTrainingRecords(worldPath), ctx.tokenizer, ctx.model.config.maxPositions);
  return { forget: ctx.forget, retain: evenSample(ctx.retain, 400), world, padId: ctx.padId };
}

export function measure(model: CausalLM, s: QualitySets): Quality {
  return {
    forgetProb: answerProbability(model, s.forget, s.padId),
    retainProb: answerProbability(model, s.retain, s.padId),
    worldPpl: perplexity(model, s.world, s.padId),
  };
}

/** The bars of issue 5: forget prob ≤ 2× the retain model's, retain prob ≥ 0.9× the target's. */
export function verdict(q: Quality, target: Quality, retainModel: Quality): { forgetOk: boolean; retainOk: boolean } {
  return { forgetOk: q.forgetProb <= 2 * retainModel.forgetProb, retainOk: q.retainProb >= 0.9 * target.retainProb };
}

export function measureFolder(dir: string, s: QualitySets): Quality {
  return measure(loadModel(dir).model, s);
}
