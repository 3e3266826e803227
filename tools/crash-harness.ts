/**
 * Crash harness for the erasure workflow (issue 15): files requests, then runs `lethe worker` processes and kills
 * them with SIGKILL at random moments across the requests' lives (assessment, unlearning, saving, between steps),
 * starting a new worker after each kill, until every request is completed. Then it checks that every request was
 * completed exactly once: one output model each, every transition in the history once, every job step recorded
 * once, nothing half-written left in the outputs.
 *
 *   npx tsx tools/crash-harness.ts --requests 3 --kills 20        (prints the counts as JSON)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../src/engine/random.ts';
import { listJobs } from '../src/workflow/jobs/queue.ts';
import { approveRequest, createRequest, listRequests, requestHistory } from '../src/workflow/requests/service.ts';
import { openStore } from '../src/workflow/store/open-store.ts';

export interface CrashOptions {
  requests: number;
  kills: number;
  /** A kill lands this long after the worker starts, uniformly (ms). */
  minDelayMs: number;
  maxDelayMs: number;
  leaseSeconds: number;
  seed: number;
  model: string;
  /** Writes the corpus (QA records naming `names`) and returns its path. */
  corpus: (dir: string) => string;
  names: readonly string[];
}

export interface CrashReport {
  kills: number;
  /** Where the kills landed (the job running then, and its steps already recorded). */
  killedDuring: Record<string, number>;
  workersStarted: number;
  requests: number;
  completed: number;
  outputModels: number;
  duplicateTransitions: number;
  duplicateSteps: number;
  jobAttempts: number;
  leftovers: string[];
  wallSeconds: number;
}

const EXPECTED = ['received', 'pending_approval', 'approved', 'assessing', 'queued', 'erasing', 'verifying', 'completed'];

function runWorker(dataDir: string, lease: number, killAfterMs: number | null): Promise<'killed' | 'exited'> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['bin/lethe.mjs', 'worker', '--once', '--lease', String(lease), '--data-dir', dataDir], { stdio: 'ignore' });
    let killed = false;
    const timer = killAfterMs === null ? null : setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    child.on('exit', () => {
      if (timer) clearTimeout(timer);
      resolvePromise(killed ? 'killed' : 'exited');
    });
  });
}

/** What a killed worker was doing: the running job's kind and its last recorded step, or "between jobs". */
async function runningWork(dataDir: string): Promise<string> {
  const s = await openStore({ dataDir });
  try {
    const running = (await listJobs(s)).filter((j) => j.state === 'running');
    if (running.length === 0) return 'between jobs (start-up, claim or exit)';
    const j = running[0]!;
    const steps = await s.db.selectFrom('job_steps').select('step').where('job_id', '=', j.id).execute();
    return `${j.kind}${steps.length > 0 ? ` after step ${steps.map((x) => x.step).join('+')}` : j.kind === 'erase' ? ' before its data step' : ''}`;
  } finally {
    await s.close();
  }
}

export async function crashRun(o: CrashOptions): Promise<CrashReport> {
  const started = performance.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'lethe-crash-'));
  const store = await openStore({ dataDir });
  const env = { store, dataDir };
  const corpus = o.corpus(join(dataDir, 'data'));
  for (let i = 0; i < o.requests; i++) {
    const { request } = await createRequest(env, {
      subject: { names: [o.names[i % o.names.length]!] }, scope: { models: [o.model], corpora: [corpus] }, legalGround: 'a', requester: 'harness', identityVerified: true,
    }, 'harness');
    await approveRequest(env, request.id, 'harness');
  }
  await store.close();
  const rng = new Rng(o.seed);
  let kills = 0;
  let workersStarted = 0;
  const killedDuring: Record<string, number> = {};
  const open = async () => {
    const s = await openStore({ dataDir });
    const rs = await listRequests({ store: s });
    await s.close();
    return rs.filter((r) => r.state !== 'completed').length;
  };
  while ((await open()) > 0) {
    workersStarted++;
    const delay = kills < o.kills ? o.minDelayMs + rng.uniform() * (o.maxDelayMs - o.minDelayMs) : null;
    const how = await runWorker(dataDir, o.leaseSeconds, delay);
    if (how === 'killed') {
      kills++;
      killedDuring[await runningWork(dataDir)] = (killedDuring[await runningWork(dataDir)] ?? 0) + 1;
      // A killed worker's lease must run out before another can take its job.
      await new Promise((r) => setTimeout(r, o.leaseSeconds * 1000 + 100));
    }
    if (workersStarted > o.kills * 3 + 20) throw new Error('the requests do not complete: stopping the harness');
  }
  const s = await openStore({ dataDir });
  const rs = await listRequests({ store: s });
  let duplicateTransitions = 0;
  let outputModels = 0;
  const leftovers: string[] = [];
  for (const r of rs) {
    const h = (await requestHistory({ store: s }, r.id)).map((e) => e.to);
    if (JSON.stringify(h) !== JSON.stringify(EXPECTED)) duplicateTransitions += Math.max(1, h.length - EXPECTED.length);
    const dir = join(dataDir, 'artifacts', r.id);
    const outs = existsSync(dir) ? readdirSync(dir) : [];
    outputModels += outs.filter((d) => existsSync(join(dir, d, 'unlearn.json'))).length;
    leftovers.push(...outs.filter((d) => !existsSync(join(dir, d, 'unlearn.json'))).map((d) => join(r.id, d)));
  }
  const steps = await s.db.selectFrom('job_steps').select(['job_id', 'step']).execute();
  const duplicateSteps = steps.length - new Set(steps.map((x) => `${x.job_id}/${x.step}`)).size;
  const jobs = await listJobs(s);
  await s.close();
  return {
    kills, killedDuring, workersStarted, requests: rs.length, completed: rs.filter((r) => r.state === 'completed').length, outputModels,
    duplicateTransitions, duplicateSteps, jobAttempts: jobs.reduce((n, j) => n + j.attempts, 0), leftovers,
    wallSeconds: (performance.now() - started) / 1000,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '3' }, kills: { type: 'string', default: '20' }, seed: { type: 'string', default: '1' } } });
  const { writeCorpus, SUBJECT_NAMES, TINY_MODEL } = await import('../test/workflow/fixtures.ts');
  const report = await crashRun({
    requests: Number(values.requests), kills: Number(values.kills), minDelayMs: 1500, maxDelayMs: 6000, leaseSeconds: 1, seed: Number(values.seed),
    model: TINY_MODEL, corpus: writeCorpus, names: SUBJECT_NAMES,
  });
  console.log(JSON.stringify(report, null, 2));
}
