import { EngineError, isGradEnabled, Tensor } from '../engine/index.ts';
import type { CausalLM, ForwardOptions, ForwardOutput } from './arch/types.ts';
import type { ModelConfig } from './config.ts';
import type { ParameterStore } from './params.ts';
import type { Aggregation } from './aggregations.ts';

/** Log-softmax of each row of a [rows, V] array, in place. */
function logSoftmaxRows(x: Float32Array, V: number): void {
  for (let o = 0; o < x.length; o += V) {
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, x[o + j]!);
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(x[o + j]! - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < V; j++) x[o + j] = x[o + j]! - lse;
  }
}

/** Combines members' log-probabilities [rows, V] into the ensemble's, as log-probabilities (valid logits). */
export function aggregate(members: readonly Float32Array[], V: number, how: Aggregation): Float32Array {
  const S = members.length;
  const out = new Float32Array(members[0]!.length);
  for (let o = 0; o < out.length; o += V) {
    if (how === 'most-confident') {
      let best = 0;
      let bestTop = -Infinity;
      members.forEach((m, s) => {
        let top = -Infinity;
        for (let j = 0; j < V; j++) top = Math.max(top, m[o + j]!);
        if (top > bestTop) [best, bestTop] = [s, top];
      });
      out.set(members[best]!.subarray(o, o + V), o);
      continue;
    }
    for (let j = 0; j < V; j++) {
      if (how === 'mean-logprob') {
        let sum = 0;
        for (const m of members) sum += m[o + j]!;
        out[o + j] = sum / S;
      } else {
        // log(mean exp(lp)) by log-sum-exp, so tiny probabilities do not underflow.
        let max = -Infinity;
        for (const m of members) max = Math.max(max, m[o + j]!);
        let sum = 0;
        for (const m of members) sum += Math.exp(m[o + j]! - max);
        out[o + j] = max + Math.log(sum / S);
      }
    }
  }
  if (how === 'mean-logprob') logSoftmaxRows(out, V);
  return out;
}

/**
 * Several models with one tokenizer and vocabulary used as one: each forward pass runs every member (each with its
 * own KV cache, a child of the caller's) and returns the aggregated log-probabilities as logits, so generation,
 * answer scoring and the metrics built on them work unchanged. It computes distributions only: hidden states,
 * projection taps and gradients belong to the members (train or unlearn those).
 */
export class EnsembleLM implements CausalLM {
  readonly config: ModelConfig;
  readonly members: readonly CausalLM[];
  readonly aggregation: Aggregation;

  constructor(members: readonly CausalLM[], aggregation: Aggregation = 'mean-prob') {
    if (members.length === 0) throw new RangeError('an ensemble needs at least one member');
    const V = members[0]!.config.vocabSize;
    if (members.some((m) => m.config.vocabSize !== V)) throw new RangeError('ensemble members disagree on the vocabulary size');
    this.config = members[0]!.config;
    this.members = members;
    this.aggregation = aggregation;
  }

  get params(): ParameterStore {
    throw new EngineError('ensemble', 'an ensemble has no single parameter set: its members do (train or unlearn them, e.g. with --method sisa)');
  }

  forward(ids: Tensor, options: ForwardOptions = {}): ForwardOutput {
    if (isGradEnabled()) throw new EngineError('ensemble', 'an ensemble cannot be trained through its aggregated distribution; train its members');
    if (options.keepHidden?.length || options.stopAfterLayer !== undefined || options.linearInput) {
      throw new EngineError('ensemble', 'an ensemble gives next-token distributions only; hidden states and projection taps belong to its members');
    }
    const V = this.config.vocabSize;
    let shape: readonly number[] = [];
    const logprobs = this.members.map((m, i) => {
      const logits = m.forward(ids, { ...options, ...(options.cache ? { cache: options.cache.child(i) } : {}) }).logits!;
      shape = logits.shape;
      const lp = logits.f32('ensemble').slice();
      logSoftmaxRows(lp, V);
      return lp;
    });
    if (options.cache) {
      options.cache.inheritSeal(options.cache.child(0));
      options.cache.advance(ids.shape[1]!);
    }
    return { logits: new Tensor(aggregate(logprobs, V, this.aggregation), [...shape]), hidden: new Map() };
  }
}
