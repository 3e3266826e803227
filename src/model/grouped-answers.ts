import { concat, crossEntropy, noGrad, pooled, Tensor } from '../engine/index.ts';
import { takeRows } from './arch/packing.ts';
import type { CausalLM } from './arch/types.ts';
import { KVCache } from './kv-cache.ts';
import type { AnswerScores, PromptAnswer } from './logprobs.ts';

/** One prompt and several answers to it (a question's true, paraphrased and perturbed answers). */
export interface AnswerGroup {
  prompt: readonly number[];
  answers: readonly (readonly number[])[];
}

/** The teacher-forced logits of a chunk of groups, at every answer token. */
export interface GroupedChunk {
  /** Index of the chunk's first group in the groups passed in. */
  first: number;
  groups: readonly AnswerGroup[];
  /** [K, vocab]: the logits that predict each answer token, in the order group, answer, token. */
  logits: Tensor;
  /** [K]: the answer tokens those rows predict, in the same order. */
  targets: Int32Array;
}

function validate(model: CausalLM, groups: readonly AnswerGroup[]): void {
  const vocab = model.config.vocabSize;
  const checkTokens = (ids: readonly number[], i: number): void => {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RangeError(`group ${i}: token ${id} is outside the vocabulary of ${vocab}`);
    }
  };
  groups.forEach((g, i) => {
    if (g.prompt.length === 0) throw new RangeError(`group ${i}: the prompt needs at least one token (e.g. BOS)`);
    if (g.answers.length === 0) throw new RangeError(`group ${i}: no answers`);
    checkTokens(g.prompt, i);
    for (const [a, answer] of g.answers.entries()) {
      if (answer.length === 0) throw new RangeError(`group ${i}, answer ${a}: the answer is empty`);
      if (g.prompt.length + answer.length > model.config.maxPositions) {
        throw new RangeError(`group ${i}, answer ${a}: ${g.prompt.length + answer.length} tokens exceed the model's context of ${model.config.maxPositions}`);
      }
      checkTokens(answer, i);
    }
  });
}

/**
 * Teacher-forced scoring of several answers per prompt with the prompt computed once. TOFU-style sets score seven
 * answers per question (true, paraphrased, five perturbed) that share a prompt as long as each answer; running
 * each pair whole computes that prompt seven times. Here the prompts run once, left-padded, into a key/value
 * cache; each answer row then attends over its prompt's cached rows, with the answer rows packed (no padding
 * computed). The prompt pass's last position predicts every answer's first token; answer token j ≥ 1 is predicted
 * from answer position j − 1, so an answer's last token is only ever a target.
 *
 * Chunks hold whole groups, about `batchSize` answers each (at least one group). `fn` runs inside the chunk's
 * pool scope: the logits are valid only during the call.
 */
export function forEachGroupedChunk(model: CausalLM, groups: readonly AnswerGroup[], options: { batchSize?: number; padId?: number },
  fn: (chunk: GroupedChunk) => void): void {
  validate(model, groups);
  const batchSize = options.batchSize ?? 32;
  const pad = options.padId ?? 0;
  noGrad(() => {
    for (let first = 0; first < groups.length;) {
      let end = first;
      let rows = 0;
      while (end < groups.length && (end === first || rows + groups[end]!.answers.length <= batchSize)) rows += groups[end++]!.answers.length;
      const chunk = groups.slice(first, end);
      pooled(() => fn({ first, groups: chunk, ...chunkLogits(model, chunk, pad) }));
      first = end;
    }
  });
}

function chunkLogits(model: CausalLM, chunk: readonly AnswerGroup[], pad: number): { logits: Tensor; targets: Int32Array } {
  const G = chunk.length;
  const Lp = Math.max(...chunk.map((g) => g.prompt.length));
  const ids = new Int32Array(G * Lp).fill(pad);
  const keyStart = Int32Array.from(chunk, (g) => Lp - g.prompt.length);
  chunk.forEach((g, i) => ids.set(g.prompt, i * Lp + keyStart[i]!));
  const cache = new KVCache(model.config.numLayers);
  const last = Int32Array.from({ length: G }, (_, i) => i * Lp + Lp - 1);
  const promptLogits = model.forward(new Tensor(ids, [G, Lp]), { cache, keyStart, logitPositions: last }).logits!;

  // Answer rows that have inputs (every token but the last); a one-token answer needs the prompt pass only.
  const rowGroup: number[] = [];
  const rowAnswer: (readonly number[])[] = [];
  chunk.forEach((g, i) => {
    for (const a of g.answers) {
      if (a.length < 2) continue;
      rowGroup.push(i);
      rowAnswer.push(a);
    }
  });
  let answerLogits: Tensor | null = null;
  const answerRowStart: number[] = [];
  if (rowAnswer.length > 0) {
    const R = rowAnswer.length;
    const T = Math.max(...rowAnswer.map((a) => a.length - 1));
    const aids = new Int32Array(R * T).fill(pad);
    const lengths = Int32Array.from(rowAnswer, (a) => a.length - 1);
    const positions: number[] = [];
    rowAnswer.forEach((a, r) => {
      aids.set(a.slice(0, -1), r * T);
      answerRowStart.push(positions.length);
      for (let t = 0; t < a.length - 1; t++) positions.push(r * T + t);
    });
    const groupRows = Int32Array.from(rowGroup);
    answerLogits = model.forward(new Tensor(aids, [R, T]), {
      cache: cache.selectRows(groupRows), keyStart: Int32Array.from(rowGroup, (g) => keyStart[g]!), lengths, logitPositions: Int32Array.from(positions),
    }).logits!;
  }

  // Rows of [promptLogits; answerLogits] in the order group, answer, token.
  const order: number[] = [];
  const targets: number[] = [];
  let row = 0;
  chunk.forEach((g, i) => {
    for (const a of g.answers) {
      order.push(i);
      targets.push(a[0]!);
      if (a.length < 2) continue;
      const start = G + answerRowStart[row++]!;
      for (let j = 1; j < a.length; j++) {
        order.push(start + j - 1);
        targets.push(a[j]!);
      }
    }
  });
  const all = answerLogits ? concat([promptLogits, answerLogits], 0) : promptLogits;
  return { logits: takeRows(all, Int32Array.from(order)), targets: Int32Array.from(targets) };
}

/** Runs of adjacent pairs with the same prompt tokens as groups, and where each pair went. */
export function groupAdjacentPrompts(pairs: readonly PromptAnswer[]): { groups: AnswerGroup[]; at: { group: number; answer: number }[] } {
  const groups: { prompt: readonly number[]; answers: (readonly number[])[] }[] = [];
  const at: { group: number; answer: number }[] = [];
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
  for (const p of pairs) {
    const last = groups[groups.length - 1];
    // Prompts are compared token by token: a tokenizer may merge across the prompt/answer boundary differently.
    if (last && same(last.prompt, p.prompt)) last.answers.push(p.answer);
    else groups.push({ prompt: p.prompt, answers: [p.answer] });
    at.push({ group: groups.length - 1, answer: groups[groups.length - 1]!.answers.length - 1 });
  }
  return { groups, at };
}

export interface SharedPromptOptions {
  batchSize?: number;
  padId?: number;
  /** Called with the logits row that predicts answer token j of each pair `wants` accepts (valid during the call only). */
  visit?: { wants: (pair: number) => boolean; row: (pair: number, j: number, logits: Float32Array) => void };
}

/**
 * scoreAnswers for lists where runs of adjacent pairs share a prompt (a question with its true, paraphrased and
 * perturbed answers): each run's prompt is computed once (forEachGroupedChunk). Scores are per pair, in input
 * order, equal to scoreAnswers' up to float rounding.
 */
export function scoreSharedPrompts(model: CausalLM, pairs: readonly PromptAnswer[], options: SharedPromptOptions = {}): AnswerScores {
  const { groups, at } = groupAdjacentPrompts(pairs);
  // The pairs of each group, in order, to map chunk rows back.
  const pairOf: number[][] = groups.map(() => []);
  at.forEach((a, i) => pairOf[a.group]!.push(i));
  const out: AnswerScores = { tokenLogProbs: new Array<Float32Array>(pairs.length), sum: new Float64Array(pairs.length), mean: new Float64Array(pairs.length) };
  forEachGroupedChunk(model, groups, options, (chunk) => {
    const nll = crossEntropy(chunk.logits, new Tensor(chunk.targets, [chunk.targets.length]), { reduction: 'none' }).f32('scoreSharedPrompts');
    const data = options.visit ? chunk.logits.f32('scoreSharedPrompts') : null;
    const V = chunk.logits.shape[1]!;
    let k = 0;
    chunk.groups.forEach((g, gi) => {
      g.answers.forEach((answer, a) => {
        const pair = pairOf[chunk.first + gi]![a]!;
        const lp = Float32Array.from(nll.subarray(k, k + answer.length), (v) => -v);
        if (data && options.visit!.wants(pair)) {
          for (let j = 0; j < answer.length; j++) options.visit!.row(pair, j, data.subarray((k + j) * V, (k + j + 1) * V));
        }
        let s = 0;
        for (const v of lp) s += v;
        out.tokenLogProbs[pair] = lp;
        out.sum[pair] = s;
        out.mean[pair] = s / answer.length;
        k += answer.length;
      });
    });
  });
  return out;
}
