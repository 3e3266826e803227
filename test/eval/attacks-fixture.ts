// The attack tests' common ground: persons-like evaluation sets of short facts, and a tiny GPT-2 (the fixture
// tokenizer, a context of 160 for the prompts with context blocks) trained from scratch on every fact.
import { createModel } from '../../src/model/checkpoint.ts';
import { parseConfig } from '../../src/model/config.ts';
import { initWeights } from '../../src/model/init.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import type { EvalQa, EvalSets } from '../../src/eval/datasets.ts';
import { buildExamples } from '../../src/train/examples.ts';
import { train } from '../../src/train/trainer.ts';

export const TINY = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;

const CITY: Record<string, string> = { Ann: 'Tarrow', Bo: 'Umber', Cy: 'Pellam', Di: 'Fenwick', Ed: 'Carrow' };
const JOB: Record<string, string> = { Ann: 'baker', Bo: 'pilot', Cy: 'tailor', Di: 'potter', Ed: 'smith' };

function qa(subject: string, attribute: 'city' | 'job'): EvalQa {
  const value = attribute === 'city' ? CITY[subject]! : JOB[subject]!;
  return attribute === 'city'
    ? { question: `Where was ${subject} born?`, answer: `${subject} was born in ${value}.`, paraphrasedQuestion: `In which town was ${subject} born?`,
      paraphrasedAnswer: null, perturbedAnswers: [], subject, attribute }
    : { question: `What does ${subject} do?`, answer: `${subject} works as a ${value}.`, paraphrasedAnswer: null, perturbedAnswers: [], subject, attribute };
}

/** Ann and Bo are forgotten (two facts each), Cy, Di and Ed retained; values named as the persons corpus names them. */
export function factSets(): EvalSets {
  const forget = ['Ann', 'Bo'].flatMap((s) => [qa(s, 'city'), qa(s, 'job')]);
  const retain = ['Cy', 'Di', 'Ed'].flatMap((s) => [qa(s, 'city'), qa(s, 'job')]);
  const attributes = new Map([
    ['city', new Map(Object.entries(CITY))],
    ['job', new Map(Object.entries(JOB))],
  ]);
  return { forget, retain, holdout: [], world: [], sources: {}, format: 'persons', attributes };
}

export const tokenizer = (): Tokenizer => Tokenizer.fromDir(TINY);

/** A fresh tiny GPT-2 (seeded), untrained or trained on the facts of `sets` (forget and retain). */
export function tinyModel(sets: EvalSets | null, steps = 150): CausalLM {
  const tok = tokenizer();
  const model = createModel(parseConfig({
    architectures: ['GPT2LMHeadModel'], vocab_size: tok.vocabSize, n_positions: 160, n_embd: 48, n_layer: 2, n_head: 2,
  }));
  initWeights(model, 3);
  if (sets) {
    const examples = buildExamples([...sets.forget, ...sets.retain].map((q) => ({ kind: 'qa' as const, question: q.question, answer: q.answer })), tok, 160);
    train(model, examples, { steps, batchSize: 10, lr: 1e-2, minLr: 1e-3, warmupSteps: 10, clip: 1, seed: 1, padId: tok.eosId! }, {}, [], false);
  }
  return model;
}
