/**
 * A caching allocator for the host backends' op outputs and gradients. A training or unlearning step allocates
 * hundreds of activation and gradient buffers and drops them all when the step ends; left to the garbage
 * collector, that was ~13% of a step (allocation, zeroing fresh pages, and collections forced by the external
 * memory). Inside `pooled(fn)` every buffer the backend allocates is taken from free lists and handed back when
 * fn returns (a gradient as soon as backward has passed it on), so the next step reuses the same memory.
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
/**
 * The most a scope holds from the pool at once (LETHE_POOL_MB; default: no limit). Inside a scope memory comes back
 * only when the scope ends (gradients earlier), where the garbage collector would free activations and temporaries
 * as they die; past the budget, buffers are plain allocations again, so a budget bounds what the pool adds to peak
 * memory — at a price: on the embedded NPO step a 256 MiB budget was slower than no pool at all.
 */
let budgetBytes = poolBudget(process.env['LETHE_POOL_MB']);

function poolBudget(v: string | undefined): number {
  if (v === undefined || v === '') return Number.POSITIVE_INFINITY;
  const mb = Number(v);
  if (!(mb >= 0)) throw new Error(`LETHE_POOL_MB must be a number of MiB ≥ 0, got "${v}"`);
  return mb * 2 ** 20;
}
let poison = process.env['LETHE_POOL_CHECK'] === '1';
let depth = 0;
/** Backing arrays (full class size) handed out in the current outermost scope, by their memory. */
let handed = new Map<ArrayBufferLike, Float32Array>();
/** Free backing arrays by class size (in elements, see classOf). */
const free = new Map<number, Float32Array[]>();
/**
 * Per class size, how many buffers the current outermost scope holds now and the most it held at once: what it ends
 * by keeping (see release).
 */
let inUseByClass = new Map<number, number>();
let peakByClass = new Map<number, number>();
/**
 * peakByClass of the last RECENT_SCOPES outermost scopes, oldest first. A step of an unlearning run is four scopes
 * (the forget pass and three retain chunks, each with its own mix of classes) and a guard check eight more: what
 * the free lists keep is what any of them held at once, class by class.
 */
const RECENT_SCOPES = 16;
/**
 * What the free lists may hold, as a multiple of the peak one scope held: consecutive scopes whose padded lengths
 * straddle a class boundary each need their own class, and without a cap their union cached up to twice the peak
 * (the main job's peak RSS 1.35 -> 1.46 GB). Past it, what the ending scope did not hold goes first.
 */
const KEEP_OVER_PEAK = 1.25;
const recentPeaks: Map<number, number>[] = [];
/** Open `transient` frames, innermost last: the backing arrays handed out while each ran. */
const frames: Float32Array[][] = [];
const stats = { fresh: 0, reused: 0, inUseBytes: 0, peakInUseBytes: 0, cachedBytes: 0 };

/** Power-of-two size classes: shapes that vary from step to step (padded lengths vary by ±15% on the persons data)
 * still land in the same class and reuse its buffers (finer classes made the main job 60% slower). */
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

function giveBack(buf: Float32Array): void {
  if (poison) buf.fill(Number.NaN);
  inUseByClass.set(buf.length, (inUseByClass.get(buf.length) ?? 1) - 1);
  const list = free.get(buf.length);
  if (list) list.push(buf);
  else free.set(buf.length, [buf]);
  stats.cachedBytes += buf.byteLength;
  stats.inUseBytes -= buf.byteLength;
}

/**
 * Returns one buffer before its scope ends, when its owner knows nothing reads it any more (backward does this
 * with each gradient once it has been passed on): a step's gradients then reuse each other's memory instead of
 * all living until the step ends. A buffer that is not one the current scope handed out is left alone.
 */
export function releaseEarly(buf: ArrayBufferView): void {
  const backing = handed.get(buf.buffer);
  if (!backing) return;
  handed.delete(buf.buffer);
  giveBack(backing);
}

/**
 * Runs fn inside a pooled scope and hands back, when it returns, every buffer it drew from the pool except those
 * backing `keep(result)` (they pass to the enclosing frame). For a stretch of work whose temporaries nothing reads
 * afterwards — one layer of a forward pass without a graph — this returns them at once rather than at the scope's
 * end, so a scope holds one layer's temporaries instead of all of them (an evaluation batch's pooled peak was every
 * layer's activations). The caller vouches that nothing else allocated in fn outlives it: with a graph recorded, the
 * tape reads the activations later, so callers use it only under noGrad. Outside a pooled scope, or with pooling
 * off, it just runs fn.
 */
export function transient<T>(fn: () => T, keep: (result: T) => readonly (ArrayBufferView | null)[]): T {
  if (!enabled || depth === 0) return fn();
  const frame: Float32Array[] = [];
  frames.push(frame);
  let result: T;
  try {
    result = fn();
  } finally {
    frames.pop();
  }
  const kept = new Set<ArrayBufferLike>(keep(result).flatMap((v) => (v ? [v.buffer] : [])));
  const parent = frames.at(-1);
  for (const buf of frame) {
    if (kept.has(buf.buffer)) parent?.push(buf);
    else if (handed.has(buf.buffer)) releaseEarly(buf);
  }
  return result;
}

function release(): void {
  for (const buf of handed.values()) giveBack(buf);
  handed = new Map();
  stats.inUseBytes = 0;
  // Keep, class by class, the most any of the recent scopes held at once, up to KEEP_OVER_PEAK times the peak:
  // shapes vary between steps (padded lengths), and classes that stopped recurring would otherwise pile up.
  // Eviction order, the largest class first at each stage: classes no recent scope drew; what recent scopes drew
  // beyond their most; past the cap, what this scope did not hold at once; then the rest.
  // Measured against the alternatives:
  // - keeping one peak scope's worth in bytes, largest classes out first, dropped the buffers the next scope needed
  //   when consecutive scopes drew different mixes (the tiny GPT-2 train step drew its two 32 MiB logit buffers
  //   fresh every step; NPO's steps 8-35 buffers each);
  // - past the cap, recent classes out largest first dropped a bench case's 256 MiB gradient every rep for 16 reps
  //   after the case before it (crossentropy-fwdbwd 78 -> 172 ms);
  // - dropping every buffer a scope did not use evicted a step's buffers at each evaluation batch (one scope each),
  //   and the main job ran slower.
  const current = peakByClass;
  recentPeaks.push(current);
  if (recentPeaks.length > RECENT_SCOPES) recentPeaks.shift();
  inUseByClass = new Map();
  peakByClass = new Map();
  const keep = new Map<number, number>();
  for (const peaks of recentPeaks) for (const [size, count] of peaks) keep.set(size, Math.max(keep.get(size) ?? 0, count));
  let keepBytes = 0;
  for (const [size, count] of keep) keepBytes += size * 4 * count;
  const budget = Math.max(stats.peakInUseBytes, Math.min(keepBytes, KEEP_OVER_PEAK * stats.peakInUseBytes));
  if (stats.cachedBytes <= budget) return;
  const bySizeDown = (a: number, b: number): number => b - a;
  const stale = [...free.keys()].filter((size) => !keep.has(size)).sort(bySizeDown);
  const recent = [...keep.keys()].sort(bySizeDown);
  const stages = [
    [stale, () => 0],
    [recent, (size: number) => keep.get(size)!],
    // Past the cap: first what only earlier scopes drew, then what this one drew beyond its own most, then the rest.
    [recent, (size: number) => current.get(size) ?? 0],
    [recent, () => 0],
  ] as const;
  for (const [sizes, floor] of stages) {
    for (const size of sizes) {
      const list = free.get(size);
      if (!list) continue;
      while (list.length > floor(size) && stats.cachedBytes > budget) stats.cachedBytes -= list.pop()!.byteLength;
      if (list.length === 0) free.delete(size);
      if (stats.cachedBytes <= budget) return;
    }
  }
}

/**
 * An f32 buffer of n elements: from the pool inside a scope, else fresh (zeros). A reused buffer is zero-filled
 * unless `zero` is false (an output its kernel writes whole; it then holds old values, NaN under LETHE_POOL_CHECK).
 */
export function allocF32(n: number, zero = true): Float32Array {
  if (depth === 0 || n < MIN_POOLED) return new Float32Array(n);
  const size = classOf(n);
  if (stats.inUseBytes + size * 4 > budgetBytes) return new Float32Array(n);
  const held = (inUseByClass.get(size) ?? 0) + 1;
  inUseByClass.set(size, held);
  if (held > (peakByClass.get(size) ?? 0)) peakByClass.set(size, held);
  const list = free.get(size);
  const reused = list?.pop();
  const buf = reused ?? new Float32Array(size);
  if (reused) {
    stats.reused++;
    stats.cachedBytes -= buf.byteLength;
  } else {
    stats.fresh++;
  }
  handed.set(buf.buffer, buf);
  frames.at(-1)?.push(buf);
  stats.inUseBytes += buf.byteLength;
  if (stats.inUseBytes > stats.peakInUseBytes) stats.peakInUseBytes = stats.inUseBytes;
  const view = size === n ? buf : buf.subarray(0, n);
  // A reused buffer holds the last scope's values (or NaN under LETHE_POOL_CHECK); the contract is zeros.
  if (reused && zero) view.fill(0);
  return view;
}

export function poolStats(): PoolStats {
  return { enabled, ...stats };
}

/**
 * Drops the free lists (memory goes back to the garbage collector) and restarts the peak from what is in use now;
 * tests and benches start from here.
 */
export function clearPool(): void {
  dropFreeLists();
  stats.peakInUseBytes = stats.inUseBytes;
}

function dropFreeLists(): void {
  free.clear();
  recentPeaks.length = 0;
  stats.cachedBytes = 0;
}

/**
 * Runs a phase of work (a training or unlearning run, one model's evaluation) and then drops the free lists: what
 * the phase's steps cached fits its own shapes, and kept, it would sit unused under the next phase (a 430 MB
 * unlearning step's buffers through a whole verification). Inside an outer pooled scope it only runs fn.
 */
export function poolPhase<T>(fn: () => T): T {
  try {
    return fn();
  } finally {
    // The peak stays: it is what the phase measured (and what a later one may cache up to).
    if (depth === 0) dropFreeLists();
  }
}

/**
 * Turns pooling on or off for what follows (benches compare both in one process; tests run both), with `check`
 * the NaN fill of returned buffers (LETHE_POOL_CHECK) and with `budgetMb` the budget (LETHE_POOL_MB); returns the
 * previous setting.
 */
export function setPooling(on: boolean, options: { check?: boolean; budgetMb?: number } = {}): { on: boolean; check: boolean; budgetMb: number } {
  if (depth > 0) throw new Error('setPooling inside a pooled scope');
  const was = { on: enabled, check: poison, budgetMb: budgetBytes / 2 ** 20 };
  enabled = on;
  if (options.check !== undefined) poison = options.check;
  if (options.budgetMb !== undefined) budgetBytes = poolBudget(String(options.budgetMb));
  clearPool();
  return was;
}
