// SAGE-style post-hoc sanitisation of an unlearning update (DESIGN.md §5).
//
// Any unlearning method ends with θ_unlearned; its update is Δ = θ_unlearned − θ_original. A block projection
// computes y = W·x, so on an input x the update changes the output by Δ·x (Δ in the [out, in] convention).
// Retain inputs live mostly in a low-dimensional subspace of the input space: the dominant eigenvectors U_k of
// the input Gram matrix XᵀX collected on a small retain sample. Projecting that subspace out of Δ's input side,
//   hard:  Δ' = Δ·(I − U_k U_kᵀ)
//   soft:  Δ' = Δ·(I + λ U_k Λ_k U_kᵀ)⁻¹ = Δ − (Δ U_k)·diag(λΛ_i / (1 + λΛ_i))·U_kᵀ   (U_k orthonormal)
// leaves retain behaviour (nearly) as it was, while the part of Δ acting on directions the retain data does
// not use — where the forgetting has to happen — survives unchanged.
//
// Λ_i = eig_i / eig_max: the eigenvalues are normalised by the largest one, so λ is scale-free (the same λ
// means the same thing for a layer whose inputs are 100× larger, and for 10 or 10,000 retain tokens). The
// dominant direction is damped by λ/(1+λ), weaker ones less; λ → 0 leaves Δ alone, λ → ∞ tends to hard mode.
//
// k is the smallest number of eigenvectors whose eigenvalues sum to at least the energy fraction τ of the
// trace. With τ = 1 every direction the retain inputs touch at all (numerical noise of the f32 Gram included)
// is projected out.
import { z } from 'zod';
import { matmul, noGrad, Tensor } from '../engine/index.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { linearModules } from '../model/modules.ts';
import { padRight } from '../model/padding.ts';
import { leadingEigenpairs } from '../util/symmetric-eigen.ts';

export class SanitizeError extends Error {
  constructor(message: string) {
    super(`sanitize: ${message}`);
    this.name = 'SanitizeError';
  }
}

export const SanitizeOptionsSchema = z.object({
  mode: z.enum(['hard', 'soft'], { error: 'mode must be "hard" or "soft"' }).default('hard')
    .describe('hard: project the retain subspace out of the update; soft: damp it by (I + λUΛUᵀ)⁻¹'),
  energy: z.number({ error: 'energy must be a number' })
    .gt(0, 'energy must be in (0, 1]').lte(1, 'energy must be in (0, 1]').default(0.5)
    .describe('fraction τ of the retain inputs\' energy (XᵀX trace) whose eigen-directions are protected (0.5 tuned on the persons model after NPO)'),
  strength: z.number({ error: 'strength must be a number' }).min(0, 'strength must be ≥ 0').default(10)
    .describe('soft mode λ; eigenvalues are normalised by the largest, so λ is scale-free'),
  others: z.enum(['keep', 'revert'], { error: 'others must be "keep" or "revert"' }).default('keep')
    .describe('update of parameters that are not block projections (embeddings, norms, biases): keep or revert'),
});

export type SanitizeOptions = z.infer<typeof SanitizeOptionsSchema>;

export const DEFAULT_SANITIZE: SanitizeOptions = SanitizeOptionsSchema.parse({});

/** XᵀX of one projection's inputs over the real (unpadded) token positions of a retain sample. */
export interface InputGram {
  /** in × in, row-major, float64. */
  gram: Float64Array;
  inFeatures: number;
  /** Rows (token positions) summed into gram. */
  count: number;
}

/**
 * Runs the retain sequences through the model (as it is now: call it on the ORIGINAL model) and sums XᵀX of
 * every block projection's input. Projections fed the very same tensor (Llama's q/k/v, gate/up) share one
 * InputGram object, so its eigendecomposition is done once.
 */
export function collectInputGrams(model: CausalLM, sequences: readonly Int32Array[],
  options: { batchSize?: number; padId?: number } = {}): Map<string, InputGram> {
  const batchSize = options.batchSize ?? 8;
  const padId = options.padId ?? 0;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new SanitizeError(`batchSize must be a positive integer, got ${batchSize}`);
  const seqs = sequences.filter((s) => s.length > 0);
  if (seqs.length === 0) throw new SanitizeError('no retain tokens to collect layer inputs from');
  const grams = new Map<string, InputGram>();
  noGrad(() => {
    for (let start = 0; start < seqs.length; start += batchSize) {
      const batch = seqs.slice(start, start + batchSize);
      const ids = padRight(batch, padId);
      const T = ids.shape[1]!;
      const padded = batch.some((s) => s.length < T);
      const rows = batch.reduce((n, s) => n + s.length, 0);
      const seen = new Map<Tensor, InputGram>();
      model.forward(ids, {
        linearInput: (module, x) => {
          let g = seen.get(x);
          if (!g) {
            const inF = x.shape[x.rank - 1]!;
            const X = x.f32('sanitize');
            // Right padding sits at the end of each row: copy only the real positions.
            let real = X;
            if (padded) {
              real = new Float32Array(rows * inF);
              let o = 0;
              for (let b = 0; b < batch.length; b++) {
                const n = batch[b]!.length * inF;
                real.set(X.subarray(b * T * inF, b * T * inF + n), o);
                o += n;
              }
            }
            const Xt = new Tensor(real, [rows, inF]);
            const xtx = matmul(Xt, Xt, { transA: true }).f32('sanitize');
            g = grams.get(module) ?? { gram: new Float64Array(inF * inF), inFeatures: inF, count: 0 };
            for (let i = 0; i < xtx.length; i++) g.gram[i]! += xtx[i]!;
            g.count += rows;
            seen.set(x, g);
          }
          // Same input as an earlier projection this batch: share its (already updated) gram.
          if (!grams.has(module)) grams.set(module, g);
          return x;
        },
      });
    }
  });
  return grams;
}

/** The protected subspace of one Gram matrix. */
export interface Subspace {
  /** in × k, row-major, orthonormal columns (eigenvectors, largest eigenvalue first). */
  U: Float64Array;
  k: number;
  /** The k eigenvalues, descending. */
  eigenvalues: Float64Array;
  /** Largest eigenvalue (1 for Λ normalisation); 0 for an all-zero Gram. */
  maxEigenvalue: number;
  /** Σ of the k eigenvalues over the trace. */
  energyKept: number;
}

/** The dominant eigenvectors of XᵀX: the smallest k reaching energy fraction τ. */
export function dominantSubspace(g: InputGram, energy: number): Subspace {
  const n = g.inFeatures;
  if (g.gram.length !== n * n) throw new SanitizeError(`gram has ${g.gram.length} values, expected ${n}×${n}`);
  let total = 0;
  let kept = 0;
  // Every eigenvalue is known before any vector is computed: only the k kept are (see symmetric-eigen.ts).
  const e = leadingEigenpairs(g.gram, n, (values) => {
    // Clamp the tiny negative eigenvalues rounding leaves on a PSD matrix.
    for (const v of values) total += Math.max(v, 0);
    let k = 0;
    if (total > 0) while (k < n && kept < energy * total) kept += Math.max(values[k++]!, 0);
    return k;
  });
  return {
    U: e.vectors, k: e.k, eigenvalues: Float64Array.from(e.values.subarray(0, e.k), (v) => Math.max(v, 0)),
    maxEigenvalue: total > 0 ? Math.max(e.values[0]!, 0) : 0, energyKept: total > 0 ? kept / total : 0,
  };
}

export interface ModuleSanitizeReport {
  module: string;
  /** Eigen-directions protected; 0 where Δ was zero (nothing to do) or the module saw no input energy. */
  k: number;
  inFeatures: number;
  energyKept: number;
  deltaNormBefore: number;
  deltaNormAfter: number;
}

export interface SanitizeReport {
  options: SanitizeOptions;
  modules: ModuleSanitizeReport[];
  /** Frobenius norms over all block projections' updates. */
  projectionDeltaNormBefore: number;
  projectionDeltaNormAfter: number;
  /** Norm of the update of everything else (embeddings, norms, biases), before and after (0 after 'revert'). */
  otherDeltaNormBefore: number;
  otherDeltaNormAfter: number;
}

function parseOptions(options: SanitizeOptions): SanitizeOptions {
  const r = SanitizeOptionsSchema.safeParse(options);
  if (!r.success) throw new SanitizeError(r.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; '));
  return r.data;
}

/**
 * Replaces the model's update Δ = θ − original by its sanitised Δ' in place (θ ← original + Δ'), projection by
 * projection, using Gram matrices collected on retain data with the ORIGINAL model.
 */
export function sanitizeUpdate(model: CausalLM, original: Float32Array, grams: Map<string, InputGram>,
  options: SanitizeOptions): SanitizeReport {
  const opts = parseOptions(options);
  const flat = model.params.flat;
  if (original.length !== flat.length) throw new SanitizeError(`original has ${original.length} values, the model ${flat.length}`);
  const modules = linearModules(model);
  for (const m of modules) {
    const g = grams.get(m.module);
    if (!g) throw new SanitizeError(`no input Gram matrix for ${m.module} (collect them with collectInputGrams on the same model)`);
    if (g.inFeatures !== m.inFeatures) throw new SanitizeError(`Gram for ${m.module} is ${g.inFeatures}-wide, the module takes ${m.inFeatures} inputs`);
  }
  const subspaces = new Map<InputGram, Subspace>();
  const reports: ModuleSanitizeReport[] = [];
  let before2 = 0;
  let after2 = 0;
  for (const m of modules) {
    const W = m.weight.f32('sanitize');
    const off = model.params.offsetOf(`${m.module}.weight`);
    const inF = m.inFeatures;
    const outF = m.outFeatures;
    // Stored index of Δ[r][c] ([out, in]): GPT-2's Conv1D stores the transpose, so the projection acts on the
    // stored matrix's rows instead of its columns.
    const at = m.layout === 'outIn' ? (r: number, c: number) => r * inF + c : (r: number, c: number) => c * outF + r;
    const D = new Float64Array(outF * inF);
    let nb = 0;
    for (let r = 0; r < outF; r++) {
      for (let c = 0; c < inF; c++) {
        const i = at(r, c);
        const d = W[i]! - original[off + i]!;
        D[r * inF + c] = d;
        nb += d * d;
      }
    }
    const report: ModuleSanitizeReport = { module: m.module, k: 0, inFeatures: inF, energyKept: 0, deltaNormBefore: Math.sqrt(nb), deltaNormAfter: Math.sqrt(nb) };
    reports.push(report);
    before2 += nb;
    if (nb === 0) {
      after2 += nb;
      continue;
    }
    const g = grams.get(m.module)!;
    let sub = subspaces.get(g);
    if (!sub) subspaces.set(g, (sub = dominantSubspace(g, opts.energy)));
    const { U, k } = sub;
    report.k = k;
    report.energyKept = sub.energyKept;
    // Per-direction shrink factor s_j: 1 (hard) or λΛ_j/(1+λΛ_j) (soft).
    const s = Float64Array.from(sub.eigenvalues, (e) => {
      if (opts.mode === 'hard') return 1;
      const l = opts.strength * (e / sub.maxEigenvalue);
      return l / (1 + l);
    });
    // Δ' = Δ − (Δ U)·diag(s)·Uᵀ, row by row of Δ.
    const C = new Float64Array(k);
    let na = 0;
    for (let r = 0; r < outF; r++) {
      const row = r * inF;
      C.fill(0);
      for (let i = 0; i < inF; i++) {
        const d = D[row + i]!;
        for (let j = 0; j < k; j++) C[j]! += d * U[i * k + j]!;
      }
      for (let j = 0; j < k; j++) C[j]! *= s[j]!;
      for (let c = 0; c < inF; c++) {
        let p = 0;
        for (let j = 0; j < k; j++) p += C[j]! * U[c * k + j]!;
        const d = D[row + c]! - p;
        const idx = at(r, c);
        W[idx] = original[off + idx]! + d;
        na += d * d;
      }
    }
    report.deltaNormAfter = Math.sqrt(na);
    after2 += na;
  }
  // Everything that is not a block projection weight: keep its update or revert it.
  const projections = new Set(modules.map((m) => m.weight));
  let ob = 0;
  for (const [name, t] of model.params.entries()) {
    if (projections.has(t)) continue;
    const data = t.f32('sanitize');
    const off = model.params.offsetOf(name);
    for (let i = 0; i < data.length; i++) {
      const d = data[i]! - original[off + i]!;
      ob += d * d;
    }
    if (opts.others === 'revert') data.set(original.subarray(off, off + data.length));
  }
  return {
    options: opts, modules: reports,
    projectionDeltaNormBefore: Math.sqrt(before2), projectionDeltaNormAfter: Math.sqrt(after2),
    otherDeltaNormBefore: Math.sqrt(ob), otherDeltaNormAfter: opts.others === 'revert' ? 0 : Math.sqrt(ob),
  };
}
