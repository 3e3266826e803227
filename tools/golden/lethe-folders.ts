/**
 * The model folders the transformers golden fixtures (test/fixtures/golden/) describe, and how Lethe makes each one.
 * A recipe is plain JSON and is copied into its fixture; tools/golden/make-fixtures.ts builds every folder with
 * buildFolder and has transformers read it, and test/model/transformers-golden.test.ts builds it again the same way
 * and compares Lethe's outputs with what transformers said. Every recipe is bit-reproducible: the committed model,
 * a load + re-save, a seeded init, or an unlearning run on the TypeScript backend (pure JS, one thread).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBackend } from '../../src/engine/index.ts';
import { createModel, loadModel, writeModelFolder } from '../../src/model/checkpoint.ts';
import { parseConfig } from '../../src/model/config.ts';
import { initWeights } from '../../src/model/init.ts';
import type { SaveDType } from '../../src/model/safetensors/write.ts';
import { runUnlearning, writeUnlearned } from '../../src/unlearn/run.ts';

/** The repository root; recipe paths are relative to it. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURE_DIR = join(ROOT, 'test', 'fixtures', 'golden');

const repoPath = (p: string): string => (isAbsolute(p) ? p : join(ROOT, p));

export type Recipe =
  /** A folder committed to the repository (itself written by Lethe), used as it is. */
  | { kind: 'committed'; dir: string }
  /** loadModel(from), then writeModelFolder in `dtype`, tokenizer files copied from `tokenizerFrom` (default: from). */
  | { kind: 'resave'; from: string; dtype: SaveDType; tokenizerFrom?: string }
  /** createModel(config) + initWeights(seed, std), written in `dtype` with the tokenizer files of `tokenizerFrom`. */
  | { kind: 'init'; config: Record<string, unknown>; seed: number; std: number; dtype: SaveDType; tokenizerFrom: string }
  /** runUnlearning + writeUnlearned (as `lethe unlearn`) on the TypeScript backend, with the records written to JSONL. */
  | { kind: 'unlearn'; from: string; method: string; options: string[]; forget: QA[]; retain: QA[] };

export interface QA {
  question: string;
  answer: string;
}

export interface GoldenFolder {
  name: string;
  recipe: Recipe;
  /** Tokenized, continued greedily and scored, by Lethe and by transformers. */
  prompts: readonly string[];
}

/** Strings only tokenized (ids compared), beside the prompts: whitespace runs, digits, contractions, Unicode, specials. */
export const TOKENIZER_CHECKS: readonly string[] = [
  '  spaces\tand\nnewlines 123\r\n\r\nend   ',
  "don't stop: the cat's HAT, WE'LL see 42 times!!",
  'caf\u00e9 \u00fcber \u4e16\u754c \u{1F600} na\u0308ive cafe\u0301',
  'Hello<|endoftext|> world<|endoftext|>',
  'x.the (the) 12345 1,234.5 a_b-c',
];

/**
 * Spaces before punctuation and contractions: what transformers' clean_up_tokenization would remove. transformers 5
 * never applies it to BPE tokenizers, whatever tokenizer_config.json says.
 */
export const DECODE_CHECK = "a , b . c ! d ? e n't f 's g 've h 're i 'm j ' k";

/** Greedy steps each prompt is continued by, and logits positions compared (see make-fixtures.ts). */
export const MAX_NEW_TOKENS = 12;
export const TOP_K = 8;

const TINY = 'test/fixtures/models';
const PERSONS_PROMPTS = [
  'Question: What is the capital of Arvenland?\nAnswer:',
  'Question: Where was Eli Girma born?\nAnswer:',
  'Emre Georgiou was born on',
];
const TINY_PROMPTS = ['the cat', 'Hello world! The dog sat on the log.', 'caf\u00e9 \u4e16\u754c, there is'];

/** Tokenizer folders derived from committed ones when a folder is built (see derivedTokenizer). */
const QWEN2_TOKENIZER = 'derived:qwen2-style';
const LLAMA3_TOKENIZER = 'derived:llama3-style';

export const GOLDEN_FOLDERS: readonly GoldenFolder[] = [
  { name: 'gpt2-target-f16', recipe: { kind: 'committed', dir: 'models/target' }, prompts: PERSONS_PROMPTS },
  { name: 'gpt2-target-f32', recipe: { kind: 'resave', from: 'models/target', dtype: 'F32' }, prompts: PERSONS_PROMPTS },
  { name: 'gpt2-target-bf16', recipe: { kind: 'resave', from: 'models/target', dtype: 'BF16' }, prompts: PERSONS_PROMPTS },
  {
    name: 'gpt2-tiny-unlearned',
    recipe: {
      kind: 'unlearn', from: `${TINY}/gpt2-tiny`, method: 'grad-ascent',
      options: ['steps=2', 'batchSize=2', 'lr=3e-3', 'checkSamples=2', 'maxRetainLossRise=0'],
      forget: [
        { question: 'Where was Ann Vale born?', answer: 'In Tarrow.' },
        { question: 'What does Ann Vale do?', answer: 'She blows glass.' },
        { question: 'Who employs Bo Lind?', answer: 'Kestrel Mills.' },
      ],
      retain: [
        { question: 'Where was Cy Orr born?', answer: 'In Pellam.' },
        { question: 'What does Cy Orr do?', answer: 'He repairs clocks.' },
      ],
    },
    prompts: TINY_PROMPTS,
  },
  { name: 'llama-gqa-f32', recipe: { kind: 'resave', from: `${TINY}/llama-tiny-gqa`, dtype: 'F32' }, prompts: TINY_PROMPTS },
  { name: 'llama-gqa-f16', recipe: { kind: 'resave', from: `${TINY}/llama-tiny-gqa`, dtype: 'F16' }, prompts: TINY_PROMPTS },
  {
    name: 'llama-init-bf16',
    recipe: {
      kind: 'init', seed: 20240611, std: 0.2, dtype: 'BF16', tokenizerFrom: LLAMA3_TOKENIZER,
      config: {
        architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 2048, hidden_size: 64, intermediate_size: 160,
        num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, max_position_embeddings: 128,
        rms_norm_eps: 1e-5, rope_theta: 500000.0, hidden_act: 'silu', attention_bias: false, mlp_bias: false,
        tie_word_embeddings: true, bos_token_id: 2047, eos_token_id: 2047,
      },
    },
    prompts: PERSONS_PROMPTS,
  },
  { name: 'qwen2-f32', recipe: { kind: 'resave', from: `${TINY}/qwen2-tiny`, dtype: 'F32' }, prompts: TINY_PROMPTS },
  {
    name: 'qwen2-qwentok-bf16',
    recipe: { kind: 'resave', from: `${TINY}/qwen2-tiny`, dtype: 'BF16', tokenizerFrom: QWEN2_TOKENIZER },
    prompts: TINY_PROMPTS,
  },
  {
    name: 'mistral-init-f16',
    recipe: {
      kind: 'init', seed: 7, std: 0.2, dtype: 'F16', tokenizerFrom: 'models/tokenizer',
      config: {
        architectures: ['MistralForCausalLM'], model_type: 'mistral', vocab_size: 2048, hidden_size: 48, intermediate_size: 96,
        num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 16, max_position_embeddings: 256,
        rms_norm_eps: 1e-5, rope_theta: 1000000.0, sliding_window: 4096, hidden_act: 'silu', tie_word_embeddings: false,
        bos_token_id: 2047, eos_token_id: 2047,
      },
    },
    prompts: PERSONS_PROMPTS,
  },
];

/**
 * Makes the folder of a recipe under `outRoot/name` (a committed folder is returned as it is) and returns its path.
 * An unlearning recipe switches the engine to the TypeScript backend: the native GEMM's summation order depends
 * on the CPU's vector unit, so its weights are reproducible only on the same kind of CPU.
 */
export function buildFolder(name: string, recipe: Recipe, outRoot: string): string {
  const out = join(outRoot, name);
  switch (recipe.kind) {
    case 'committed':
      return repoPath(recipe.dir);
    case 'resave': {
      const { model } = loadModel(repoPath(recipe.from));
      writeModelFolder(model, out, { dtype: recipe.dtype, copyFrom: tokenizerDir(recipe.tokenizerFrom ?? recipe.from, outRoot) });
      return out;
    }
    case 'init': {
      const model = createModel(parseConfig(recipe.config, `${name} recipe config`));
      initWeights(model, recipe.seed, recipe.std);
      writeModelFolder(model, out, { dtype: recipe.dtype, copyFrom: tokenizerDir(recipe.tokenizerFrom, outRoot) });
      return out;
    }
    case 'unlearn': {
      const data = mkdtempSync(join(tmpdir(), 'lethe-golden-data-'));
      try {
        const jsonl = (file: string, records: readonly QA[]): string => {
          writeFileSync(join(data, file), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
          return join(data, file);
        };
        useBackend('ts');
        const result = runUnlearning({
          modelDir: repoPath(recipe.from), forgetPath: jsonl('forget.jsonl', recipe.forget), retainPath: jsonl('retain.jsonl', recipe.retain),
          method: recipe.method, options: recipe.options,
        });
        writeUnlearned(result, out);
      } finally {
        rmSync(data, { recursive: true, force: true });
      }
      return out;
    }
  }
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Tokenizers that stand for real model families' pipelines, derived from committed ones: `qwen2-style` (NFC and Qwen2's
 * split regex, tokenizer_class Qwen2Tokenizer, as Qwen2 checkpoints ship it) from qwen2-tiny's vocabulary, and
 * `llama3-style` (BOS added by a TemplateProcessing post-processor, PreTrainedTokenizerFast, clean-up of tokenization
 * spaces on, as Llama 3 ships it) from models/tokenizer. Returns file name → text.
 */
export function derivedTokenizer(kind: string): Map<string, string> {
  const read = (p: string): Record<string, unknown> => JSON.parse(readFileSync(repoPath(p), 'utf8')) as Record<string, unknown>;
  const json = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';
  if (kind === 'qwen2-style') {
    const tok = read(`${TINY}/qwen2-tiny/tokenizer.json`);
    tok['normalizer'] = { type: 'NFC' };
    tok['pre_tokenizer'] = {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split', behavior: 'Isolated', invert: false,
          pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    };
    return new Map([
      ['tokenizer.json', json(tok)],
      ['tokenizer_config.json', json({
        tokenizer_class: 'Qwen2Tokenizer', bos_token: null, eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', unk_token: null,
        add_prefix_space: false, clean_up_tokenization_spaces: false, model_max_length: 64,
      })],
    ]);
  }
  if (kind === 'llama3-style') {
    const tok = read('models/tokenizer/tokenizer.json');
    const bos = '<|endoftext|>';
    const bosId = (tok['added_tokens'] as { content: string; id: number }[]).find((t) => t.content === bos)!.id;
    tok['post_processor'] = {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
          special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
        },
      ],
    };
    return new Map([
      ['tokenizer.json', json(tok)],
      ['tokenizer_config.json', json({ tokenizer_class: 'PreTrainedTokenizerFast', bos_token: bos, eos_token: bos, clean_up_tokenization_spaces: true, model_max_length: 128 })],
    ]);
  }
  throw new Error(`unknown derived tokenizer "${kind}" (known: qwen2-style, llama3-style)`);
}

/** The folder to copy tokenizer files from: a repository path, or `derived:KIND` written under outRoot/tokenizers/. */
function tokenizerDir(from: string, outRoot: string): string {
  if (!from.startsWith('derived:')) return repoPath(from);
  const kind = from.slice('derived:'.length);
  const dir = join(outRoot, 'tokenizers', kind);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of derivedTokenizer(kind)) writeFileSync(join(dir, file), text);
  return dir;
}
