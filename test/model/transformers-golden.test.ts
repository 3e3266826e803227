// Folders Lethe writes, read back by Lethe, against what Hugging Face transformers made of the same bytes
// (test/fixtures/golden/*.json, written by tools/golden/make-fixtures.ts; docs/golden.md). For every fixture Lethe
// rebuilds the folder from the fixture's recipe and must write a byte-identical model.safetensors; then its
// tokenizer ids and decoding, the weights it loads, its greedy continuations and its logits must be transformers'.
// No Python here: the fixtures are committed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { noGrad, Tensor, type BackendName } from '../../src/engine/index.ts';
import { loadModel, type LoadedModel } from '../../src/model/checkpoint.ts';
import { ropeFrequencies } from '../../src/model/config.ts';
import { generate } from '../../src/model/generate.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { buildFolder, DECODE_CHECK, FIXTURE_DIR, GOLDEN_FOLDERS, MAX_NEW_TOKENS, sha256File, TOKENIZER_CHECKS, TOP_K, type Recipe } from '../../tools/golden/lethe-folders.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';

interface Tokenized {
  text: string;
  ids: number[];
  decoded: string;
  /** Present where transformers replaces the file's pipeline and gets other ids: what tokenizer.json itself gives. */
  file_pipeline_ids?: number[];
}

interface ScoredPosition {
  position: number;
  top_ids: number[];
  top_logits: number[];
  logsumexp: number;
}

interface Fixture {
  folder: string;
  recipe: Recipe;
  model_safetensors_sha256: string;
  tokenizer_json_sha256: string;
  stored_dtypes: string[];
  generator: Record<string, string>;
  load: {
    model_class: string;
    compute_dtype: string;
    auto_dtype: string;
    tied_embeddings: boolean;
    weights_f32_sha256: string;
    tokenizer_pipeline_differs_from_file: string[];
    rope_inv_freq?: number[];
    rope_attention_scaling?: number;
    head_dim?: number;
  };
  tokenizer_checks: Tokenized[];
  decode_check: Tokenized & { config_clean_up_tokenization_spaces: boolean | null; tokenizer_model: string };
  prompts: (Tokenized & { greedy: number[]; greedy_min_margin: number; greedy_text: string; full_text: string; logits: ScoredPosition[] })[];
}

/**
 * Logit tolerance, relative to the largest |logit| of the position (at least 1): 1e-4 for every folder. transformers'
 * reference is loaded with dtype=float32, so F16/BF16 weights are upcast exactly (as Lethe's loadModel does) and both
 * sides compute in float32 from the same numbers; what remains is float32 summation order, ~1e-6 here.
 */
const LOGIT_TOL = 1e-4;

const fixtures: Fixture[] = readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.json')).sort()
  .map((f) => JSON.parse(readFileSync(join(FIXTURE_DIR, f), 'utf8')) as Fixture);

const root = mkdtempSync(join(tmpdir(), 'lethe-golden-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

const built = new Map<string, string>();
/** The fixture's folder as Lethe writes it now; a different model.safetensors fails here, before any comparison. */
function folderOf(fx: Fixture): string {
  let dir = built.get(fx.folder);
  if (!dir) {
    dir = buildFolder(fx.folder, fx.recipe, root);
    const sha = sha256File(join(dir, 'model.safetensors'));
    assert.equal(sha, fx.model_safetensors_sha256,
      `${fx.folder}: Lethe now writes a different model.safetensors than the one transformers read (sha256 ${sha}, fixture ${fx.model_safetensors_sha256}); `
      + 'if the change is intended, regenerate the fixtures (docs/golden.md)');
    assert.equal(sha256File(join(dir, 'tokenizer.json')), fx.tokenizer_json_sha256, `${fx.folder}: tokenizer.json differs from the one transformers read`);
    built.set(fx.folder, dir);
  }
  return dir;
}

const loaded = new Map<string, LoadedModel>();
function modelOf(fx: Fixture): LoadedModel {
  let m = loaded.get(fx.folder);
  if (!m) loaded.set(fx.folder, (m = loadModel(folderOf(fx))));
  return m;
}

/** sha256 over every weight as loaded, float32 little-endian, in sorted name order (as read_with_transformers.py). */
const digests = new WeakMap<LoadedModel, string>();
function weightsDigest(m: LoadedModel): string {
  const known = digests.get(m);
  if (known) return known;
  const h = createHash('sha256');
  for (const name of m.model.params.entries().map(([n]) => n).sort()) {
    const data = m.model.params.get(name).f32('weightsDigest');
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  const digest = h.digest('hex');
  digests.set(m, digest);
  return digest;
}

/** Float64 logsumexp of a row of float32 logits. */
function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  return max + Math.log(sum);
}

/**
 * Models above this many parameters (the 3.7 M GPT-2 target) run on one backend only, native where it is under
 * test: the TypeScript backend needs seconds per folder there, and both backends are checked against each other and
 * against PyTorch on the tiny fixtures (test/model/models.test.ts) and on the small folders here.
 */
const ONE_BACKEND_ABOVE = 1_000_000;
function backendsFor(fx: Fixture): BackendName[] {
  const all = backendsUnderTest();
  if (modelOf(fx).model.params.flat.length <= ONE_BACKEND_ABOVE) return all;
  return all.includes('native') ? ['native'] : all;
}

const outputs = new Map<string, { logits: Float32Array; greedy: number[] }>();
/**
 * Lethe's logits over prompt + continuation (one forward pass) and its greedy continuation (KV-cached generate),
 * memoised by the weights as loaded: the F32 re-save of the F16 target holds the very same float32 values.
 */
function letheOutputs(m: LoadedModel, backendName: BackendName, p: Fixture['prompts'][number]): { logits: Float32Array; greedy: number[] } {
  const key = `${weightsDigest(m)}|${backendName}|${p.ids.join(',')}`;
  let o = outputs.get(key);
  if (!o) {
    const full = [...p.ids, ...p.greedy.slice(0, -1)];
    const logits = noGrad(() => m.model.forward(new Tensor(Int32Array.from(full), [1, full.length])).logits!.f32('golden'));
    const [g] = generate(m.model, [p.ids], { maxNewTokens: p.greedy.length, eosTokenIds: [] });
    outputs.set(key, (o = { logits, greedy: g!.tokens }));
  }
  return o;
}

test('the committed fixtures are exactly the golden folders, with their recipes, prompts and checks', () => {
  assert.deepEqual(fixtures.map((f) => f.folder).sort(), GOLDEN_FOLDERS.map((f) => f.name).sort());
  for (const f of GOLDEN_FOLDERS) {
    const fx = fixtures.find((x) => x.folder === f.name)!;
    assert.deepEqual(fx.recipe, f.recipe, `${f.name}: recipe`);
    assert.deepEqual(fx.prompts.map((p) => p.text), f.prompts, `${f.name}: prompts`);
    assert.deepEqual(fx.tokenizer_checks.map((c) => c.text), TOKENIZER_CHECKS, `${f.name}: tokenizer checks`);
    assert.equal(fx.decode_check.text, DECODE_CHECK, `${f.name}: decode check`);
    assert.equal(fx.load.compute_dtype, 'float32', `${f.name}: the reference must be a float32 load`);
    for (const p of fx.prompts) {
      assert.equal(p.greedy.length, MAX_NEW_TOKENS);
      for (const s of p.logits) assert.equal(s.top_ids.length, TOP_K);
    }
  }
});

for (const fx of fixtures) {
  describe(`${fx.folder} (${fx.load.model_class}, ${fx.stored_dtypes.join('/')})`, () => {
    test('Lethe writes the folder transformers read: same model.safetensors SHA-256', () => {
      folderOf(fx);
    });

    test('tokenizer: token ids are transformers\'', () => {
      const tokenizer = Tokenizer.fromDir(folderOf(fx));
      for (const c of [...fx.tokenizer_checks, fx.decode_check, ...fx.prompts]) {
        const ids = tokenizer.encode(c.text);
        if (c.file_pipeline_ids) {
          // transformers 5 builds Qwen2Tokenizer for model_type "qwen2" and replaces the file's normalizer and
          // pre-tokenizer with Qwen2's (NFC + Qwen2's split regex); Lethe runs tokenizer.json as written. Pinned, so
          // a change on either side shows: see docs/golden.md.
          assert.ok(fx.load.tokenizer_pipeline_differs_from_file.length > 0);
          assert.deepEqual(ids, c.file_pipeline_ids, `${JSON.stringify(c.text)}: Lethe must run tokenizer.json as written`);
          assert.notDeepEqual(ids, c.ids, `${JSON.stringify(c.text)}: transformers now agrees with tokenizer.json; drop the pin`);
          continue;
        }
        assert.deepEqual(ids, c.ids, `${JSON.stringify(c.text)}: token ids`);
      }
    });

    test('tokenizer: transformers\' ids decode to transformers\' text', () => {
      const tokenizer = Tokenizer.fromDir(folderOf(fx));
      for (const c of [...fx.tokenizer_checks, ...fx.prompts]) assert.equal(tokenizer.decode(c.ids), c.decoded, `${JSON.stringify(c.text)}: decode`);
      for (const p of fx.prompts) {
        assert.equal(tokenizer.decode(p.greedy), p.greedy_text, `${JSON.stringify(p.text)}: decode of the continuation`);
        assert.equal(tokenizer.decode([...p.ids, ...p.greedy]), p.full_text, `${JSON.stringify(p.text)}: decode of prompt + continuation`);
      }
    });

    // transformers 5 never applies clean_up_tokenization to a BPE tokenizer (it warns and ignores
    // clean_up_tokenization_spaces=True); neither does Lethe's Tokenizer.decode (the JS library alone would).
    test('tokenizer: spaces before punctuation decode as in transformers (no clean-up for BPE)', {
    }, () => {
      const tokenizer = Tokenizer.fromDir(folderOf(fx));
      assert.equal(tokenizer.decode(fx.decode_check.ids), fx.decode_check.decoded);
    });

    test('weights as loaded: every value, tied head, head_dim and RoPE frequencies', () => {
      const m = modelOf(fx);
      assert.equal(weightsDigest(m), fx.load.weights_f32_sha256, 'the float32 weights Lethe holds differ from those transformers holds');
      assert.equal(m.model.config.tieWordEmbeddings, fx.load.tied_embeddings, 'tied embeddings');
      if (fx.load.rope_inv_freq) {
        assert.equal(m.model.config.headDim, fx.load.head_dim, 'head_dim');
        assert.equal(fx.load.rope_attention_scaling, 1, 'transformers scales cos/sin; Lethe does not');
        const inv = ropeFrequencies(m.model.config);
        fx.load.rope_inv_freq.forEach((f, i) => assert.ok(Math.abs(inv[i]! - f) <= 1e-6 * f, `inv_freq[${i}] ${inv[i]} vs transformers ${f}`));
      }
    });

    for (const backendName of backendsUnderTest()) {
      test(`[${backendName}] greedy continuations and logits are transformers'`, (t) => withBackend(backendName, () => {
        if (!backendsFor(fx).includes(backendName)) {
          t.skip(`over ${ONE_BACKEND_ABOVE} parameters: checked on the native backend only`);
          return;
        }
        const m = modelOf(fx);
        const V = m.model.config.vocabSize;
        let worst = 0;
        for (const p of fx.prompts) {
          const what = JSON.stringify(p.text);
          const { logits, greedy } = letheOutputs(m, backendName, p);
          for (const s of p.logits) {
            const row = logits.subarray(s.position * V, (s.position + 1) * V);
            const scale = Math.max(1, ...s.top_logits.map(Math.abs));
            s.top_ids.forEach((id, r) => {
              const err = Math.abs(row[id]! - s.top_logits[r]!) / scale;
              worst = Math.max(worst, err);
              assert.ok(err <= LOGIT_TOL, `${what} position ${s.position}: logit of token ${id} is ${row[id]}, transformers ${s.top_logits[r]} (relative ${err.toExponential(2)})`);
            });
            // No token outside transformers' top-k may rise above its k-th logit (beyond the tolerance).
            const kth = s.top_logits[s.top_logits.length - 1]!;
            const inTop = new Set(s.top_ids);
            for (let v = 0; v < V; v++) {
              if (!inTop.has(v)) assert.ok(row[v]! <= kth + LOGIT_TOL * scale, `${what} position ${s.position}: token ${v} (${row[v]}) is above transformers' top-${s.top_ids.length}`);
            }
            const err = Math.abs(logSumExp(row) - s.logsumexp) / Math.max(1, Math.abs(s.logsumexp));
            worst = Math.max(worst, err);
            assert.ok(err <= LOGIT_TOL, `${what} position ${s.position}: logsumexp ${logSumExp(row)} vs transformers ${s.logsumexp}`);
          }
          const step = greedy.findIndex((id, i) => id !== p.greedy[i]);
          assert.equal(step, -1, `${what}: greedy step ${step} is ${greedy[step]}, transformers ${p.greedy[step]} (Lethe ${JSON.stringify(greedy)}, `
            + `transformers ${JSON.stringify(p.greedy)}; the smallest top-1/top-2 logit margin on transformers' path is ${p.greedy_min_margin}, `
            + `against a logit tolerance of ${LOGIT_TOL} relative: a margin that small is a near-tie, anything larger a real difference)`);
        }
        t.diagnostic(`${fx.folder} [${backendName}]: max relative logit difference ${worst.toExponential(2)}`);
      }));
    }
  });
}
