// Tiny GPT-2, Llama (GQA + Llama-3 RoPE scaling) and Qwen2 (qkv biases, tied) checkpoints written by
// tools/golden/models.py with a PyTorch reference implementation: logits, loss, every parameter's gradient,
// hidden states, KV-cached decoding and greedy generation must match, on each backend.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { backward, crossEntropy, noGrad, slice, Tensor } from '../../src/engine/index.ts';
import { loadModel, saveModel } from '../../src/model/checkpoint.ts';
import { ropeFrequencies } from '../../src/model/config.ts';
import { generate } from '../../src/model/generate.ts';
import { KVCache } from '../../src/model/kv-cache.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { assertClose } from '../helpers/compare.ts';

interface Reference {
  ids: number[][];
  logits: number[];
  loss: number;
  grads: Record<string, number[]>;
  hidden_after_layer_0: number[];
  kv_check: { prefix_len: number; last_logits: number[] };
  prompt: string;
  prompt_ids: number[];
  greedy: number[];
  greedy_text: string;
  tokenizer_checks: { text: string; ids: number[] }[];
  inv_freq?: number[];
}

const MODELS = ['gpt2-tiny', 'llama-tiny-gqa', 'qwen2-tiny'];
const dirOf = (name: string): string => new URL(`../fixtures/models/${name}`, import.meta.url).pathname;
const refOf = (name: string): Reference => JSON.parse(readFileSync(join(dirOf(name), 'reference.json'), 'utf8')) as Reference;
const idsTensor = (ids: number[][]): Tensor => new Tensor(Int32Array.from(ids.flat()), [ids.length, ids[0]!.length]);

/** HF causal-LM loss: position t predicts token t+1; the last position has no target. */
function shiftedTargets(ids: number[][]): Tensor {
  const T = ids[0]!.length;
  return new Tensor(Int32Array.from(ids.flatMap((row) => row.map((_, t) => (t + 1 < T ? row[t + 1]! : -100)))), [ids.length, T]);
}

for (const backendName of backendsUnderTest()) {
  for (const name of MODELS) {
    describe(`${name} [${backendName}]`, () => {
      const ref = refOf(name);

      test('logits, loss and every gradient match the PyTorch reference', () => withBackend(backendName, () => {
        const { model } = loadModel(dirOf(name));
        const { logits, hidden } = model.forward(idsTensor(ref.ids), { keepHidden: [0] });
        assertClose(logits!.data, ref.logits, 1e-4, 'logits');
        assertClose(hidden.get(0)!.data, ref.hidden_after_layer_0, 1e-4, 'hidden after layer 0');
        const loss = crossEntropy(logits!, shiftedTargets(ref.ids));
        assert.ok(Math.abs(loss.item() - ref.loss) <= 1e-4 * ref.loss, `loss ${loss.item()} vs ${ref.loss}`);
        backward(loss);
        assert.deepEqual(Object.keys(ref.grads).sort(), model.params.list().map((p) => p.name!).sort());
        for (const [param, g] of Object.entries(ref.grads)) assertClose(model.params.get(param).grad!.data, g, 1e-4, `grad ${param}`);
      }));

      test('KV-cached decoding gives the full-forward logits', () => withBackend(backendName, () => {
        const { model } = loadModel(dirOf(name));
        const ids = idsTensor(ref.ids);
        const T = ids.shape[1]!;
        const V = model.config.vocabSize;
        noGrad(() => {
          const cache = new KVCache(model.config.numLayers);
          model.forward(slice(ids, 1, 0, ref.kv_check.prefix_len), { cache });
          let last: Tensor | null = null;
          for (let t = ref.kv_check.prefix_len; t < T; t++) last = model.forward(slice(ids, 1, t, t + 1), { cache }).logits;
          assertClose(last!.data, ref.kv_check.last_logits, 1e-4, 'last logits');
          assert.equal(cache.length, T);
          assert.equal(last!.size, 2 * V);
        });
      }));

      test('greedy generation is token-for-token the reference', () => withBackend(backendName, () => {
        const dir = dirOf(name);
        const { model } = loadModel(dir);
        const tokenizer = Tokenizer.fromDir(dir);
        assert.deepEqual(tokenizer.encode(ref.prompt), ref.prompt_ids);
        for (const c of ref.tokenizer_checks) assert.deepEqual(tokenizer.encode(c.text), c.ids, `tokenizer on ${JSON.stringify(c.text)}`);
        const [g] = generate(model, [ref.prompt_ids], { maxNewTokens: ref.greedy.length, eosTokenIds: [], tokenizer });
        assert.deepEqual(g!.tokens, ref.greedy);
        assert.equal(g!.text, ref.greedy_text);
      }));

      test('a left-padded batch decodes each row as it would alone', () => withBackend(backendName, () => {
        const { model } = loadModel(dirOf(name));
        const prompts = [ref.prompt_ids, ref.ids[0]!.slice(0, 7), [ref.ids[1]![3]!]];
        const alone = prompts.map((p) => generate(model, [p], { maxNewTokens: 6, eosTokenIds: [] })[0]!.tokens);
        const batched = generate(model, prompts, { maxNewTokens: 6, eosTokenIds: [] }).map((g) => g.tokens);
        assert.deepEqual(batched, alone);
      }));
    });
  }
}

describe('checkpoint round trip', () => {
  for (const name of MODELS) {
    test(`${name}: save → load is bit-exact, and F16/BF16 saves load back rounded`, () => {
      const { model } = loadModel(dirOf(name));
      const out = mkdtempSync(join(tmpdir(), 'lethe-model-'));
      saveModel(model, out, { copyFrom: dirOf(name) });
      const back = loadModel(out);
      assert.deepEqual(back.model.config.raw, { ...model.config.raw, torch_dtype: 'float32' });
      assert.ok(Buffer.from(back.model.params.flat.buffer).equals(Buffer.from(model.params.flat.buffer)), 'weights differ');
      assert.deepEqual(Tokenizer.fromDir(out).encode('the cat'), Tokenizer.fromDir(dirOf(name)).encode('the cat'));
      const half = mkdtempSync(join(tmpdir(), 'lethe-model-'));
      saveModel(model, half, { dtype: 'BF16' });
      const h = loadModel(half);
      assert.equal(h.storedDType, 'BF16');
      assert.equal(h.model.config.raw['torch_dtype'], 'bfloat16');
      assertClose(h.model.params.flat, model.params.flat, 1e-2, 'bf16 weights');
    });
  }

  test('sharded save loads back identically', () => {
    const { model } = loadModel(dirOf('llama-tiny-gqa'));
    const out = mkdtempSync(join(tmpdir(), 'lethe-model-'));
    saveModel(model, out, { maxShardBytes: 40_000 });
    const back = loadModel(out);
    assert.ok(Buffer.from(back.model.params.flat.buffer).equals(Buffer.from(model.params.flat.buffer)));
  });

  test('Llama-3 RoPE scaling frequencies match transformers', () => {
    const { model } = loadModel(dirOf('llama-tiny-gqa'));
    assertClose(ropeFrequencies(model.config), refOf('llama-tiny-gqa').inv_freq!, 1e-6, 'inv_freq');
  });
});
