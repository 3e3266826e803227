/** Shared types of the benchmark harness: metrics, output lines, peer outcomes, suites. */

/**
 * Units a case reports in. Throughputs (`steps/s`: optimizer steps of a whole job) are higher-is-better; `ms` (wall time per rep), `mb` (peak memory) and
 * `forget-prob` (how likely a model still finds the answers it was asked to forget) are lower-is-better. `steps`
 * (fine-tuning steps an attacker needs to bring a removed domain back) and `bars-met` (how many bars of true forgetting a
 * model meets, src/eval/goals.ts) are higher-is-better.
 */
export type Metric = 'gflops' | 'gb/s' | 'tokens/s' | 'steps/s' | 'req/s' | 'jobs/s' | 'ms' | 'mb' | 'forget-prob' | 'recovered' | 'steps' | 'bars-met';

export function higherIsBetter(metric: Metric): boolean {
  return metric !== 'ms' && metric !== 'mb' && metric !== 'forget-prob' && metric !== 'recovered';
}

/** Which statistic of the per-rep times a case reports (both sides of a comparison use the same one). */
export type Stat = 'best' | 'median';

/** Extra, informative fields that follow the fixed ones on an output line. */
export type ExtraValue = string | number | boolean | null;

/**
 * One stdout line. The first seven fields are fixed, in this order; `peer_note` follows only when the peer had no
 * value; other fields may follow, `peer_version` (the peer's stack, null when unknown) among them.
 */
export interface ResultLine {
  suite: string;
  case: string;
  metric: Metric;
  value: number;
  peer: string;
  peer_value: number | null;
  ratio: number | null;
  peer_note?: string;
  peer_version?: string | null;
  [extra: string]: ExtraValue | undefined;
}

/**
 * A peer's answer for one case: a value in the case's metric, or why there is none. `version` names the peer's
 * stack (e.g. "torch 2.13.0+cpu") wherever it is known, failures included; lines carry it as `peer_version`.
 */
export type PeerOutcome =
  | { ok: true; value: number; reps: number; threads: number | null; version?: string }
  | { ok: false; note: string; version?: string };

/** What the command line asks of a suite. */
export interface SuiteOptions {
  /** Fixed repetitions per side; null chooses them adaptively. */
  reps: number | null;
  /** The cases to run, already validated against the suite's list; empty means all. */
  cases: readonly string[];
  /** False with --no-peer: no peer is started and every line carries a note instead. */
  peers: boolean;
}

export interface Suite {
  readonly name: string;
  readonly description: string;
  readonly cases: readonly string[];
  /** Runs the selected cases, passing each line to `emit`; resolves once every peer it started is closed. */
  run(options: SuiteOptions, emit: (line: ResultLine) => void): Promise<void>;
}
