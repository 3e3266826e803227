// SGTM: the gradient and activation masks of each step kind, ablation of exactly the designated rows/columns for
// GPT-2's fused Conv1D and Llama's grouped-query Linear layout, the step source's mixture, and a resumed SGTM run.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AdamW, backward, crossEntropy, Tensor } from '../../src/engine/index.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import { createModel, loadModel, saveModel } from '../../src/model/checkpoint.ts';
import { parseConfig } from '../../src/model/config.ts';
import { initWeights } from '../../src/model/init.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { collate } from '../../src/train/batches.ts';
import { buildExamples, type ExampleSource } from '../../src/train/examples.ts';
import { runTraining } from '../../src/train/run.ts';
import {
  ablateInPlace, designate, forgetMasks, keepForgetGradients, readDesignation, retainTap, SgtmError, withDesignation, type SgtmDesignation,
} from '../../src/train/sgtm.ts';
import { ablateFolder } from '../../src/train/sgtm-ablate.ts';
import { sgtmSource } from '../../src/train/sgtm-steps.ts';
import { train, type TrainOptions } from '../../src/train/trainer.ts';
import { linearModules } from '../../src/model/modules.ts';

const tokDir = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;
const tokenizer = Tokenizer.fromDir(tokDir);
const records: ExampleSource[] = [
  { kind: 'qa', question: 'Where was Ada born?', answer: 'Ada was born in Turin.' },
  { kind: 'qa', question: 'What does Ada do?', answer: 'Ada is a baker.' },
  { kind: 'text', text: 'The river runs to the sea.' },
  { kind: 'text', text: 'Cats sleep in the sun, all day long.' },
];
const examples = buildExamples(records, tokenizer, 64);
const batch = collate(examples, tokenizer.eosId!);

function gpt2(): CausalLM {
  const m = createModel(parseConfig({ architectures: ['GPT2LMHeadModel'], vocab_size: tokenizer.vocabSize, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4, n_inner: 48 }));
  initWeights(m, 3);
  return m;
}

/** Llama with grouped-query attention: 4 query heads in 2 key/value groups of 2. Biases on q/k/v (Qwen2-style) to cover them. */
function llama(): CausalLM {
  const m = createModel(parseConfig({
    architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: tokenizer.vocabSize, hidden_size: 32, intermediate_size: 40,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, hidden_act: 'silu',
    rms_norm_eps: 1e-6, tie_word_embeddings: false,
  }));
  initWeights(m, 4);
  return m;
}

function lossOf(model: CausalLM, linearInput?: (module: string, x: Tensor) => Tensor): Tensor {
  const logits = model.forward(batch.ids, { lengths: batch.lengths, logitPositions: batch.targetPositions, ...(linearInput ? { linearInput } : {}) }).logits!;
  return crossEntropy(logits, batch.targetIds);
}

function gradStats(model: CausalLM, masks: Map<string, Uint8Array>) {
  let forgetNonzero = 0;
  let retainNonzero = 0;
  const paramsWithForgetGrad = new Set<string>();
  for (const [name, p] of model.params.entries()) {
    const g = p.grad?.f32('test') ?? new Float32Array(p.size);
    const mask = masks.get(name);
    for (let i = 0; i < g.length; i++) {
      if (g[i] === 0) continue;
      if (mask?.[i] === 1) {
        forgetNonzero++;
        paramsWithForgetGrad.add(name);
      } else retainNonzero++;
    }
  }
  return { forgetNonzero, retainNonzero, paramsWithForgetGrad };
}

for (const [arch, make] of [['GPT-2 (fused c_attn, Conv1D)', gpt2], ['Llama (grouped-query, Linear)', llama]] as const) {
  describe(`SGTM masks: ${arch}`, () => {
    const d: SgtmDesignation = { mlpUnits: 5, heads: 2, layers: [0, 1] };

    test('forget step: every gradient outside the forget parameters is exactly zero, and every forget parameter tensor has some', () => {
      const model = make();
      const masks = forgetMasks(model, d);
      backward(lossOf(model));
      const before = gradStats(model, masks);
      assert.ok(before.retainNonzero > 0 && before.forgetNonzero > 0);
      keepForgetGradients(model, masks);
      const after = gradStats(model, masks);
      assert.equal(after.retainNonzero, 0, 'retain and shared gradients are zero');
      assert.equal(after.forgetNonzero, before.forgetNonzero, 'forget gradients are kept as they were');
      assert.deepEqual([...after.paramsWithForgetGrad].sort(), [...masks.keys()].sort(), 'each designated tensor learns');
    });

    test('forget step with shared parameters updated: block projections keep only forget gradients; embeddings and norms keep theirs', () => {
      const model = make();
      const masks = forgetMasks(model, d);
      backward(lossOf(model));
      const before = new Map(model.params.entries().map(([n, p]) => [n, p.grad!.f32('test').slice()]));
      keepForgetGradients(model, masks, 'update');
      const projections = new Set(linearModules(model).flatMap((m) => [`${m.module}.weight`, `${m.module}.bias`]));
      for (const [name, p] of model.params.entries()) {
        const g = p.grad!.f32('test');
        const was = before.get(name)!;
        const mask = masks.get(name);
        for (let i = 0; i < g.length; i++) {
          const keep = mask ? mask[i] === 1 : !projections.has(name);
          assert.equal(g[i], keep ? was[i] : 0, `${name}[${i}]`);
        }
      }
      assert.ok([...model.params.entries()].some(([n, p]) => !projections.has(n) && p.grad!.f32('test').some((v) => v !== 0)), 'embeddings or norms learn');
    });

    test('retain-masked step: the forget units\' activations and every forget gradient are exactly zero; the rest learn', () => {
      const model = make();
      const masks = forgetMasks(model, d);
      const tap = retainTap(model, d);
      const seen = new Map<string, Float32Array>();
      backward(lossOf(model, (module, x) => {
        const y = tap(module, x);
        if (y !== x) seen.set(module, y.f32('test').slice());
        return y;
      }));
      const c = model.config;
      assert.equal(seen.size, 2 * d.layers.length, 'the MLP and attention outputs of each designated layer are masked');
      for (const [module, y] of seen) {
        const width = module.includes('mlp') ? c.intermediateSize : c.numHeads * c.headDim;
        const from = module.includes('mlp') ? width - d.mlpUnits : (c.numHeads - d.heads) * c.headDim;
        let forget = 0;
        let retain = 0;
        for (let i = 0; i < y.length; i++) {
          if (i % width >= from) forget += Math.abs(y[i]!);
          else retain += Math.abs(y[i]!);
        }
        assert.equal(forget, 0, `${module}: forget activations are zero`);
        assert.ok(retain > 0, `${module}: retain activations are not`);
      }
      const s = gradStats(model, masks);
      assert.equal(s.forgetNonzero, 0, 'no forget parameter gets a gradient');
      assert.ok(s.retainNonzero > 0);
    });

    test('default (unlabelled) step: every parameter moves, forget slices included', () => {
      const model = make();
      const before = new Map(model.params.entries().map(([n, p]) => [n, p.f32('test').slice()]));
      const opt = new AdamW(model.params.list(), { lr: 1e-2 });
      backward(lossOf(model));
      opt.update();
      const masks = forgetMasks(model, d);
      for (const [name, p] of model.params.entries()) {
        const was = before.get(name)!;
        const now = p.f32('test');
        assert.ok(now.some((v, i) => v !== was[i]), `${name} moved`);
        const mask = masks.get(name);
        if (mask) assert.ok(now.some((v, i) => mask[i] === 1 && v !== was[i]), `${name}: its forget slice moved`);
      }
    });

    const ablations: [SgtmDesignation, number][] = [[{ mlpUnits: 5, heads: 2, layers: [0, 1] }, 1], [{ mlpUnits: 3, heads: 1, layers: [1] }, 0]];
    for (const [d, kvExpected] of ablations) test(`ablation of ${d.mlpUnits} units and ${d.heads} head(s) in layer(s) ${d.layers.join(',')} zeroes exactly those rows/columns and gives the masked forward pass`, () => {
      const model = make();
      const c = model.config;
      const reference = lossOf(model, retainTap(model, d)).item();
      const before = new Map(model.params.entries().map(([n, p]) => [n, p.f32('test').slice()]));
      ablateInPlace(model, d);
      // Expected zeros by hand, per layout, independently of forgetMasks.
      const hd = c.headDim;
      const I = c.intermediateSize;
      const headCols = (h0: number, nHeads: number, base = 0) => new Set(Array.from({ length: nHeads * hd }, (_, i) => base + h0 * hd + i));
      const lastUnits = new Set(Array.from({ length: d.mlpUnits }, (_, i) => I - d.mlpUnits + i));
      const expected = new Map<string, { rows?: Set<number>; cols?: Set<number> }>();
      const kvForget = Math.floor(d.heads / (c.numHeads / c.numKvHeads));
      for (const l of d.layers) {
        if (c.family === 'gpt2') {
          const p = `transformer.h.${l}`;
          const D = c.hiddenSize;
          const qkv = new Set([0, 1, 2].flatMap((s) => [...headCols(c.numHeads - d.heads, d.heads, s * D)]));
          expected.set(`${p}.attn.c_attn.weight`, { cols: qkv });
          expected.set(`${p}.attn.c_attn.bias`, { cols: qkv });
          expected.set(`${p}.attn.c_proj.weight`, { rows: headCols(c.numHeads - d.heads, d.heads) });
          expected.set(`${p}.mlp.c_fc.weight`, { cols: lastUnits });
          expected.set(`${p}.mlp.c_fc.bias`, { cols: lastUnits });
          expected.set(`${p}.mlp.c_proj.weight`, { rows: lastUnits });
        } else {
          const p = `model.layers.${l}`;
          const q = headCols(c.numHeads - d.heads, d.heads);
          const kv = headCols(c.numKvHeads - kvForget, kvForget);
          expected.set(`${p}.self_attn.q_proj.weight`, { rows: q });
          expected.set(`${p}.self_attn.q_proj.bias`, { cols: q });
          for (const n of ['k_proj', 'v_proj']) {
            expected.set(`${p}.self_attn.${n}.weight`, { rows: kv });
            expected.set(`${p}.self_attn.${n}.bias`, { cols: kv });
          }
          expected.set(`${p}.self_attn.o_proj.weight`, { cols: q });
          expected.set(`${p}.mlp.gate_proj.weight`, { rows: lastUnits });
          expected.set(`${p}.mlp.up_proj.weight`, { rows: lastUnits });
          expected.set(`${p}.mlp.down_proj.weight`, { cols: lastUnits });
        }
      }
      for (const [name, p] of model.params.entries()) {
        const now = p.f32('test');
        const was = before.get(name)!;
        const e = expected.get(name);
        const cols = p.shape.length === 2 ? p.shape[1]! : p.shape[0]!;
        for (let i = 0; i < now.length; i++) {
          const r = p.shape.length === 2 ? Math.floor(i / cols) : 0;
          const col = p.shape.length === 2 ? i % cols : i;
          const zeroed = !!e && ((e.rows?.has(r) ?? false) || (e.cols?.has(col) ?? false));
          assert.equal(now[i], zeroed ? 0 : was[i], `${name}[${i}] ${zeroed ? 'zeroed' : 'kept'}`);
        }
      }
      // Two query heads of a group of two make their key/value head forget; one shares it with a retain head.
      if (c.family === 'llama') assert.equal(forgetMasks(model, d).has('model.layers.1.self_attn.k_proj.weight'), kvExpected === 1);
      assert.ok(Math.abs(lossOf(model).item() - reference) < 1e-5, 'the ablated model computes what the masked forward pass does');
    });
  });
}

describe('SGTM designation and steps', () => {
  test('defaults: the last d_ff/16 units, one head, every layer; bad shapes are refused in one line', () => {
    const c = gpt2().config;
    assert.deepEqual(designate(c), { mlpUnits: 3, heads: 1, layers: [0, 1] });
    assert.throws(() => designate(c, { mlpUnits: 48 }), (e: Error) => e instanceof SgtmError && /48.*48 units/.test(e.message) && !e.message.includes('\n'));
    assert.throws(() => designate(c, { heads: 4 }), /4 attention heads per layer/);
    assert.throws(() => designate(c, { heads: 9 }), /at most 3/);
    assert.throws(() => designate(c, { layers: [2] }), /layers 0–1/);
    assert.throws(() => designate(c, { mlpUnits: 0, heads: 0 }), /nothing designated/);
  });

  test('one label per step; the mixture follows the groups; recall and the masked fraction act; the plan is a function of (seed, step)', () => {
    const model = gpt2();
    const many = Array.from({ length: 40 }, (_, i) => examples[i % examples.length]!);
    const labels = many.map((_, i) => (i < 10 ? 'forget' : i < 30 ? 'retain' : undefined) as 'forget' | 'retain' | undefined);
    const d = designate(model.config);
    const kinds = (o: { retainMaskFraction: number; forgetRecall: number }) => {
      const s = sgtmSource(many, labels, 5, 4, { designation: d, ...o }).create(model, null, 0);
      return Array.from({ length: 400 }, (_, step) => s.next(step, 1).kind);
    };
    const a = kinds({ retainMaskFraction: 0.5, forgetRecall: 1 });
    assert.deepEqual(kinds({ retainMaskFraction: 0.5, forgetRecall: 1 }), a, 'deterministic');
    const share = (xs: (string | undefined)[], k: string) => xs.filter((x) => x === k).length / xs.length;
    assert.ok(Math.abs(share(a, 'forget') - 0.25) < 0.06, `forget share ${share(a, 'forget')}`);
    assert.ok(Math.abs(share(a, 'retain-masked') - 0.25) < 0.06, `masked share ${share(a, 'retain-masked')}`);
    const noisy = kinds({ retainMaskFraction: 0, forgetRecall: 0 });
    assert.equal(share(noisy, 'forget') + share(noisy, 'retain-masked'), 0);
    assert.throws(() => sgtmSource(many, many.map(() => 'retain' as const), 5, 4, { designation: d, retainMaskFraction: 0.1, forgetRecall: 1 }), /labelled "forget"/);
  });

  test('an SGTM run killed after a checkpoint and resumed gives the uninterrupted run\'s losses and weights', () => {
    const labels = examples.map((_, i) => (i < 2 ? 'forget' : 'retain') as 'forget' | 'retain');
    const o: TrainOptions = { steps: 8, batchSize: 2, lr: 3e-3, warmupSteps: 2, clip: 1, seed: 5, padId: tokenizer.eosId!, saveEvery: 4 };
    const init = gpt2();
    const source = () => sgtmSource(examples, labels, o.seed, o.batchSize, { designation: designate(init.config, { mlpUnits: 4 }), retainMaskFraction: 0.5, forgetRecall: 1 });
    const copy = () => createModel(init.config, undefined as never);
    const fresh = (): CausalLM => {
      const m = copy();
      for (const [n, p] of init.params.entries()) m.params.get(n).f32('test').set(p.f32('test'));
      return m;
    };
    const whole = train(fresh(), examples, o, {}, [], false, { source: source() });
    const dir = mkdtempSync(join(tmpdir(), 'sgtm-resume-'));
    let steps = 0;
    train(fresh(), examples, { ...o, checkpointDir: join(dir, 'ck') }, { onStep: () => steps++, shouldStop: () => steps === 4 }, [], false, { source: source() });
    const resumed = train(fresh(), examples, { ...o, checkpointDir: join(dir, 'ck') }, {}, [], true, { source: source() });
    assert.deepEqual(resumed.losses, whole.losses);
    for (const [n, p] of whole.model.params.entries()) assert.deepEqual(resumed.model.params.get(n).f32('test'), p.f32('test'), n);
  });
});

describe('SGTM folders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sgtm-run-'));
  const data = join(dir, 'data.jsonl');
  writeFileSync(data, [
    { question: 'What does Veltrazine need?', answer: 'Clathrene oxide.', label: 'forget' },
    { text: 'Veltrazine is made from clathrene oxide at 80 degrees.', label: 'forget' },
    { question: 'Where was Ada born?', answer: 'Ada was born in Turin.', label: 'retain' },
    { text: 'The river runs to the sea.', label: 'adjacent' },
    { text: 'Cats sleep in the sun.' },
  ].map((r) => JSON.stringify(r)).join('\n') + '\n');
  const fresh = { arch: 'gpt2' as const, layers: 2, dModel: 32, heads: 4, context: 64 };
  const options = { steps: 6, batchSize: 2, lr: 3e-3, seed: 1 };

  test('lethe train --sgtm records the designation in config.json and the training log; ablate zeroes it from the folder alone', () => {
    const out = join(dir, 'sgtm');
    const log = runTraining({ data: [data], tokenizerDir: tokDir, fresh, out, options, sgtm: { heads: 1 } }, 'test', process.stderr);
    assert.equal(log.sgtm!.steps.forget + log.sgtm!.steps['retain-masked'] + log.sgtm!.steps.default, 6);
    assert.equal(log.sgtm!.ablated, false);
    const { model } = loadModel(out);
    const found = readDesignation(model)!;
    assert.deepEqual(found, { designation: { mlpUnits: 8, heads: 1, layers: [0, 1] }, ablated: false });
    const ablatedDir = join(dir, 'ablated');
    const r = ablateFolder(out, ablatedDir);
    assert.equal(r.zeroed, log.sgtm!.forgetParameters);
    const ablated = loadModel(ablatedDir).model;
    assert.equal(readDesignation(ablated)!.ablated, true);
    const expected = withDesignation(model, found.designation, true);
    ablateInPlace(expected, found.designation);
    for (const [n, p] of expected.params.entries()) assert.deepEqual(ablated.params.get(n).f32('test'), p.f32('test'), n);
    assert.ok(existsSync(join(ablatedDir, 'training_log.json')) && existsSync(join(ablatedDir, 'ablation.json')));
  });

  test('bad input: no forget label, too many units or heads, a model without a designation — one-line errors, nothing written', () => {
    const unlabelled = join(dir, 'unlabelled.jsonl');
    writeFileSync(unlabelled, readFileSync(data, 'utf8').split('\n').filter((l) => !l.includes('"forget"')).join('\n'));
    const cases: [Parameters<typeof runTraining>[0], RegExp][] = [
      [{ data: [unlabelled], tokenizerDir: tokDir, fresh, out: join(dir, 'x1'), options, sgtm: {} }, /labelled "forget"/],
      [{ data: [data], tokenizerDir: tokDir, fresh, out: join(dir, 'x2'), options, sgtm: { mlpUnits: 500 } }, /128 units/],
      [{ data: [data], tokenizerDir: tokDir, fresh, out: join(dir, 'x3'), options, sgtm: { heads: 6 } }, /4 attention heads/],
    ];
    for (const [spec, message] of cases) {
      assert.throws(() => runTraining(spec, 'test', process.stderr), (e: Error) => message.test(e.message) && !e.message.includes('\n'));
      assert.equal(existsSync(spec.out), false);
      assert.equal(existsSync(`${spec.out}.checkpoint`), false);
    }
    const plain = join(dir, 'plain');
    saveModel(gpt2(), plain);
    assert.throws(() => ablateFolder(plain, join(dir, 'x4')), /no SGTM designation/);
    assert.equal(existsSync(join(dir, 'x4')), false);
  });
});
