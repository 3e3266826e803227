// Runs fuzz cases in child processes (test/fuzz/worker.ts) and counts outcomes. A case that kills its process
// (V8 abort, out of memory, any exit before reporting) is a crash; one that runs past the per-case bound is a hang.
// After either, a fresh worker continues with the next case.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Kind, Outcome } from './cases.ts';

export type Result = Outcome | 'crash' | 'hang';
export const RESULTS: readonly Result[] = ['clean-error', 'accepted-equal', 'corrupt-accepted', 'false-rejection', 'unclean-error', 'crash', 'hang'];

export interface Failure {
  kind: Kind;
  seed: number;
  index: number;
  result: Result;
  what: string;
  detail: string;
}

export interface CampaignReport {
  cases: number;
  counts: Record<Result, number>;
  failures: Failure[];
  slowestMs: number;
  /** Which case took slowestMs, as `kind #index (mutations)`. */
  slowestCase: string;
}

export interface CampaignOptions {
  kind: Kind;
  seed: number;
  start?: number;
  count: number;
  /** A case running longer than this is a hang (the whole worker is killed). */
  caseTimeoutMs?: number;
  /** Heap of each worker: small enough that a runaway allocation aborts instead of swapping. */
  maxOldSpaceMb?: number;
}

const WORKER = new URL('./worker.ts', import.meta.url).pathname;
const GOOD: readonly Result[] = ['clean-error', 'accepted-equal'];

/** Runs one worker from `start`; resolves with the index it stopped at and why. */
function runWorker(o: Required<CampaignOptions>, start: number, end: number, dir: string, report: CampaignReport): Promise<{ next: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${o.maxOldSpaceMb}`, '--import', 'tsx', WORKER, o.kind, String(o.seed), String(start), String(end - start), dir], {
      // Accepted configs stay small enough to size-check quickly, and the result does not depend on this machine's memory.
      env: { ...process.env, LETHE_MAX_PARAMS: '200000000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let next = start;
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    let hung = false;
    // The first case also pays for the worker's start-up (tsx, imports).
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, ms);
    };
    arm(o.caseTimeoutMs + 15_000);
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const r = JSON.parse(line) as { i: number; outcome: Result; detail: string; what: string; ms: number };
      report.cases++;
      report.counts[r.outcome]++;
      if (r.ms > report.slowestMs) {
        report.slowestMs = r.ms;
        report.slowestCase = `${o.kind} #${r.i} (${r.what})`;
      }
      if (!GOOD.includes(r.outcome)) report.failures.push({ kind: o.kind, seed: o.seed, index: r.i, result: r.outcome, what: r.what, detail: r.detail });
      next = r.i + 1;
      arm(o.caseTimeoutMs);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (next < end) {
        const result: Result = hung ? 'hang' : 'crash';
        report.cases++;
        report.counts[result]++;
        report.failures.push({ kind: o.kind, seed: o.seed, index: next, result, what: '', detail: hung ? `over ${o.caseTimeoutMs} ms` : `exit ${code} ${signal ?? ''}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
        next++;
      }
      resolve({ next });
    });
  });
}

/** Runs `count` cases of one kind, restarting the worker after a crash or hang. */
export async function runCampaign(options: CampaignOptions): Promise<CampaignReport> {
  const o: Required<CampaignOptions> = { start: 0, caseTimeoutMs: 10_000, maxOldSpaceMb: 1024, ...options };
  const report: CampaignReport = { cases: 0, counts: Object.fromEntries(RESULTS.map((r) => [r, 0])) as Record<Result, number>, failures: [], slowestMs: 0, slowestCase: '' };
  const dir = mkdtempSync(join(tmpdir(), `lethe-fuzz-${o.kind}-`));
  try {
    const end = o.start + o.count;
    let at = o.start;
    while (at < end) at = (await runWorker(o, at, end, join(dir, 'case'), report)).next;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

/** Adds reports up. */
export function mergeReports(reports: readonly CampaignReport[]): CampaignReport {
  const total: CampaignReport = { cases: 0, counts: Object.fromEntries(RESULTS.map((r) => [r, 0])) as Record<Result, number>, failures: [], slowestMs: 0, slowestCase: '' };
  for (const r of reports) {
    total.cases += r.cases;
    for (const k of RESULTS) total.counts[k] += r.counts[k];
    total.failures.push(...r.failures);
    if (r.slowestMs > total.slowestMs) {
      total.slowestMs = r.slowestMs;
      total.slowestCase = r.slowestCase;
    }
  }
  return total;
}
