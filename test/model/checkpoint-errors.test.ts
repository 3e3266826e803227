// Broken model folders and configs are rejected with a message that names the file and the problem.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Tensor } from '../../src/engine/index.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { parseConfig } from '../../src/model/config.ts';
import { loadSafetensors, saveSafetensors } from '../../src/model/safetensors/index.ts';

const GPT2 = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;

function copyModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-broken-'));
  cpSync(GPT2, dir, { recursive: true });
  return dir;
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const path = join(dir, 'config.json');
  const c = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(c);
  writeFileSync(path, JSON.stringify(c));
}

describe('config.json validation', () => {
  const llama = { architectures: ['LlamaForCausalLM'], vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2 };
  test('unknown architectures are rejected by name', () => {
    assert.throws(() => parseConfig({ architectures: ['BertForMaskedLM'] }), /architecture "BertForMaskedLM" is not supported \(supported: GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM\)/);
    assert.throws(() => parseConfig({ vocab_size: 3 }), /"architectures" must list the model class/);
  });
  test('missing and invalid fields are named', () => {
    assert.throws(() => parseConfig({ architectures: ['GPT2LMHeadModel'], vocab_size: 10, n_embd: 8, n_layer: 1, n_head: 2 }), /"n_positions"/);
    assert.throws(() => parseConfig({ ...llama, num_attention_heads: -2 }), /"num_attention_heads"/);
    assert.throws(() => parseConfig({ ...llama, num_key_value_heads: 3 }), /num_attention_heads 2 is not a multiple of num_key_value_heads 3/);
    assert.throws(() => parseConfig({ ...llama, hidden_act: 'gelu' }), /hidden_act "gelu" is not supported/);
    assert.throws(() => parseConfig({ ...llama, rope_scaling: { rope_type: 'yarn', factor: 2 } }), /rope_scaling type "yarn" is not supported/);
  });
  test('defaults follow transformers', () => {
    const c = parseConfig(llama);
    assert.equal(c.numKvHeads, 2);
    assert.equal(c.headDim, 4);
    assert.equal(c.tieWordEmbeddings, false);
    assert.equal(c.ropeTheta, 10000);
    assert.equal(parseConfig({ ...llama, architectures: ['Qwen2ForCausalLM'] }).qkvBias, true);
    assert.equal(parseConfig({ ...llama, architectures: ['Qwen2ForCausalLM'], sliding_window: 4, use_sliding_window: false }).slidingWindow, null);
    assert.equal(parseConfig({ ...llama, architectures: ['MistralForCausalLM'], sliding_window: 4096 }).slidingWindow, 4096);
  });
});

describe('broken model folders', () => {
  test('missing folder, config or weights', () => {
    assert.throws(() => loadModel('/no/such/folder'), /\/no\/such\/folder: model folder does not exist/);
    const dir = copyModel();
    rmSync(join(dir, 'model.safetensors'));
    assert.throws(() => loadModel(dir), /no model.safetensors or model.safetensors.index.json in this folder/);
    rmSync(join(dir, 'config.json'));
    assert.throws(() => loadModel(dir), /no config.json in this folder/);
  });

  test('config.json that is not JSON', () => {
    const dir = copyModel();
    writeFileSync(join(dir, 'config.json'), '{"architectures": [');
    assert.throws(() => loadModel(dir), /config.json: not valid JSON/);
  });

  test('weights that do not match the config', () => {
    const dir = copyModel();
    editConfig(dir, (c) => { c['n_layer'] = 3; });
    assert.throws(() => loadModel(dir), /weights missing for GPT2LMHeadModel: transformer.h.2.ln_1.weight/);
    const dir2 = copyModel();
    editConfig(dir2, (c) => { c['n_positions'] = 32; });
    assert.throws(() => loadModel(dir2), /tensor "transformer.wpe.weight" has shape \[64, 32\], config.json implies \[32, 32\]/);
  });

  test('unexpected extra weights are named', () => {
    const dir = copyModel();
    const tensors = loadSafetensors(join(dir, 'model.safetensors'));
    tensors.set('transformer.h.0.extra.weight', new Tensor(new Float32Array(4), [4]));
    saveSafetensors(join(dir, 'model.safetensors'), tensors);
    assert.throws(() => loadModel(dir), /unexpected weights for GPT2LMHeadModel: transformer.h.0.extra.weight/);
  });
});
