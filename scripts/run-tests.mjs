#!/usr/bin/env node
// Runs the type checker, then every *.test.ts under test/ with Node's test runner (Node 20 does not expand
// globs itself). Extra arguments are passed through, e.g. `npm test -- --test-name-pattern=matmul`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));
const flags = args.filter((a) => a.startsWith('--'));

if (only.length === 0) {
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit'], { stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('type check failed');
    process.exit(tsc.status ?? 1);
  }
}

// The files that run whole jobs (tens of seconds each, measured) go first: two lanes of files then end together,
// where in name order the workflow suites came last and the suite ended on one of them with the other lane idle.
// A name missing here only costs that balance.
const LONG_FIRST = [
  'test/workflow/end-to-end.test.ts', 'test/models/forget-quality.test.ts', 'test/cli/unlearn-command.test.ts', 'test/workflow/crash.test.ts',
  'test/workflow/distributed.test.ts', 'test/cli/train-command.test.ts', 'test/workflow/artifacts.test.ts', 'test/fuzz/fuzz.test.ts',
  'test/cli/workflow-commands.test.ts', 'test/cli/model-commands.test.ts', 'test/workflow/sisa-parallel.test.ts', 'test/cli/serve.test.ts',
];
const rank = (f) => (LONG_FIRST.includes(f) ? LONG_FIRST.indexOf(f) : LONG_FIRST.length);
const files = only.length > 0 ? only : findTests('test').sort((a, b) => rank(a) - rank(b));
// Without a database the PostgreSQL suites are left out; say so once, not once per test file.
if (!process.env.LETHE_TEST_PG && files.some((f) => existsSync(f) && /\bLETHE_TEST_PG\b|stores\.ts/.test(readFileSync(f, 'utf8')))) {
  console.log('PostgreSQL suites skipped: LETHE_TEST_PG is not set (run them with LETHE_TEST_PG=postgres://… npm test, a server where that user may create databases, or with .ci/run, which starts a throwaway cluster)');
}
// Two test files at a time (Node 20's default is one less than the cores: one file on a 2-core machine): most
// files wait on child processes, the file system or single-threaded JavaScript, so two overlap well.
const concurrency = flags.some((f) => f.startsWith('--test-concurrency')) ? [] : ['--test-concurrency=2'];
// One kernel thread per test process unless LETHE_THREADS says otherwise: the two files at a time are the
// parallelism, and a second kernel thread per file only spins against the other file's work (the suite ran in
// 296 s with two threads each, 266 s with one, on a 2-core machine). Tests of the thread pool set their own counts.
const env = { ...process.env, LETHE_THREADS: process.env.LETHE_THREADS ?? '1' };
const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...concurrency, ...flags, ...files], { stdio: 'inherit', env });
process.exit(run.status ?? 1);
