// Optimizers against torch.optim trajectories (tools/golden/optim.py), gradient clipping, and save/restore.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { AdamW, clipGradNorm, parameter, SGD, Tensor, type Optimizer } from '../../src/engine/index.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { assertClose } from '../helpers/compare.ts';

interface OptimFixture {
  shape: number[];
  p0: number[];
  grads: number[][];
  cases: { name: string; kind: 'AdamW' | 'SGD'; options: Record<string, number>; trajectory: number[][] }[];
  clip: { maxNorm: number; shapes: number[][]; grads: number[][]; norm: number; clipped: number[][] }[];
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/optim/optim.json', import.meta.url), 'utf8')) as OptimFixture;

function make(kind: 'AdamW' | 'SGD', params: Tensor[], options: Record<string, number>): Optimizer {
  return kind === 'AdamW' ? new AdamW(params, options) : new SGD(params, options);
}

for (const name of backendsUnderTest()) {
  describe(`optimizers [${name}]`, () => {
    for (const c of fx.cases) {
      test(`${c.name} follows torch.optim`, () => withBackend(name, () => {
        const p = parameter(new Tensor(Float32Array.from(fx.p0), fx.shape));
        const opt = make(c.kind, [p], c.options);
        fx.grads.forEach((g, step) => {
          p.grad = new Tensor(Float32Array.from(g), fx.shape);
          opt.update();
          assertClose(p.data, c.trajectory[step]!, 1e-5, `step ${step + 1}`);
        });
      }));

      test(`${c.name} resumes exactly from saved state`, () => withBackend(name, () => {
        const p = parameter(new Tensor(Float32Array.from(fx.p0), fx.shape));
        const opt = make(c.kind, [p], c.options);
        const half = 3;
        fx.grads.slice(0, half).forEach((g) => {
          p.grad = new Tensor(Float32Array.from(g), fx.shape);
          opt.update();
        });
        const saved = JSON.parse(JSON.stringify(opt.state(), (_, v: unknown) => (v instanceof Float32Array ? Array.from(v) : v))) as ReturnType<Optimizer['state']>;
        for (const k of Object.keys(saved.buffers)) saved.buffers[k] = Float32Array.from(saved.buffers[k] as unknown as number[]);
        const q = parameter(new Tensor(Float32Array.from(p.data), fx.shape));
        const resumed = make(c.kind, [q], { lr: 123 });
        resumed.loadState(saved);
        fx.grads.slice(half).forEach((g) => {
          p.grad = new Tensor(Float32Array.from(g), fx.shape);
          q.grad = new Tensor(Float32Array.from(g), fx.shape);
          opt.update();
          resumed.update();
        });
        assert.deepEqual(Array.from(q.data), Array.from(p.data));
      }));
    }

    for (const c of fx.clip) {
      test(`clipGradNorm max ${c.maxNorm} matches torch`, () => withBackend(name, () => {
        const ps = c.shapes.map((s, i) => {
          const p = parameter(new Tensor(new Float32Array(s.reduce((a, b) => a * b, 1)), s));
          p.grad = new Tensor(Float32Array.from(c.grads[i]!), s);
          return p;
        });
        const norm = clipGradNorm(ps, c.maxNorm);
        assert.ok(Math.abs(norm - c.norm) <= 1e-5 * c.norm, `norm ${norm} vs ${c.norm}`);
        ps.forEach((p, i) => assertClose(p.grad!.data, c.clipped[i]!, 1e-5, `grad ${i}`));
      }));
    }

    test('loading a state for other parameters fails clearly', () => withBackend(name, () => {
      const a = new AdamW([parameter(new Tensor(new Float32Array(4), [4]))]);
      const b = new AdamW([parameter(new Tensor(new Float32Array(5), [5]))]);
      assert.throws(() => b.loadState(a.state()), /AdamW: saved buffer "m.0" has 4 values but parameter \[5\] has 5/);
      assert.throws(() => new SGD([parameter(new Tensor(new Float32Array(4), [4]))]).loadState(a.state()), /cannot load a "AdamW" state/);
    }));
  });
}
