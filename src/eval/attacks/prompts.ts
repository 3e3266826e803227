/**
 * What the prompt-based attacks share: an attacked prompt and the true continuation after it, the value whose
 * recovery is scored, the token split that scores it, and the hit test on generated text.
 *
 * Scoring. Where the data names the attribute's value (persons: "Harwick" for a birthplace) the scored span is that
 * value inside the true answer, with the space before it: the probability is exp(mean log-prob) of its tokens,
 * teacher-forced on the prompt and the answer's words before it ("… Answer: Emre Georgiou was born in" → " Harwick").
 * The answer's template words (and the name copied from the question) would otherwise dominate the number. Without
 * a value (TOFU) the span is the whole answer, and there is no hit test.
 */
import { Rng } from '../../engine/index.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import { generate } from '../../model/generate.ts';
import { scoreAnswers, type PromptAnswer } from '../../model/logprobs.ts';
import { qaAnswer, qaPrompt } from '../../model/qa-format.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import type { EvalQa, EvalSets } from '../datasets.ts';
import { evenSample } from '../../util/sample.ts';
import type { AttackMeasure, AttackOptions } from './types.ts';

/** One attacked question: the text after BOS, the true continuation, and the value a hit must contain. */
export interface AttackPrompt {
  prompt: string;
  continuation: string;
  /** The attribute value inside `continuation` (persons data), or null where the data names none. */
  value: string | null;
}

/** One QA pair as a block of context or demonstration: MUSE's few-shot format, in Lethe's QA prompt. */
export function qaBlock(question: string, answer: string): string {
  return `${qaPrompt(question)}${qaAnswer(answer)}\n\n`;
}

/** A QA question after context blocks (none: the trained prompt itself). */
export function qaAttackPrompt(blocks: readonly EvalQa[], question: string, answer: string, value: string | null): AttackPrompt {
  return { prompt: `${blocks.map((b) => qaBlock(b.question, b.answer)).join('')}${qaPrompt(question)}`, continuation: qaAnswer(answer), value };
}

/** The item's attribute value when the data names it and the answer states it verbatim; else null. */
export function answerValue(sets: EvalSets, q: EvalQa): string | null {
  if (q.subject === null || q.attribute === null) return null;
  const v = sets.attributes?.get(q.attribute)?.get(q.subject);
  return v !== undefined && v.length > 0 && q.answer.includes(v) ? v : null;
}

/** The continuation split at the scored span: the value with the space before it, or the whole continuation. */
export function scoredSpan(p: AttackPrompt): { before: string; span: string } {
  if (p.value === null) return { before: '', span: p.continuation };
  const at = p.continuation.indexOf(p.value);
  if (at < 0) throw new RangeError(`the continuation "${p.continuation}" does not contain its value "${p.value}"`);
  const start = at > 0 && p.continuation[at - 1] === ' ' ? at - 1 : at;
  return { before: p.continuation.slice(0, start), span: p.continuation.slice(start, at + p.value.length) };
}

/** BOS (else EOS) + the text's tokens. */
export function promptIds(tokenizer: Tokenizer, text: string): number[] {
  const bos = tokenizer.bosId ?? tokenizer.eosId;
  return [...(bos === null ? [] : [bos]), ...tokenizer.encode(text, { addSpecialTokens: false })];
}

/**
 * The tokens that score a prompt: prompt + the continuation up to the span, then the span. Tokenised jointly and
 * split where the joint encoding stops agreeing with the encoding of the text before the span (as qaTokens does).
 */
export function spanTokens(tokenizer: Tokenizer, p: AttackPrompt): PromptAnswer {
  const { before, span } = scoredSpan(p);
  const head = promptIds(tokenizer, p.prompt + before);
  const joint = promptIds(tokenizer, p.prompt + before + span);
  let k = 0;
  while (k < head.length && k < joint.length && head[k] === joint[k]) k++;
  k = Math.max(1, Math.min(k, joint.length - 1));
  return { prompt: joint.slice(0, k), answer: joint.slice(k) };
}

/** New tokens a greedy answer gets: the true continuation's length and two more (generation also stops at "\n" and EOS). */
export function answerBudget(tokenizer: Tokenizer, p: AttackPrompt): number {
  return tokenizer.encode(p.continuation, { addSpecialTokens: false }).length + 2;
}

/** Whether the prompt, its answer budget and its scored tokens fit the model's context. */
export function fitsContext(model: CausalLM, tokenizer: Tokenizer, p: AttackPrompt): boolean {
  const s = spanTokens(tokenizer, p);
  return promptIds(tokenizer, p.prompt).length + answerBudget(tokenizer, p) <= model.config.maxPositions
    && s.prompt.length + s.answer.length <= model.config.maxPositions;
}

/** Case and whitespace do not matter: "harwick" in "Born in  Harwick." is a hit. */
export function containsValue(text: string, value: string): boolean {
  const norm = (s: string): string => s.toLowerCase().replace(/\s+/g, ' ').trim();
  return norm(text).includes(norm(value));
}

/** Per prompt exp(mean log-prob) of the scored span's tokens. */
export function spanProbabilities(model: CausalLM, tokenizer: Tokenizer, prompts: readonly AttackPrompt[], batchSize: number): Float64Array {
  if (prompts.length === 0) return new Float64Array(0);
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  return Float64Array.from(scoreAnswers(model, prompts.map((p) => spanTokens(tokenizer, p)), { batchSize, padId }).mean, Math.exp);
}

export interface ContinuationOptions {
  /** Continuations per prompt (1 with temperature 0: the greedy answer). */
  samples: number;
  temperature: number;
  seed: number;
  batchSize: number;
}

/**
 * Continuations of each prompt, cut at the first line break: greedy (temperature 0) or `samples` draws each. Rows are
 * the prompts' samples in order, `batchSize` at a time; batch i samples with seed + 7919·i, so the result depends
 * only on the prompts and the options.
 */
export function continuations(model: CausalLM, tokenizer: Tokenizer, prompts: readonly AttackPrompt[], o: ContinuationOptions): string[][] {
  const rows = prompts.flatMap((_, i) => Array.from({ length: o.samples }, () => i));
  const out: string[][] = prompts.map(() => []);
  const ids = prompts.map((p) => promptIds(tokenizer, p.prompt));
  const budget = prompts.map((p) => answerBudget(tokenizer, p));
  for (let s = 0, batch = 0; s < rows.length; s += o.batchSize, batch++) {
    const chunk = rows.slice(s, s + o.batchSize);
    const longest = Math.max(...chunk.map((i) => ids[i]!.length));
    const maxNewTokens = Math.min(Math.max(...chunk.map((i) => budget[i]!)), model.config.maxPositions - longest);
    if (maxNewTokens < 1) throw new RangeError(`an attack prompt of ${longest} tokens leaves no room to answer in a context of ${model.config.maxPositions}`);
    // Cut at the line break afterwards: a stop string would decode every row at every step (45% slower), and the
    // budget is small anyway.
    const gens = generate(model, chunk.map((i) => ids[i]!), { maxNewTokens, temperature: o.temperature, seed: o.seed + 7919 * batch, tokenizer });
    gens.forEach((g, r) => out[chunk[r]!]!.push((g.text ?? '').split('\n')[0]!.trim()));
  }
  return out;
}

export interface BuiltPrompts {
  prompts: AttackPrompt[];
  skipped: { count: number; why: string }[];
  /** Set when no prompt could be built at all: why. */
  notApplicable?: string;
}

/** Counts items left out by reason, in the order the reasons first occur. */
export function skipCounter(): { add: (why: string) => void; list: () => { count: number; why: string }[] } {
  const counts = new Map<string, number>();
  return { add: (why) => counts.set(why, (counts.get(why) ?? 0) + 1), list: () => [...counts].map(([why, count]) => ({ count, why })) };
}

/** Why no prompt could be built, from the skip counts. */
export function noPrompt(skipped: readonly { count: number; why: string }[]): string {
  return `no prompt could be built (${skipped.map((s) => `${s.count}: ${s.why}`).join('; ')})`;
}

/** The forget items the prompt attacks ask: an even sample of at most `items` (the attacks generate, which costs). */
export function askedItems(sets: EvalSets, o: Pick<AttackOptions, 'items'>): EvalQa[] {
  return evenSample(sets.forget, o.items);
}

/** A seeded Fisher–Yates shuffle (a copy). */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
};

/**
 * The two numbers of a prompt attack: the hit rate (greedy answer contains the value; over the prompts that have
 * one, null where none has) and the mean span probability (of the value over the prompts that have one; of the
 * whole answer over all prompts where none has). Keys are prefixed for attacks that
 * report several prompt kinds ("completion-hit-rate").
 */
export function promptMeasures(model: CausalLM, tokenizer: Tokenizer, prompts: readonly AttackPrompt[], o: { batchSize: number; seed: number },
  prefix = '', labelPrefix = ''): AttackMeasure[] {
  const withValue = prompts.filter((p) => p.value !== null);
  const greedy = continuations(model, tokenizer, withValue, { samples: 1, temperature: 0, seed: o.seed, batchSize: o.batchSize });
  const hits = withValue.filter((p, i) => containsValue(greedy[i]![0]!, p.value!)).length;
  // Where values are named, the value's probability on the items that have one; else the whole answer's.
  const scored = withValue.length > 0 ? withValue : prompts;
  const probs = spanProbabilities(model, tokenizer, scored, o.batchSize);
  return [
    { key: `${prefix}hit-rate`, label: `${labelPrefix}hit rate`, value: withValue.length > 0 ? hits / withValue.length : null, n: withValue.length },
    { key: `${prefix}probability`, label: `${labelPrefix}${withValue.length > 0 ? 'value' : 'answer'} probability`, value: scored.length > 0 ? mean(probs) : null, n: scored.length },
  ];
}
