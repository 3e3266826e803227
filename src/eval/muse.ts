import type { CausalLM } from '../model/arch/types.ts';
import { generate } from '../model/generate.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { rougeL } from './rouge.ts';

/**
 * MUSE's memorisation metrics (swj0419/muse_bench metrics/verbmem.py, knowmem.py, logger.py), model-based:
 *
 * - VerbMem: greedy-decode `maxNewTokens` (128) tokens after a prefix of a forget-set text and score ROUGE-L F1
 *   against the true continuation, cut (as MUSE does) to its first `maxNewTokens` tokens;
 * - KnowMem: answer a question greedily (32 tokens) after few-shot examples, in MUSE's prompt format
 *   "Question: …\nAnswer: …\n\n", cut the output at the first "\n\n", "\nQuestion" or "Question:", and score
 *   ROUGE-L F1 against the true answer.
 *
 * MUSE reports the mean F1 × 100; we return it as a fraction. MUSE's own scorer does not stem
 * (RougeScorer(use_stemmer=False)); open-unlearning's port of MUSE stems — `stem: true` reproduces that.
 *
 * Prompts start with the model's start token (BOS, else EOS, as Lethe trains), where MUSE's Llama tokenizer adds
 * BOS. The ground-truth cut encodes the continuation with the tokenizer's special tokens, exactly as MUSE does, so
 * a BOS-adding tokenizer counts its BOS among the `maxNewTokens`.
 */

export interface MuseOptions {
  /** Tokens to generate (MUSE: 128 for VerbMem, 32 for KnowMem). */
  maxNewTokens?: number;
  batchSize?: number;
  /** Porter-stem before ROUGE (open-unlearning's variant); MUSE's own code does not. Default false. */
  stem?: boolean;
}

export interface MuseItemScore {
  reference: string;
  generation: string;
  /** ROUGE-L F1 of the generation against the reference (MUSE's "rougeL"). */
  rougeL: number;
  rougeLRecall: number;
}

export interface MuseScore {
  /** Mean ROUGE-L F1 over items, in [0, 1] (MUSE prints it × 100). */
  mean: number;
  items: MuseItemScore[];
}

function startIds(tokenizer: Tokenizer): number[] {
  const start = tokenizer.bosId ?? tokenizer.eosId;
  return start === null ? [] : [start];
}

function score(references: readonly string[], generations: readonly string[], stem: boolean): MuseScore {
  const items = references.map((reference, i) => {
    const r = rougeL(reference, generations[i]!, { stem });
    return { reference, generation: generations[i]!, rougeL: r.f1, rougeLRecall: r.recall };
  });
  const mean = items.length === 0 ? NaN : items.reduce((s, it) => s + it.rougeL, 0) / items.length;
  return { mean, items };
}

function greedyTexts(model: CausalLM, tokenizer: Tokenizer, prompts: readonly string[], maxNewTokens: number, batchSize: number, stopStrings?: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < prompts.length; i += batchSize) {
    const ids = prompts.slice(i, i + batchSize).map((p) => [...startIds(tokenizer), ...tokenizer.encode(p, { addSpecialTokens: false })]);
    const gens = generate(model, ids, { maxNewTokens, tokenizer, stopStrings });
    out.push(...gens.map((g) => g.text ?? ''));
  }
  return out;
}

export interface VerbMemItem {
  /** The prefix given to the model. */
  prompt: string;
  /** The true continuation. */
  continuation: string;
}

/** MUSE VerbMem: ROUGE-L F1 between the greedy continuation of each prefix and the true continuation. */
export function verbMem(model: CausalLM, tokenizer: Tokenizer, items: readonly VerbMemItem[], options: MuseOptions = {}): MuseScore {
  const maxNewTokens = options.maxNewTokens ?? 128;
  const generations = greedyTexts(model, tokenizer, items.map((it) => it.prompt), maxNewTokens, options.batchSize ?? 8);
  const references = items.map((it) => tokenizer.decode(tokenizer.encode(it.continuation, { addSpecialTokens: true }).slice(0, maxNewTokens), { skipSpecialTokens: true }));
  return score(references, generations, options.stem ?? false);
}

export interface QaPair {
  question: string;
  answer: string;
}

/** MUSE's few-shot QA prompt. */
export function museQaPrompt(question: string, icl: readonly QaPair[] = []): string {
  let prompt = '';
  for (const ex of icl) prompt += `Question: ${ex.question}\nAnswer: ${ex.answer}\n\n`;
  return prompt + `Question: ${question}\nAnswer: `;
}

const KNOWMEM_STOPS = ['\n\n', '\nQuestion', 'Question:'];

/** MUSE KnowMem: ROUGE-L F1 between the greedy answer (cut at the next question) and the true answer. */
export function knowMem(model: CausalLM, tokenizer: Tokenizer, items: readonly QaPair[], options: MuseOptions & { icl?: readonly QaPair[] } = {}): MuseScore {
  const maxNewTokens = options.maxNewTokens ?? 32;
  const prompts = items.map((it) => museQaPrompt(it.question, options.icl));
  // generate() stops at the first stop string and cuts the text before it: the same text MUSE gets by decoding
  // all 32 tokens and splitting at each marker in turn.
  const generations = greedyTexts(model, tokenizer, prompts, maxNewTokens, options.batchSize ?? 16, KNOWMEM_STOPS);
  return score(items.map((it) => it.answer), generations, options.stem ?? false);
}
