/** Builds output lines with the fixed field order, the ratio convention and readable rounding. */
import { higherIsBetter, type ExtraValue, type Metric, type PeerOutcome, type ResultLine } from './types.ts';

/** Four significant digits: run-to-run noise is larger than that anyway. */
export function round(x: number): number {
  return Number(x.toPrecision(4));
}

/** > 1 always means "we are faster", whatever the metric's direction. */
export function ratioOf(metric: Metric, value: number, peerValue: number): number {
  return higherIsBetter(metric) ? value / peerValue : peerValue / value;
}

export interface LineParts {
  suite: string;
  caseName: string;
  metric: Metric;
  value: number;
  peer: string;
  outcome: PeerOutcome;
  /** Appended after the fixed fields, in insertion order. */
  extras: Readonly<Record<string, ExtraValue>>;
}

export function makeLine(p: LineParts): ResultLine {
  // Insertion order is JSON order, so the object is built field by field.
  const line: ResultLine = {
    suite: p.suite,
    case: p.caseName,
    metric: p.metric,
    value: round(p.value),
    peer: p.peer,
    peer_value: p.outcome.ok ? round(p.outcome.value) : null,
    ratio: p.outcome.ok ? round(ratioOf(p.metric, p.value, p.outcome.value)) : null,
  };
  if (!p.outcome.ok) line.peer_note = p.outcome.note;
  for (const [k, v] of Object.entries(p.extras)) line[k] = v;
  if (p.outcome.ok) {
    line['peer_reps'] = p.outcome.reps;
    line['peer_threads'] = p.outcome.threads;
  }
  return line;
}
