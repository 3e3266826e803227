#!/usr/bin/env node
// Runs the type checker, then every *.test.ts under test/ with Node's test runner (Node 20 does not expand
// globs itself). Extra arguments are passed through, e.g. `npm test -- --test-name-pattern=matmul`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

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
// Files that must have a process of their own: they set engine switches at import time, before the file before
// them in a group has run its tests.
const OWN_PROCESS = ['test/engine/pool.test.ts'];
const all = only.length > 0 ? only : findTests('test');
// Without a database the PostgreSQL suites are left out; say so once, not once per test file.
if (!process.env.LETHE_TEST_PG && all.some((f) => existsSync(f) && /\bLETHE_TEST_PG\b|stores\.ts/.test(readFileSync(f, 'utf8')))) {
  console.log('PostgreSQL suites skipped: LETHE_TEST_PG is not set (run them with LETHE_TEST_PG=postgres://… npm test, a server where that user may create databases, or with .ci/run, which starts a throwaway cluster)');
}
// Two test files at a time (Node 20's default is one less than the cores: one file on a 2-core machine): most
// files wait on child processes, the file system or single-threaded JavaScript, so two overlap well.
const concurrency = flags.some((f) => f.startsWith('--test-concurrency')) ? [] : ['--test-concurrency=2'];
// One kernel thread per test process unless LETHE_THREADS says otherwise: the two files at a time are the
// parallelism, and a second kernel thread per file only spins against the other file's work (the suite ran in
// 296 s with two threads each, 266 s with one, on a 2-core machine). Tests of the thread pool set their own counts.
const env = { ...process.env, LETHE_THREADS: process.env.LETHE_THREADS ?? '1' };
// The whole suite: the long files one process each, first; every other file in one of GROUPS processes that import
// several test files in turn, with a check between them (test/helpers/file-boundary.ts). A Node process with tsx
// costs about 1.3 s of CPU before a test runs; one per file was a third of the suite's CPU on a 2-core machine.
// Files named on the command line run one process each, as before.
const GROUPS = 12;
let groupDir = null;
let files = all;
if (only.length === 0) {
  const alone = all.filter((f) => LONG_FIRST.includes(f) || OWN_PROCESS.includes(f)).sort((a, b) => rank(a) - rank(b));
  const rest = all.filter((f) => !alone.includes(f));
  groupDir = mkdtempSync(join(tmpdir(), 'lethe-test-groups-'));
  const boundary = pathToFileURL(resolve('test/helpers/file-boundary.ts')).href;
  const groups = Array.from({ length: Math.min(GROUPS, rest.length) }, (_, g) => rest.filter((_, i) => i % GROUPS === g));
  files = [...alone, ...groups.map((group, g) => {
    const path = join(groupDir, `group-${String(g + 1).padStart(2, '0')}.test.mjs`);
    const lines = [`import { test } from 'node:test';`, `import { fileBoundary } from ${JSON.stringify(boundary)};`];
    for (const f of group) {
      lines.push(`await import(${JSON.stringify(pathToFileURL(resolve(f)).href)});`);
      lines.push(`test(${JSON.stringify(`file boundary after ${f}: no scope left open; engine switches reset`)}, () => fileBoundary(${JSON.stringify(f)}));`);
    }
    writeFileSync(path, lines.join('\n') + '\n');
    return path;
  })];
}
const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...concurrency, ...flags, ...files], { stdio: 'inherit', env });
if (groupDir) rmSync(groupDir, { recursive: true, force: true });
process.exit(run.status ?? 1);
