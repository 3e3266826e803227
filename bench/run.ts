/**
 * Benchmark entry point: `npm run bench -- <suite> [--case NAME] [--reps N] [--no-peer]`.
 * Results go to stdout as one JSON object per line; progress and diagnostics go to stderr, so stdout can be
 * piped straight into a file or jq. Exit status: 0 all cases ran, 1 a case or suite failed, 2 usage error.
 */
import { loadavg } from 'node:os';
import { checkCases, parseCli, UsageError, USAGE } from './lib/cli.ts';
import type { ResultLine } from './lib/types.ts';
import { SUITES } from './suites/index.ts';

async function listSuites(): Promise<void> {
  process.stdout.write(`${USAGE}\n\nsuites:\n`);
  for (const [name, loadSuite] of Object.entries(SUITES)) {
    const suite = await loadSuite();
    process.stdout.write(`  ${name}  ${suite.description}\n    cases: ${suite.cases.join(', ')}\n`);
  }
}

async function main(): Promise<number> {
  const args = parseCli(process.argv.slice(2));
  if (args.help || args.suite === null) {
    await listSuites();
    return 0;
  }
  const loadSuite = SUITES[args.suite];
  if (!loadSuite) throw new UsageError(`unknown suite "${args.suite}"; suites: ${Object.keys(SUITES).join(', ')}`);
  const suite = await loadSuite();
  checkCases(suite.name, args.cases, suite.cases);
  // Timings on a busy machine are not comparable run to run; say so up front rather than in the numbers.
  const busy = loadavg()[0]!;
  if (busy > 0.5) process.stderr.write(`bench: warning: the machine is busy (1-min load average ${busy.toFixed(2)}); timings will be noisy\n`);
  const emit = (line: ResultLine): void => {
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  await suite.run({ reps: args.reps, cases: args.cases, peers: args.peers }, emit);
  return 0;
}

// A reader that stops early (`| head`) closes stdout: stop quietly; the exit hook still kills the peers.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

main().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
