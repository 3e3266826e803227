// SAGE-style sanitisation (DESIGN.md §5): the update's action on the retain inputs' dominant subspace is
// removed (hard) or damped by (I + λUΛUᵀ)⁻¹ (soft), the rest of it is kept, on both weight layouts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inverse, Matrix, QrDecomposition } from 'ml-matrix';
import { noGrad, Rng, Tensor } from '../../src/engine/index.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { linearModules, type LinearModule } from '../../src/model/modules.ts';
import {
  collectInputGrams, DEFAULT_SANITIZE, dominantSubspace, sanitizeUpdate, SanitizeOptionsSchema, type InputGram,
  type SanitizeOptions,
} from '../../src/unlearn/sanitize.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';

const FAMILIES = ['gpt2-tiny', 'llama-tiny-gqa'];
const load = (name: string): CausalLM => loadModel(new URL(`../fixtures/models/${name}`, import.meta.url).pathname).model;

function randomSeqs(rng: Rng, n: number, len: number, vocab: number, tokens?: number[]): Int32Array[] {
  return Array.from({ length: n }, (_, i) => Int32Array.from({ length: len - (i % 3) }, () => {
    const r = rng.nextU32();
    return tokens ? tokens[r % tokens.length]! : r % vocab;
  }));
}

/** A simulated unlearning update: gaussian noise on the chosen parameters, comparable to the weights. */
function perturb(model: CausalLM, rng: Rng, std: number, which: (name: string) => boolean = () => true): void {
  for (const [name, t] of model.params.entries()) {
    if (!which(name)) continue;
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i]! += std * rng.normal();
  }
}

const offsetOf = (model: CausalLM, t: Tensor): number => ((t.data as Float32Array).byteOffset - model.params.flat.byteOffset) / 4;

/** Δ of one projection as an [out, in] matrix whatever its storage layout. */
function deltaOf(model: CausalLM, original: Float32Array, m: LinearModule): Matrix {
  const W = m.weight.data as Float32Array;
  const off = offsetOf(model, m.weight);
  const D = new Matrix(m.outFeatures, m.inFeatures);
  for (let r = 0; r < m.outFeatures; r++) {
    for (let c = 0; c < m.inFeatures; c++) {
      const i = m.layout === 'outIn' ? r * m.inFeatures + c : c * m.outFeatures + r;
      D.set(r, c, W[i]! - original[off + i]!);
    }
  }
  return D;
}

const subspaceMatrix = (U: Float64Array, n: number, k: number): Matrix => Matrix.from1DArray(n, k, U);
const relDiff = (a: Matrix, b: Matrix): number => Matrix.sub(a, b).norm() / b.norm();

function logitsOf(model: CausalLM, seqs: Int32Array[]): Float32Array[] {
  return noGrad(() => seqs.map((s) => model.forward(new Tensor(s, [1, s.length])).logits!.data as Float32Array));
}

function distance(a: Float32Array[], b: Float32Array[]): number {
  let s = 0;
  a.forEach((x, j) => x.forEach((v, i) => (s += (v - b[j]![i]!) ** 2)));
  return Math.sqrt(s);
}

const opts = (o: Partial<SanitizeOptions>): SanitizeOptions => ({ ...DEFAULT_SANITIZE, ...o });

for (const backendName of backendsUnderTest()) {
  describe(`sanitize [${backendName}]`, () => {
    for (const name of FAMILIES) {
      test(`${name}: gram is XᵀX over real positions, padding excluded`, () => withBackend(backendName, () => {
        const model = load(name);
        const seqs = randomSeqs(new Rng(1), 5, 9, model.config.vocabSize);
        const batched = collectInputGrams(model, seqs, { batchSize: 3, padId: 7 });
        // Collected one sequence at a time (no padding), and directly from the tap in float64.
        const single = collectInputGrams(model, seqs, { batchSize: 1 });
        const direct = new Map<string, Float64Array>();
        noGrad(() => seqs.forEach((s) => model.forward(new Tensor(s, [1, s.length]), {
          linearInput: (module, x) => {
            const n = x.shape[2]!;
            const g = direct.get(module) ?? new Float64Array(n * n);
            const X = x.data as Float32Array;
            for (let t = 0; t < s.length; t++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i * n + j]! += X[t * n + i]! * X[t * n + j]!;
            direct.set(module, g);
            return x;
          },
        })));
        const tokens = seqs.reduce((n, s) => n + s.length, 0);
        for (const m of linearModules(model)) {
          const g = batched.get(m.module)!;
          assert.equal(g.inFeatures, m.inFeatures);
          assert.equal(g.count, tokens, `${m.module} counted ${g.count} rows`);
          const ref = direct.get(m.module)!;
          for (const other of [g.gram, single.get(m.module)!.gram]) {
            const err = Math.max(...other.map((v, i) => Math.abs(v - ref[i]!))) / Math.max(...ref.map(Math.abs));
            assert.ok(err < 1e-5, `${m.module}: gram off by ${err}`);
          }
        }
        if (name.startsWith('llama')) {
          // q/k/v read the same input: one shared gram (eigendecomposed once).
          assert.equal(batched.get('model.layers.0.self_attn.q_proj'), batched.get('model.layers.0.self_attn.v_proj'));
          assert.notEqual(batched.get('model.layers.0.self_attn.q_proj'), batched.get('model.layers.0.self_attn.o_proj'));
        }
      }));

      test(`${name}: hard mode removes Δ on the retain subspace and keeps the rest exactly`, () => withBackend(backendName, () => {
        const model = load(name);
        const rng = new Rng(2);
        const grams = collectInputGrams(model, randomSeqs(rng, 6, 10, model.config.vocabSize));
        const original = model.params.snapshot();
        perturb(model, rng, 0.1);
        const modules = linearModules(model);
        const before = new Map(modules.map((m) => [m.module, deltaOf(model, original, m)]));
        const report = sanitizeUpdate(model, original, grams, opts({ mode: 'hard', energy: 0.9 }));
        assert.equal(report.modules.length, modules.length);
        for (const m of modules) {
          const r = report.modules.find((x) => x.module === m.module)!;
          const sub = dominantSubspace(grams.get(m.module)!, 0.9);
          assert.equal(r.k, sub.k);
          assert.ok(sub.k >= 1 && sub.k < m.inFeatures, `${m.module}: k=${sub.k} of ${m.inFeatures}`);
          assert.ok(r.energyKept >= 0.9 && r.energyKept <= 1 + 1e-12);
          const U = subspaceMatrix(sub.U, m.inFeatures, sub.k);
          const D = before.get(m.module)!;
          const D2 = deltaOf(model, original, m);
          assert.ok(Math.abs(r.deltaNormBefore - D.norm()) <= 1e-6 * D.norm());
          assert.ok(Math.abs(r.deltaNormAfter - D2.norm()) <= 1e-5 * D.norm());
          // Retain-subspace inputs x = U·c no longer see the update.
          for (let t = 0; t < 3; t++) {
            const x = U.mmul(Matrix.from1DArray(sub.k, 1, Array.from({ length: sub.k }, () => rng.normal())));
            const ratio = D2.mmul(x).norm() / D.mmul(x).norm();
            assert.ok(ratio <= 1e-3, `${m.module}: ‖Δ'x‖/‖Δx‖ = ${ratio}`);
          }
          assert.ok(D2.mmul(U).norm() <= 1e-5 * D.norm(), `${m.module}: Δ'U not ≈ 0`);
          // The component orthogonal to it is unchanged.
          const P = Matrix.sub(Matrix.eye(m.inFeatures), U.mmul(U.transpose()));
          const err = relDiff(D2.mmul(P), D.mmul(P));
          assert.ok(err <= 1e-6, `${m.module}: orthogonal part changed by ${err}`);
        }
      }));

      test(`${name}: end to end, retain logits barely move while other inputs still see the update`, () => withBackend(backendName, () => {
        const model = load(name);
        const rng = new Rng(3);
        const V = model.config.vocabSize;
        // A retain sample of few distinct tokens and positions, so its inputs span a small subspace.
        const retain = randomSeqs(rng, 3, 7, V, [5, 17, 42, 99]);
        const others = randomSeqs(rng, 4, 12, V);
        const base = { retain: logitsOf(model, retain), others: logitsOf(model, others) };
        const grams = collectInputGrams(model, retain);
        const original = model.params.snapshot();
        perturb(model, rng, 0.05, (n) => n.endsWith('.weight') && linearModules(model).some((m) => m.weight.name === n));
        const moved = { retain: distance(logitsOf(model, retain), base.retain), others: distance(logitsOf(model, others), base.others) };
        sanitizeUpdate(model, original, grams, opts({ mode: 'hard', energy: 0.99999 }));
        const after = { retain: distance(logitsOf(model, retain), base.retain), others: distance(logitsOf(model, others), base.others) };
        assert.ok(moved.retain > 0 && after.retain * 10 <= moved.retain, `retain logits moved ${moved.retain} before, ${after.retain} after`);
        assert.ok(after.others >= 0.2 * moved.others, `other logits moved ${moved.others} before, only ${after.others} after`);
      }));

      test(`${name}: soft mode is Δ·(I + λUΛUᵀ)⁻¹, and λ = 0 leaves Δ unchanged`, () => withBackend(backendName, () => {
        const model = load(name);
        const rng = new Rng(4);
        const grams = collectInputGrams(model, randomSeqs(rng, 4, 10, model.config.vocabSize));
        const original = model.params.snapshot();
        perturb(model, rng, 0.1);
        const perturbed = model.params.snapshot();
        const lambda = 3;
        const modules = linearModules(model);
        const before = new Map(modules.map((m) => [m.module, deltaOf(model, original, m)]));
        sanitizeUpdate(model, original, grams, opts({ mode: 'soft', energy: 0.9, strength: lambda }));
        for (const m of modules) {
          const sub = dominantSubspace(grams.get(m.module)!, 0.9);
          const U = subspaceMatrix(sub.U, m.inFeatures, sub.k);
          const L = Matrix.diag(Array.from(sub.eigenvalues, (e) => e / sub.maxEigenvalue));
          const M = Matrix.add(Matrix.eye(m.inFeatures), U.mmul(L).mmul(U.transpose()).mul(lambda));
          const expected = before.get(m.module)!.mmul(inverse(M));
          const err = relDiff(deltaOf(model, original, m), expected);
          assert.ok(err <= 1e-5, `${m.module}: soft result off by ${err}`);
        }
        // λ = 0: not a bit changes; tiny λ: almost nothing.
        model.params.restore(perturbed);
        sanitizeUpdate(model, original, grams, opts({ mode: 'soft', strength: 0 }));
        assert.deepEqual(model.params.flat, perturbed);
        sanitizeUpdate(model, original, grams, opts({ mode: 'soft', strength: 1e-9 }));
        for (const m of modules) assert.ok(relDiff(deltaOf(model, original, m), before.get(m.module)!) < 1e-7);
      }));

      test(`${name}: others 'revert' restores non-projection parameters, 'keep' keeps them`, () => withBackend(backendName, () => {
        const model = load(name);
        const rng = new Rng(5);
        const grams = collectInputGrams(model, randomSeqs(rng, 3, 8, model.config.vocabSize));
        const original = model.params.snapshot();
        perturb(model, rng, 0.05);
        const perturbed = model.params.snapshot();
        const projections = new Set(linearModules(model).map((m) => m.weight));
        const check = (expectOthers: Float32Array): void => {
          for (const [pname, t] of model.params.entries()) {
            const off = offsetOf(model, t);
            const got = t.data as Float32Array;
            if (projections.has(t)) assert.notDeepEqual(got, original.subarray(off, off + got.length), `${pname} was not sanitised`);
            else assert.deepEqual(got, expectOthers.subarray(off, off + got.length), pname);
          }
        };
        const kept = sanitizeUpdate(model, original, grams, opts({ others: 'keep' }));
        check(perturbed);
        assert.ok(kept.otherDeltaNormAfter > 0 && kept.otherDeltaNormAfter === kept.otherDeltaNormBefore);
        model.params.restore(perturbed);
        const reverted = sanitizeUpdate(model, original, grams, opts({ others: 'revert' }));
        check(original);
        assert.equal(reverted.otherDeltaNormAfter, 0);
        assert.ok(reverted.projectionDeltaNormAfter < reverted.projectionDeltaNormBefore);
      }));
    }

    test('zero updates stay untouched', () => withBackend(backendName, () => {
      const model = load('gpt2-tiny');
      const grams = collectInputGrams(model, randomSeqs(new Rng(6), 2, 5, model.config.vocabSize));
      const original = model.params.snapshot();
      const report = sanitizeUpdate(model, original, grams, DEFAULT_SANITIZE);
      assert.deepEqual(model.params.flat, original);
      assert.ok(report.modules.every((r) => r.k === 0 && r.deltaNormBefore === 0 && r.deltaNormAfter === 0));
    }));
  });
}

describe('sanitize subspace and options', () => {
  /** A gram Q·diag(eig)·Qᵀ with a random orthonormal Q. */
  function handMade(eig: number[], scale = 1): { gram: InputGram; Q: Matrix } {
    const n = eig.length;
    const rng = new Rng(7);
    const Q = new QrDecomposition(Matrix.from1DArray(n, n, Array.from({ length: n * n }, () => rng.normal()))).orthogonalMatrix;
    const G = Q.mmul(Matrix.diag(eig.map((e) => e * scale))).mmul(Q.transpose());
    return { gram: { gram: Float64Array.from(G.to1DArray()), inFeatures: n, count: 100 }, Q };
  }

  test('energy threshold picks the smallest k reaching τ', () => {
    const eig = [10, 5, 3, 1, 0.5, 0.5]; // total 20
    const { gram, Q } = handMade(eig);
    const cases: [number, number][] = [[0.01, 1], [0.49, 1], [0.51, 2], [0.74, 2], [0.76, 3], [0.89, 3], [0.91, 4], [0.96, 5], [1, 6]];
    for (const [tau, k] of cases) {
      const sub = dominantSubspace(gram, tau);
      assert.equal(sub.k, k, `τ=${tau}`);
      assert.ok(Math.abs(sub.energyKept - eig.slice(0, k).reduce((a, b) => a + b, 0) / 20) < 1e-12);
      assert.ok(Math.abs(sub.maxEigenvalue - 10) < 1e-9);
      const U = subspaceMatrix(sub.U, 6, k);
      for (let j = 0; j < k; j++) {
        assert.ok(Math.abs(sub.eigenvalues[j]! - eig[j]!) < 1e-9);
        // Eigenvalues are distinct except the last pair, so each column is ±Q's column.
        if (j < 4) assert.ok(Math.abs(Math.abs(U.getColumnVector(j).dot(Q.getColumnVector(j))) - 1) < 1e-9, `τ=${tau} column ${j}`);
      }
    }
    // An all-zero gram (a module that saw only zero inputs) protects nothing.
    assert.equal(dominantSubspace({ gram: new Float64Array(9), inFeatures: 3, count: 1 }, 0.95).k, 0);
  });

  test('soft mode is scale-free: λ acts on eigenvalues normalised by the largest', () => {
    const model = load('llama-tiny-gqa');
    const grams = collectInputGrams(model, randomSeqs(new Rng(8), 3, 8, model.config.vocabSize));
    const scaled = new Map<string, InputGram>();
    const copies = new Map<InputGram, InputGram>();
    for (const [k, g] of grams) {
      if (!copies.has(g)) copies.set(g, { ...g, gram: g.gram.map((v) => v * 1000) });
      scaled.set(k, copies.get(g)!);
    }
    const original = model.params.snapshot();
    perturb(model, new Rng(9), 0.1);
    const perturbed = model.params.snapshot();
    sanitizeUpdate(model, original, grams, opts({ mode: 'soft', strength: 2 }));
    const a = model.params.snapshot();
    model.params.restore(perturbed);
    sanitizeUpdate(model, original, scaled, opts({ mode: 'soft', strength: 2 }));
    let err = 0;
    a.forEach((v, i) => (err = Math.max(err, Math.abs(v - model.params.flat[i]!))));
    assert.ok(err < 1e-6, `results differ by ${err}`);
  });

  test('schema defaults and bad options', () => {
    assert.deepEqual(SanitizeOptionsSchema.parse({}), { mode: 'hard', energy: 0.5, strength: 10, others: 'keep' });
    assert.deepEqual(DEFAULT_SANITIZE, SanitizeOptionsSchema.parse({}));
    for (const key of ['mode', 'energy', 'strength', 'others'] as const) assert.ok(SanitizeOptionsSchema.shape[key].description);

    const model = load('gpt2-tiny');
    const grams = collectInputGrams(model, randomSeqs(new Rng(10), 2, 5, model.config.vocabSize));
    const original = model.params.snapshot();
    const bad: [Partial<SanitizeOptions> | Record<string, unknown>, RegExp][] = [
      [{ energy: 0 }, /energy must be in \(0, 1\]/],
      [{ energy: 1.5 }, /energy must be in \(0, 1\]/],
      [{ energy: Number.NaN }, /energy/],
      [{ strength: -1 }, /strength must be ≥ 0/],
      [{ mode: 'medium' }, /mode must be "hard" or "soft"/],
      [{ others: 'drop' }, /others must be "keep" or "revert"/],
    ];
    for (const [o, re] of bad) assert.throws(() => sanitizeUpdate(model, original, grams, { ...DEFAULT_SANITIZE, ...o } as SanitizeOptions), re);

    const missing = new Map(grams);
    missing.delete('transformer.h.1.mlp.c_proj');
    assert.throws(() => sanitizeUpdate(model, original, missing, DEFAULT_SANITIZE), /no input Gram matrix for transformer\.h\.1\.mlp\.c_proj/);
    const wrong = new Map(grams);
    wrong.set('transformer.h.0.mlp.c_fc', { gram: new Float64Array(4), inFeatures: 2, count: 1 });
    assert.throws(() => sanitizeUpdate(model, original, wrong, DEFAULT_SANITIZE), /2-wide, the module takes 32 inputs/);
    assert.throws(() => sanitizeUpdate(model, original.subarray(1), grams, DEFAULT_SANITIZE), /original has/);
    assert.throws(() => collectInputGrams(model, [new Int32Array(0)]), /no retain tokens/);
    assert.throws(() => collectInputGrams(model, [Int32Array.of(1)], { batchSize: 0 }), /batchSize/);
  });
});
