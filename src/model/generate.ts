import { noGrad, pooled, releaseEarly, Rng, Tensor, transient } from '../engine/index.ts';
import type { CausalLM } from './arch/types.ts';
import { KVCache } from './kv-cache.ts';
import { sampleToken, validateSampling, type SamplingOptions } from './sampling.ts';
import type { Tokenizer } from './tokenizer.ts';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Seed for sampling (ignored when greedy). */
  seed?: number;
  /** Token ids that end a sequence (default: the config's eos_token_id). */
  eosTokenIds?: readonly number[];
  /** Generation stops once the decoded continuation contains one of these (needs a tokenizer). */
  stopStrings?: readonly string[];
  tokenizer?: Tokenizer;
  /** Id used for left padding (default: EOS, else 0); padded positions are masked out of attention. */
  padTokenId?: number;
  /** Called after each step with the number of new tokens so far. */
  onStep?: (step: number) => void;
}

export interface Generation {
  /** New tokens (without the prompt), including a final EOS if one was produced. */
  tokens: number[];
  /** Decoded continuation, cut before a stop string (when a tokenizer was given). */
  text: string | null;
  finishReason: 'length' | 'eos' | 'stop';
}

function configEos(model: CausalLM): number[] {
  const e = model.config.eosTokenId;
  return e === null ? [] : Array.isArray(e) ? e : [e];
}

/**
 * Decodes continuations of a batch of prompts with a KV cache. Prompts of different lengths are left-padded
 * and the padding is masked out of attention, so each row decodes exactly as it would alone.
 */
export function generate(model: CausalLM, prompts: readonly (readonly number[])[], options: GenerateOptions): Generation[] {
  validateSampling(options);
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 0) {
    throw new RangeError(`maxNewTokens must be a non-negative integer, got ${options.maxNewTokens}`);
  }
  if (prompts.length === 0) return [];
  if (prompts.some((p) => p.length === 0)) throw new RangeError('every prompt needs at least one token');
  if ((options.stopStrings?.length ?? 0) > 0 && !options.tokenizer) throw new RangeError('stopStrings need a tokenizer');
  const vocab = model.config.vocabSize;
  for (const p of prompts) {
    const bad = p.find((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
    if (bad !== undefined) throw new RangeError(`prompt token ${bad} is outside the vocabulary of ${vocab}`);
  }
  const B = prompts.length;
  const L = Math.max(...prompts.map((p) => p.length));
  if (L + options.maxNewTokens > model.config.maxPositions) {
    throw new RangeError(`prompt (${L}) + maxNewTokens (${options.maxNewTokens}) exceed the model's context of ${model.config.maxPositions}`);
  }
  const eos = new Set(options.eosTokenIds ?? configEos(model));
  const pad = options.padTokenId ?? [...eos][0] ?? 0;
  const keyStart = Int32Array.from(prompts, (p) => L - p.length);
  const ids = new Int32Array(B * L).fill(pad);
  prompts.forEach((p, b) => ids.set(p, b * L + (L - p.length)));
  const rng = new Rng(options.seed ?? 0);
  const results: Generation[] = prompts.map(() => ({ tokens: [], text: null, finishReason: 'length' }));
  const done = new Array<boolean>(B).fill(false);

  // In a pooled scope, each pass in a transient frame that keeps only its logits and the cache, and whatever a step
  // replaces (the cache's old entries, the last logits, a compacted cache) handed back at once: the decode steps
  // reuse each other's memory instead of leaving the garbage collector a fresh cache copy per layer per token.
  const pass = (input: Tensor, o: Parameters<CausalLM['forward']>[1]): Tensor =>
    transient(() => model.forward(input, o).logits!, (out) => [out.data, ...o!.cache!.allData()]);
  pooled(() => noGrad(() => {
    let cache = new KVCache(model.config.numLayers);
    let rowStart = keyStart;
    // The batch's rows, by prompt index. Finished rows leave the batch (their cache rows are dropped), so the
    // short answers of a batch do not keep computing while its longest one runs on.
    let rows = Array.from({ length: B }, (_, b) => b);
    // The prompt pass needs logits at each row's last position only (left padding: position L − 1), and each
    // later step has one position per row: either way row r of the logits is r·vocab.
    const last = Int32Array.from({ length: B }, (_, b) => b * L + L - 1);
    let logits = pass(new Tensor(ids, [B, L]), { cache, keyStart, logitPositions: last });
    for (let step = 0; step < options.maxNewTokens; step++) {
      const data = logits.f32('generate');
      rows.forEach((b, r) => {
        if (done[b]) return;
        const token = sampleToken(data.subarray(r * vocab, (r + 1) * vocab), options, rng);
        const g = results[b]!;
        g.tokens.push(token);
        if (eos.has(token)) {
          g.finishReason = 'eos';
          done[b] = true;
        } else if (options.stopStrings && options.tokenizer && hitsStop(continuationText(options.tokenizer, prompts[b]!, g.tokens, false), options.stopStrings)) {
          g.finishReason = 'stop';
          done[b] = true;
        }
      });
      options.onStep?.(step + 1);
      const running = rows.filter((b) => !done[b]);
      if (running.length === 0 || step + 1 === options.maxNewTokens) break;
      // Copying the cache costs about a step, so rows leave once a quarter of the batch has finished.
      if (running.length <= rows.length * 0.75) {
        const keep = Int32Array.from(rows.flatMap((b, r) => (done[b] ? [] : [r])));
        const old = cache;
        cache = cache.selectRows(keep);
        old.release();
        rowStart = Int32Array.from(keep, (r) => rowStart[r]!);
        rows = running;
      }
      const next = Int32Array.from(rows, (b) => results[b]!.tokens.at(-1) ?? pad);
      // Rows that finished but stay until the next compaction feed padding; nothing reads their logits.
      rows.forEach((b, r) => {
        if (done[b]) next[r] = pad;
      });
      releaseEarly(logits.data);
      logits = pass(new Tensor(next, [rows.length, 1]), { cache, keyStart: rowStart });
    }
  }));

  if (options.tokenizer) {
    for (const [b, r] of results.entries()) {
      let text = continuationText(options.tokenizer, prompts[b]!, r.tokens, true);
      if (r.finishReason === 'stop') text = cutAtStop(text, options.stopStrings!);
      r.text = text;
    }
  }
  return results;
}

const CONTEXT_TOKENS = 8;

/**
 * The text the new tokens add after the prompt: decode(prompt + new) minus decode(prompt), as transformers' streamers
 * do. Decoding the new tokens alone drops a leading space on SentencePiece vocabularies ("shining" + "▁and" decodes
 * to "and", not " and"), because the decoder strips the first token's word-start marker.
 */
export function continuationText(tokenizer: Tokenizer, prompt: readonly number[], tokens: readonly number[], skipSpecialTokens: boolean): string {
  // The prompt's last few tokens are context enough for the decoder, and keep the per-step stop-string check from
  // decoding the whole prompt again at every step.
  const context = prompt.slice(-CONTEXT_TOKENS);
  const head = tokenizer.decode(context, { skipSpecialTokens });
  const full = tokenizer.decode([...context, ...tokens], { skipSpecialTokens });
  // A prompt ending inside a multi-byte character decodes differently alone; then the tokens alone are the best guess.
  return full.startsWith(head) ? full.slice(head.length) : tokenizer.decode(tokens, { skipSpecialTokens });
}

function hitsStop(text: string, stops: readonly string[]): boolean {
  return stops.some((s) => s.length > 0 && text.includes(s));
}

function cutAtStop(text: string, stops: readonly string[]): string {
  let cut = text.length;
  for (const s of stops) {
    const i = s.length > 0 ? text.indexOf(s) : -1;
    if (i >= 0 && i < cut) cut = i;
  }
  return text.slice(0, cut);
}
