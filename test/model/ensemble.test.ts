// The ensemble as one model: its aggregations against a float64 recomputation, greedy generation through the
// members' child KV caches against full recomputation without a cache, and refusals of what only members can do.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { noGrad, Tensor } from '../../src/engine/index.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import { createModel } from '../../src/model/checkpoint.ts';
import { parseConfig } from '../../src/model/config.ts';
import { aggregate, EnsembleLM } from '../../src/model/ensemble.ts';
import { generate } from '../../src/model/generate.ts';
import { initWeights } from '../../src/model/init.ts';

function member(seed: number): CausalLM {
  const m = createModel(parseConfig({ architectures: ['GPT2LMHeadModel'], vocab_size: 50, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 }));
  initWeights(m, seed, 0.3);
  return m;
}

const logSoftmax64 = (row: number[]): number[] => {
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
  return row.map((x) => x - lse);
};

describe('ensemble', () => {
  const members = [member(1), member(2), member(3)];
  const ids = new Tensor(Int32Array.from([3, 7, 11, 2, 9, 4, 4, 1]), [2, 4]);
  const memberLp = members.map((m) => {
    const l = noGrad(() => m.forward(ids).logits!).f32('test');
    return Array.from({ length: 8 }, (_, r) => logSoftmax64(Array.from(l.subarray(r * 50, (r + 1) * 50))));
  });

  test('mean-prob, mean-logprob and most-confident match a float64 recomputation', () => {
    for (const how of ['mean-prob', 'mean-logprob', 'most-confident'] as const) {
      const got = noGrad(() => new EnsembleLM(members, how).forward(ids).logits!).f32('test');
      for (let r = 0; r < 8; r++) {
        let want: number[];
        if (how === 'mean-prob') want = Array.from({ length: 50 }, (_, j) => Math.log(memberLp.reduce((a, lp) => a + Math.exp(lp[r]![j]!), 0) / 3));
        else if (how === 'mean-logprob') want = logSoftmax64(Array.from({ length: 50 }, (_, j) => memberLp.reduce((a, lp) => a + lp[r]![j]!, 0) / 3));
        else want = memberLp.map((lp) => lp[r]!).sort((a, b) => Math.max(...b) - Math.max(...a))[0]!;
        for (let j = 0; j < 50; j++) assert.ok(Math.abs(got[r * 50 + j]! - want[j]!) < 1e-5, `${how} row ${r} token ${j}`);
      }
    }
    const one = noGrad(() => new EnsembleLM([members[0]!]).forward(ids).logits!).f32('test');
    for (let j = 0; j < 50; j++) assert.ok(Math.abs(one[j]! - memberLp[0]![0]![j]!) < 1e-5, 'one member: its own distribution');
    assert.deepEqual(Array.from(aggregate([Float32Array.from([Math.log(0.25), Math.log(0.75)])], 2, 'mean-prob')).map((x) => Math.exp(x).toFixed(6)), ['0.250000', '0.750000']);
  });

  test('greedy generation with the members\' cached keys equals recomputing the whole sequence each step', () => {
    const ens = new EnsembleLM(members);
    const prompts = [[3, 7, 11], [2, 9]];
    const out = generate(ens, prompts, { maxNewTokens: 6, temperature: 0, eosTokenIds: [49], padTokenId: 0 });
    prompts.forEach((p, b) => {
      const seq = [...p];
      for (let step = 0; step < out[b]!.tokens.length; step++) {
        const l = noGrad(() => ens.forward(new Tensor(Int32Array.from(seq), [1, seq.length])).logits!).f32('test');
        const last = l.subarray((seq.length - 1) * 50, seq.length * 50);
        seq.push(last.indexOf(Math.max(...last)));
      }
      assert.deepEqual(out[b]!.tokens, seq.slice(p.length), `prompt ${b}`);
    });
  });

  test('hidden states, taps, gradients and parameters belong to the members', () => {
    const ens = new EnsembleLM(members);
    assert.throws(() => noGrad(() => ens.forward(ids, { keepHidden: [0] })), /distributions only/);
    assert.throws(() => ens.forward(ids), /cannot be trained/);
    assert.throws(() => ens.params, /no single parameter set/);
  });
});
