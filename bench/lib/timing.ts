/**
 * Timing of one side of a case. Both sides follow the same policy (the PyTorch peer receives it in each request
 * and mirrors this code), so neither gets more warm-up or a different statistic than the other.
 */
import { performance } from 'node:perf_hooks';
import type { Metric, Stat } from './types.ts';

export interface TimingPolicy {
  /** Warm up for at least this long (and at least WARMUP_RUNS runs): JIT, page faults, thread-pool start, caches. */
  warmupMs: number;
  /** Adaptive reps aim at this much measured time per side, so a case takes ~0.5–3 s per side. */
  targetMs: number;
  minReps: number;
  maxReps: number;
}

/** minReps is small so a pathologically slow side (seconds per rep) still ends in reasonable time. */
export const DEFAULT_POLICY: TimingPolicy = { warmupMs: 200, targetMs: 1000, minReps: 3, maxReps: 10000 };

export interface Timing {
  reps: number;
  bestMs: number;
  medianMs: number;
  /** Wall time of the whole measurement, warm-up included (used to size the peer's timeout). */
  wallMs: number;
}

/**
 * Warm-up runs at the least, whatever warmupMs says. With one, a first call slower than warmupMs ended the warm-up
 * and set the rep count: torch's first layer_norm forward + backward takes 470 ms (later ones 4–8 ms), so that case
 * got 3 reps, the first of them still warming up, and a median of 4.2–7.8 ms from run to run.
 */
export const WARMUP_RUNS = 3;

/** Runs `fn` after a warm-up, `fixedReps` times or enough times to fill the policy's target. */
export function measure(fn: () => void, policy: TimingPolicy, fixedReps: number | null): Timing {
  const start = performance.now();
  let lastMs = 0;
  let runs = 0;
  do {
    const t = performance.now();
    fn();
    lastMs = performance.now() - t;
    runs++;
  } while (performance.now() - start < policy.warmupMs || runs < WARMUP_RUNS);
  const reps = fixedReps ?? adaptiveReps(lastMs, policy);
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { reps, bestMs: times[0]!, medianMs: median(times), wallMs: performance.now() - start };
}

function adaptiveReps(estimateMs: number, policy: TimingPolicy): number {
  const wanted = Math.ceil(policy.targetMs / Math.max(estimateMs, 1e-3));
  return Math.min(policy.maxReps, Math.max(policy.minReps, wanted));
}

/** The median of xs (the mean of the middle two for an even count); xs need not be sorted. */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A timing in the case's metric: `ms` is the chosen statistic itself; a throughput is `work` units (flops for
 * gflops, bytes for gb/s, tokens for tokens/s) per second of that statistic, scaled to giga for flops and bytes.
 */
export function toMetric(timing: Timing, stat: Stat, metric: Metric, work: number): number {
  const ms = stat === 'best' ? timing.bestMs : timing.medianMs;
  if (metric === 'ms') return ms;
  const perSecond = work / (ms / 1000);
  // Rates per second as they are; only gflops and gb/s count work in units of 1e9.
  return metric === 'gflops' || metric === 'gb/s' ? perSecond / 1e9 : perSecond;
}
