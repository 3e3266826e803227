/** Command-line parsing and validation for bench/run.ts; every mistake becomes a UsageError with a clear message. */
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export const USAGE = `usage: npm run bench -- [<suite>] [--case NAME]... [--reps N] [--no-peer]
  <suite>      suite to run; without one, the suites and their cases are listed
  --case NAME  run only this case (repeat the flag or separate names with commas)
  --reps N     exactly N timed repetitions per side (default: adaptive, about 1 s per side)
  --no-peer    do not start peers; lines carry peer_value null and a peer_note`;

export interface CliArgs {
  suite: string | null;
  cases: string[];
  reps: number | null;
  peers: boolean;
  help: boolean;
}

export function parseCli(argv: readonly string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        case: { type: 'string', multiple: true },
        reps: { type: 'string' },
        'no-peer': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`expected at most one suite, got: ${positionals.join(' ')}`);
  return {
    suite: positionals[0] ?? null,
    cases: (values.case ?? []).flatMap((c) => c.split(',')).map((c) => c.trim()).filter((c) => c !== ''),
    reps: values.reps === undefined ? null : parseReps(values.reps),
    peers: !(values['no-peer'] ?? false),
    help: values.help ?? false,
  };
}

function parseReps(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--reps must be a positive integer, got "${text}"`);
  }
  return n;
}

/** Every requested case must exist in the suite; the error lists the valid ones. */
export function checkCases(suite: string, requested: readonly string[], known: readonly string[]): void {
  const unknown = requested.filter((c) => !known.includes(c));
  if (unknown.length > 0) {
    throw new UsageError(`unknown case${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in suite ${suite}; cases: ${known.join(', ')}`);
  }
}
