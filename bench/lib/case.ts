/**
 * Runs one case the same way for every suite: measure ours, then ask each peer in turn (so the two sides run
 * back to back under the same machine conditions), and emit one line per peer.
 */
import { makeLine } from './report.ts';
import { measure, toMetric, type Timing, type TimingPolicy } from './timing.ts';
import type { ExtraValue, Metric, PeerOutcome, ResultLine, Stat } from './types.ts';

export interface PeerJob {
  peer: string;
  /** Measures the peer's side; gets our timing so it can size its timeout. */
  measure: (ours: Timing) => Promise<PeerOutcome>;
}

export interface CaseSpec {
  suite: string;
  name: string;
  metric: Metric;
  stat: Stat;
  /** Work per rep for throughput metrics (flops, bytes or tokens); ignored for `ms`. */
  work: number;
  /** Builds the inputs once and returns what one rep runs. */
  setup: () => () => void;
  peers: readonly PeerJob[];
  /** Informative fields for every line of this case (shape, threads, backend…). */
  extras: Readonly<Record<string, ExtraValue>>;
}

export async function runCase(spec: CaseSpec, reps: number | null, policy: TimingPolicy,
  emit: (line: ResultLine) => void): Promise<void> {
  const rep = spec.setup();
  const ours = measure(rep, policy, reps);
  const value = toMetric(ours, spec.stat, spec.metric, spec.work);
  const progress = [`${spec.suite}/${spec.name}: ours ${fmt(value)} ${spec.metric} (${ours.reps} reps)`];
  for (const job of spec.peers) {
    const outcome = await job.measure(ours);
    progress.push(outcome.ok ? `${job.peer} ${fmt(outcome.value)} (${outcome.reps} reps)` : `${job.peer} n/a`);
    const line = makeLine({
      suite: spec.suite, caseName: spec.name, metric: spec.metric, value, peer: job.peer, outcome,
      extras: { ...spec.extras, stat: spec.stat, reps: ours.reps },
    });
    line.peer_version = outcome.version ?? null;
    emit(line);
  }
  process.stderr.write(`${progress.join(' | ')}\n`);
}

function fmt(x: number): string {
  return x.toPrecision(4);
}

/**
 * Runs cases in order. A case that fails on our side is reported on stderr and skipped, so one broken op does
 * not hide the others' numbers; the names of the failed cases come back for the exit status.
 */
export async function runCases(specs: readonly CaseSpec[], reps: number | null, policy: TimingPolicy,
  emit: (line: ResultLine) => void): Promise<string[]> {
  const failed: string[] = [];
  for (const spec of specs) {
    try {
      await runCase(spec, reps, policy, emit);
    } catch (err) {
      failed.push(spec.name);
      process.stderr.write(`${spec.suite}/${spec.name}: FAILED: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    }
  }
  return failed;
}
