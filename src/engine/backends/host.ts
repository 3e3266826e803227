/**
 * What the host backends (the TS reference and the native addon) share: their storage is host memory, so a
 * handle is the Float32Array/Int32Array itself and every storage method is free (no copy, no allocation beyond
 * the buffer).
 */
import type { AttentionDims, Backend, GemmArgs, HostBackend } from '../backend.ts';
import { allocF32 } from '../pool.ts';

export type F32 = Float32Array;
export type I32 = Int32Array;
export type HostGemmArgs = GemmArgs<F32>;
export type HostAttentionDims = AttentionDims<I32>;

type StorageMethods = 'alloc' | 'allocOutput' | 'allocI32' | 'fromHost' | 'fromHostI32' | 'toHost' | 'toHostI32';

export const hostStorage: Pick<HostBackend, StorageMethods> = {
  // Op outputs and gradients: pooled inside `pooled()` scopes (see pool.ts), fresh otherwise.
  alloc: (n) => allocF32(n),
  allocOutput: (n) => allocF32(n, false),
  allocI32: (n) => new Int32Array(n),
  fromHost: (values) => values,
  fromHostI32: (values) => values,
  toHost: (buf) => buf,
  toHostI32: (buf) => buf,
};

/**
 * A host backend as the engine sees it, with opaque handles. This is the one place that says host handles are
 * typed arrays; everything above the backends goes through the storage methods.
 */
export function asBackend(host: HostBackend): Backend {
  return host as unknown as Backend;
}
