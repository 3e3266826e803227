// Fresh Llama models (`runTraining`'s fresh spec, which `lethe train --arch llama --kv-heads N` fills): the config.json
// transformers' LlamaForCausalLM reads, grouped-query attention, tied or untied embeddings, and shape errors named by
// their flags.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadModel } from '../../src/model/checkpoint.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { freshConfig, runTraining } from '../../src/train/run.ts';
import { QUIET, TOKENIZER as GPT2_TOKENIZER, workDir } from '../train/fixtures.ts';

const root = new URL('../../', import.meta.url).pathname;
const TOKENIZER = join(root, 'models/llama/tokenizer');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const options = { steps: 2, batchSize: 2, gradAccum: 1, lr: 1e-2, warmupSteps: 1, weightDecay: 0, clip: 1, seed: 1, evalEvery: 200, saveEvery: 200 };

test('a fresh llama: LlamaForCausalLM config.json with GQA, RoPE, RMSNorm, tied embeddings, the tokenizer\'s BOS/EOS', () => {
  const { dir, data } = workDir();
  dirs.push(dir);
  const out = join(dir, 'out');
  const log = runTraining({ data: [data], tokenizerDir: TOKENIZER, fresh: { arch: 'llama', layers: 1, dModel: 32, heads: 4, kvHeads: 2, intermediateSize: 48, context: 64 }, out, options }, 'train', QUIET);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(config['architectures'], ['LlamaForCausalLM']);
  const tok = Tokenizer.fromDir(TOKENIZER);
  assert.deepEqual(
    Object.fromEntries(['model_type', 'vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim',
      'max_position_embeddings', 'hidden_act', 'rms_norm_eps', 'rope_theta', 'tie_word_embeddings', 'bos_token_id', 'eos_token_id', 'torch_dtype'].map((k) => [k, config[k]])),
    { model_type: 'llama', vocab_size: 2048, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8,
      max_position_embeddings: 64, hidden_act: 'silu', rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true, bos_token_id: tok.bosId, eos_token_id: tok.eosId, torch_dtype: 'float32' },
  );
  const { model } = loadModel(out);
  assert.equal(model.config.numKvHeads, 2);
  assert.ok(!model.params.has('lm_head.weight'));
  assert.equal(log.parameters, model.params.count());
  assert.equal(log.spec.fresh?.arch, 'llama');
  assert.ok(log.losses.every(Number.isFinite) && log.losses.length === 2);
});

test('--kv-heads 1 and untied embeddings: multi-query attention and a separate head; the MLP width defaults to Llama\'s', () => {
  const { dir, data } = workDir();
  dirs.push(dir);
  const out = join(dir, 'out');
  runTraining({ data: [data], tokenizerDir: TOKENIZER, fresh: { arch: 'llama', layers: 1, dModel: 16, heads: 2, kvHeads: 1, context: 32, tieEmbeddings: false }, out, options: { ...options, steps: 1 } }, 'train', QUIET);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual([config['model_type'], config['num_key_value_heads'], config['tie_word_embeddings'], config['intermediate_size']], ['llama', 1, false, 256]);
  assert.ok(loadModel(out).model.params.has('lm_head.weight'));
  assert.ok(existsSync(join(out, 'tokenizer.json')));
});

test('shape errors name the flag, before anything is trained', () => {
  const tok = { vocabSize: 300, bosId: 1, eosId: 2 };
  const shape = { layers: 1, dModel: 32, heads: 4, context: 16 };
  assert.throws(() => freshConfig({ ...shape, arch: 'llama', kvHeads: 3 }, tok), /--kv-heads 3 must divide --heads 4/);
  assert.throws(() => freshConfig({ ...shape, arch: 'gpt2', kvHeads: 2 }, tok), /--kv-heads 2: GPT-2 has one key\/value head per attention head; grouped-query attention needs --arch llama/);
  assert.throws(() => freshConfig({ ...shape, dModel: 30 }, tok), /--d-model 30 is not divisible by --heads 4/);
  assert.throws(() => freshConfig({ ...shape, arch: 'llama', dModel: 12 }, tok), /head size 3 \(--d-model \/ --heads\) must be even/);
  assert.throws(() => freshConfig({ ...shape, arch: 'bert' as 'gpt2' }, tok), /--arch bert: not one of gpt2, llama/);
  // GPT-2 stays as it was: no n_inner unless asked, tied.
  const gpt2 = freshConfig(shape, tok);
  assert.deepEqual([gpt2['model_type'], gpt2['n_inner'], gpt2['tie_word_embeddings']], ['gpt2', undefined, true]);
  assert.ok(existsSync(GPT2_TOKENIZER));
});
