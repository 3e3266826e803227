/**
 * The `engine` suite: the kernels a GPT-2-small or Llama training step spends its time in, each against PyTorch
 * (same shapes, same thread count, eager float32) and, for GEMM, tfjs-wasm.
 */
import { fileURLToPath } from 'node:url';
import {
  backend, backward, causalAttention, crossEntropy, embedding, layerNorm, matmul, mul, noGrad, parameter, pooled, randn,
  rmsNorm, Rng, silu, softmax, tensor, withMatmulPrecision, type Tensor,
} from '../../src/engine/index.ts';
import { runCases, type CaseSpec, type PeerJob } from '../lib/case.ts';
import { DEFAULT_POLICY } from '../lib/timing.ts';
import { absentPeer, openTorchPeer, type TorchPeer } from '../lib/torch-peer.ts';
import type { Metric, Stat, Suite } from '../lib/types.ts';
import { openTfjsPeer, type GemmShape, type TfjsPeer } from '../peers/tfjs.ts';

const TORCH_SCRIPT = fileURLToPath(new URL('../peers/torch_engine.py', import.meta.url));

interface EngineCase {
  name: string;
  metric: Metric;
  /** GEMM reports peak throughput (best rep, as BLAS benchmarks do); the rest the typical rep (median). */
  stat: Stat;
  work: number;
  shape: string;
  /** Set for f32 GEMM cases, which tfjs-wasm also runs. */
  gemm?: GemmShape;
  /** What a rep times, where the name alone does not say (`fwd+bwd` for `embedding-bwd`). */
  timed?: string;
  setup: () => () => void;
}

/** Seeded inputs, so every run times the same numbers. */
const rng = (): Rng => new Rng(1234);

/** C = op(A)·op(B), operands stored as their trans flags say ([K, M] for transA, [N, K] for transB). */
function gemmCase(name: string, g: GemmShape): EngineCase {
  const { m, n, k, transA, transB } = g;
  const aDims = transA ? [k, m] : [m, k];
  const bDims = transB ? [n, k] : [k, n];
  const fmt = (d: number[], t: boolean): string => `[${d.join(',')}]${t ? 'ᵀ' : ''}`;
  return {
    name, metric: 'gflops', stat: 'best', work: 2 * m * n * k, gemm: g,
    shape: `${fmt(aDims, transA)}·${fmt(bDims, transB)}`,
    setup: () => {
      const r = rng();
      const a = randn(aDims, r);
      const b = randn(bDims, r);
      return () => { noGrad(() => matmul(a, b, { transA, transB })); };
    },
  };
}

/**
 * The same product with bf16 operands and an f32 result (src/engine/precision.ts), from f32 inputs: the rounding
 * is part of the time, as it is for the torch peer's mm under torch.autocast('cpu', torch.bfloat16).
 */
function gemmBf16Case(name: string, g: GemmShape): EngineCase {
  const f32 = gemmCase(name, g);
  return {
    ...f32, gemm: undefined, shape: `${f32.shape} bf16 operands, f32 result`,
    setup: () => {
      const rep = f32.setup();
      return () => withMatmulPrecision('bf16', rep);
    },
  };
}

/** `n` ids uniform in [0, vocab): cross-entropy targets, embedding lookups. */
function randomIds(n: number, vocab: number, r: Rng): Tensor {
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = r.nextU32() % vocab;
  return tensor(ids, [n], 'i32');
}

/**
 * A leaf that keeps its gradient storage between reps, as every model parameter does (src/model/params.ts). Each rep
 * drops the .grad (clearGrads; torch side: grad = None) and backward writes the next one into the same memory, as
 * torch's caching allocator gives its fresh .grad the block the last one freed. Without it a rep would also time
 * page-faulting a fresh array (12.6 MB for the norms' input, 98 MB for the embedding table), which no training
 * step pays.
 */
function leaf(t: Tensor): Tensor {
  const p = parameter(t);
  p.gradStorage = new Float32Array(p.size);
  return p;
}

/** Leaves drop their gradients before each rep, so backward writes fresh ones (torch side: grad = None). */
function clearGrads(ts: readonly Tensor[]): void {
  for (const t of ts) t.zeroGrad();
}

const CASES: readonly EngineCase[] = [
  gemmCase('gemm-256', { m: 256, n: 256, k: 256, transA: false, transB: false }),
  gemmCase('gemm-512', { m: 512, n: 512, k: 512, transA: false, transB: false }),
  gemmCase('gemm-1024', { m: 1024, n: 1024, k: 1024, transA: false, transB: false }),
  gemmCase('gemm-2048', { m: 2048, n: 2048, k: 2048, transA: false, transB: false }),
  // GPT-2 small's c_attn at 4096 tokens (batch 4 × 1024): forward X·W, then the two backward GEMMs.
  gemmCase('gemm-4096x768x2304', { m: 4096, n: 2304, k: 768, transA: false, transB: false }),
  gemmCase('gemm-4096x768x2304-dx', { m: 4096, n: 768, k: 2304, transA: false, transB: true }),
  gemmCase('gemm-4096x768x2304-dw', { m: 768, n: 2304, k: 4096, transA: true, transB: false }),
  gemmBf16Case('gemm-bf16-512', { m: 512, n: 512, k: 512, transA: false, transB: false }),
  gemmBf16Case('gemm-bf16-1024', { m: 1024, n: 1024, k: 1024, transA: false, transB: false }),
  gemmBf16Case('gemm-bf16-4096x768x2304', { m: 4096, n: 2304, k: 768, transA: false, transB: false }),
  gemmBf16Case('gemm-bf16-4096x768x2304-dx', { m: 4096, n: 768, k: 2304, transA: false, transB: true }),
  gemmBf16Case('gemm-bf16-4096x768x2304-dw', { m: 768, n: 2304, k: 4096, transA: true, transB: false }),
  {
    name: 'layernorm-fwdbwd', metric: 'ms', stat: 'median', work: 0, shape: '[4096,768]',
    setup: () => {
      const r = rng();
      const x = leaf(randn([4096, 768], r));
      const w = leaf(randn([768], r));
      const b = leaf(randn([768], r));
      const g = randn([4096, 768], r);
      return () => {
        clearGrads([x, w, b]);
        backward(layerNorm(x, w, b), g);
      };
    },
  },
  {
    name: 'softmax-fwd', metric: 'ms', stat: 'median', work: 0, shape: '[6144,128]',
    setup: () => {
      const x = randn([4 * 12 * 128, 128], rng());
      return () => { noGrad(() => softmax(x)); };
    },
  },
  {
    name: 'attention-fwdbwd', metric: 'ms', stat: 'median', work: 0, shape: 'B=4 H=12 T=128 D=64',
    setup: () => {
      const r = rng();
      const [q, k, v] = [0, 1, 2].map(() => leaf(randn([4, 12, 128, 64], r))) as [Tensor, Tensor, Tensor];
      const g = randn([4, 12, 128, 64], r);
      return () => {
        clearGrads([q, k, v]);
        backward(causalAttention(q, k, v), g);
      };
    },
  },
  // Llama's kernels at 4096 tokens: its norm (d 768, as the layer norm above), the SwiGLU MLP's gate at an
  // intermediate size of 2048, the LM loss and the token-embedding gradient at a 32000-token vocabulary.
  {
    name: 'rmsnorm-fwdbwd', metric: 'ms', stat: 'median', work: 0, shape: '[4096,768]',
    setup: () => {
      const r = rng();
      const x = leaf(randn([4096, 768], r));
      const w = leaf(randn([768], r));
      const g = randn([4096, 768], r);
      return () => {
        clearGrads([x, w]);
        backward(rmsNorm(x, w, 1e-6), g);
      };
    },
  },
  {
    name: 'silu-fwdbwd', metric: 'ms', stat: 'median', work: 0, shape: '[4096,2048]',
    setup: () => {
      const r = rng();
      const x = leaf(randn([4096, 2048], r));
      const g = randn([4096, 2048], r);
      return () => {
        clearGrads([x]);
        backward(silu(x), g);
      };
    },
  },
  {
    // silu(gate) · up, as src/model/arch/llama.ts composes its MLP.
    name: 'swiglu-fwdbwd', metric: 'ms', stat: 'median', work: 0, shape: '[4096,2048]×2',
    setup: () => {
      const r = rng();
      const a = leaf(randn([4096, 2048], r));
      const b = leaf(randn([4096, 2048], r));
      const g = randn([4096, 2048], r);
      return () => {
        clearGrads([a, b]);
        backward(mul(silu(a), b), g);
      };
    },
  },
  {
    name: 'crossentropy-fwdbwd', metric: 'ms', stat: 'median', work: 0, shape: '[2048,32000]',
    setup: () => {
      const r = rng();
      const logits = leaf(randn([2048, 32000], r));
      const targets = randomIds(2048, 32000, r);
      return () => {
        clearGrads([logits]);
        backward(crossEntropy(logits, targets)); // mean reduction; scalar loss, seed gradient 1
      };
    },
  },
  {
    // Forward + backward (`timed`): our backward releases the graph, so a backward alone cannot be repeated without
    // the lookup; torch times the same pair. The backward (a [32000,768] gradient filled by scatter-add) dominates.
    name: 'embedding-bwd', metric: 'ms', stat: 'median', work: 0, shape: '[32000,768] table, 8192 ids', timed: 'fwd+bwd',
    setup: () => {
      const r = rng();
      const table = leaf(randn([32000, 768], r));
      const ids = randomIds(8192, 32000, r);
      const g = randn([8192, 768], r);
      return () => {
        clearGrads([table]);
        backward(embedding(table, ids), g);
      };
    },
  },
];

export const engineSuite: Suite = {
  name: 'engine',
  description: 'GEMM, layer/RMS norm, softmax, causal attention, SiLU/SwiGLU, cross-entropy and embedding at GPT-2-small and Llama shapes vs PyTorch (and tfjs-wasm for GEMM)',
  cases: CASES.map((c) => c.name),
  async run(options, emit) {
    const be = backend();
    const selected = options.cases.length > 0 ? CASES.filter((c) => options.cases.includes(c.name)) : CASES;
    // Torch gets our thread count: the ratio compares the engines, not the number of cores each used.
    const torch: TorchPeer = options.peers ? await openTorchPeer(TORCH_SCRIPT, be.threads) : absentPeer('disabled with --no-peer');
    let tfjs: Promise<TfjsPeer> | null = null;
    const tfjsPeer = (): Promise<TfjsPeer> => (tfjs ??= openTfjsPeer()); // loaded only if a GEMM case runs
    try {
      const specs: CaseSpec[] = selected.map((c) => {
        const peers: PeerJob[] = [
          { peer: 'pytorch', measure: (ours) => torch.measure(c.name, c.metric, options.reps, DEFAULT_POLICY, ours.wallMs) },
        ];
        const shape = c.gemm;
        if (shape) {
          peers.push({
            peer: 'tfjs-wasm',
            measure: async () => options.peers
              ? (await tfjsPeer()).gemm(shape, c.stat, options.reps, DEFAULT_POLICY)
              : { ok: false, note: 'disabled with --no-peer' },
          });
        }
        return {
          // Each rep in a pooled scope, as a training step runs its ops (LETHE_POOL=0: fresh buffers every rep).
          suite: 'engine', name: c.name, metric: c.metric, stat: c.stat, work: c.work, peers,
          setup: () => {
            const rep = c.setup();
            return () => pooled(rep);
          },
          extras: { shape: c.shape, ...(c.timed === undefined ? {} : { timed: c.timed }), threads: be.threads, backend: be.name },
        };
      });
      const failed = await runCases(specs, options.reps, DEFAULT_POLICY, emit);
      if (failed.length > 0) throw new Error(`cases failed on our side: ${failed.join(', ')}`);
    } finally {
      await torch.close();
    }
  },
};
