/**
 * A caching allocator for the host backends' op outputs and gradients. A training or unlearning step allocates
 * hundreds of activation and gradient buffers and drops them all when the step ends; left to the garbage
 * collector, that was ~13% of a step (allocation, zeroing fresh pages, and collections forced by the external
 * memory). Inside `pooled(fn)` every buffer the backend allocates is taken from free lists and handed back when
 * fn returns, so the next step reuses the same memory.
 *
 * The contract: nothing allocated inside a pooled scope may be used after it returns — read what you need (a
 * loss value, copied gradients) inside. Parameters, optimizer state and model-owned gradient storage are
 * allocated outside any scope and never pooled. `LETHE_POOL=0` turns pooling off (every buffer fresh, as before);
 * results are bit-identical either way. `LETHE_POOL_CHECK=1` fills returned buffers with NaN so that a use
 * after the scope shows up as a non-finite value instead of silently reading another op's data.
 */

/** Buffers this small come from V8's own heap quickly; pooling them costs more than it saves. */
const MIN_POOLED = 1024;

export interface PoolStats {
  enabled: boolean;
  /** Buffers allocated fresh / handed out again from the free lists. */
  fresh: number;
  reused: number;
  /** Bytes handed out inside the current scope, and the most ever handed out in one scope. */
  inUseBytes: number;
  peakInUseBytes: number;
  /** Bytes held in the free lists between scopes. */
  cachedBytes: number;
}

let enabled = process.env['LETHE_POOL'] !== '0';
let poison = process.env['LETHE_POOL_CHECK'] === '1';
let depth = 0;
/** Backing arrays (full class size) handed out in the current outermost scope. */
let handed: Float32Array[] = [];
/** Free backing arrays by class size (a power of two, in elements). */
const free = new Map<number, Float32Array[]>();
const stats = { fresh: 0, reused: 0, inUseBytes: 0, peakInUseBytes: 0, cachedBytes: 0 };

function classOf(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

/**
 * Runs fn with the backend's allocations drawn from the pool; every buffer allocated inside is returned when fn
 * ends (normally or by an exception). Nested scopes join the outermost one.
 */
export function pooled<T>(fn: () => T): T {
  if (!enabled) return fn();
  depth++;
  try {
    return fn();
  } finally {
    depth--;
    if (depth === 0) release();
  }
}

function release(): void {
  for (const buf of handed) {
    if (poison) buf.fill(Number.NaN);
    const list = free.get(buf.length);
    if (list) list.push(buf);
    else free.set(buf.length, [buf]);
    stats.cachedBytes += buf.byteLength;
  }
  handed = [];
  stats.inUseBytes = 0;
  // Keep at most one peak scope's worth: shapes vary between steps (padded lengths), and classes that stopped
  // recurring would otherwise pile up. The largest classes go first.
  if (stats.cachedBytes > stats.peakInUseBytes) {
    for (const size of [...free.keys()].sort((a, b) => b - a)) {
      const list = free.get(size)!;
      while (list.length > 0 && stats.cachedBytes > stats.peakInUseBytes) stats.cachedBytes -= list.pop()!.byteLength;
      if (list.length === 0) free.delete(size);
      if (stats.cachedBytes <= stats.peakInUseBytes) break;
    }
  }
}

/** A zero-filled f32 buffer of n elements: from the pool inside a scope, else fresh. */
export function allocF32(n: number): Float32Array {
  if (depth === 0 || n < MIN_POOLED) return new Float32Array(n);
  const size = classOf(n);
  const list = free.get(size);
  const reused = list?.pop();
  const buf = reused ?? new Float32Array(size);
  if (reused) {
    stats.reused++;
    stats.cachedBytes -= buf.byteLength;
  } else {
    stats.fresh++;
  }
  handed.push(buf);
  stats.inUseBytes += buf.byteLength;
  if (stats.inUseBytes > stats.peakInUseBytes) stats.peakInUseBytes = stats.inUseBytes;
  const view = size === n ? buf : buf.subarray(0, n);
  // A reused buffer holds the last scope's values (or NaN under LETHE_POOL_CHECK); the contract is zeros.
  if (reused) view.fill(0);
  return view;
}

export function poolStats(): PoolStats {
  return { enabled, ...stats };
}

/** Drops the free lists (memory goes back to the garbage collector); tests and benches start from here. */
export function clearPool(): void {
  free.clear();
  stats.cachedBytes = 0;
}

/**
 * Turns pooling on or off for what follows (benches compare both in one process; tests run both), and with
 * `check` the NaN fill of returned buffers (LETHE_POOL_CHECK); returns the previous setting.
 */
export function setPooling(on: boolean, options: { check?: boolean } = {}): { on: boolean; check: boolean } {
  if (depth > 0) throw new Error('setPooling inside a pooled scope');
  const was = { on: enabled, check: poison };
  enabled = on;
  if (options.check !== undefined) poison = options.check;
  clearPool();
  return was;
}
