/**
 * The tfjs-wasm GEMM peer, in-process: @tensorflow/tfjs-core on @tensorflow/tfjs-backend-wasm, loaded from the
 * local node_modules (setWasmPaths) so nothing is downloaded. In Node the wasm backend runs single-threaded
 * (no cross-origin-isolated SharedArrayBuffer workers), which each line reports as peer_threads.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { measure, toMetric, type Timing, type TimingPolicy } from '../lib/timing.ts';
import type { PeerOutcome, Stat } from '../lib/types.ts';

export interface GemmShape {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

export interface TfjsPeer {
  /** GFLOP/s of op(A)·op(B) under `stat` of the per-rep times, timed by the same policy as ours. */
  gemm(shape: GemmShape, stat: Stat, reps: number | null, policy: TimingPolicy): PeerOutcome;
}

type Tf = typeof import('@tensorflow/tfjs-core');

/** Initialises the wasm backend once; a failure becomes a peer that answers every case with the reason. */
export async function openTfjsPeer(): Promise<TfjsPeer> {
  let tf: Tf;
  let threads: number;
  try {
    tf = await import('@tensorflow/tfjs-core');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    // The trailing slash matters: tfjs appends the .wasm file names to this prefix.
    wasm.setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    await tf.ready();
    threads = wasm.getThreadsCount();
  } catch (err) {
    const note = `tfjs-wasm backend failed to initialise: ${(err as Error).message}`;
    return { gemm: () => ({ ok: false, note }) };
  }
  return { gemm: (shape, stat, reps, policy) => gemm(tf, threads, shape, stat, reps, policy) };
}

function gemm(tf: Tf, threads: number, s: GemmShape, stat: Stat, reps: number | null, policy: TimingPolicy):
  PeerOutcome {
  // Operands stored as our transA/transB operands are; tf.matMul's transpose flags read them the same way.
  const a = tf.randomNormal(s.transA ? [s.k, s.m] : [s.m, s.k], 0, 1, 'float32', 1);
  const b = tf.randomNormal(s.transB ? [s.n, s.k] : [s.k, s.n], 0, 1, 'float32', 2);
  try {
    const timing: Timing = measure(() => {
      const c = tf.matMul(a, b, s.transA, s.transB);
      c.dataSync(); // forces completion (and is what a caller reading the result pays)
      c.dispose();
    }, policy, reps);
    return { ok: true, value: toMetric(timing, stat, 'gflops', 2 * s.m * s.n * s.k), reps: timing.reps, threads };
  } catch (err) {
    return { ok: false, note: `tfjs-wasm matMul failed: ${(err as Error).message}` };
  } finally {
    a.dispose();
    b.dispose();
  }
}
