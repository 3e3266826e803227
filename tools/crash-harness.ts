/**
 * Crash harness for the erasure workflow (issue 15): files requests, then runs `lethe worker` processes and kills
 * them with SIGKILL at random moments across the requests' lives (assessment, unlearning, saving, between steps),
 * starting a new worker after each kill, until every request is completed. Then it checks that every request was
 * completed exactly once: one output model each, every transition in the history once, every job step recorded
 * once, nothing half-written left in the outputs.
 *
 *   npx tsx tools/crash-harness.ts --requests 3 --kills 20        (prints the counts as JSON)
 *   npx tsx tools/crash-harness.ts --persons --requests 2 --kills 20   (the embedded model: kills land mid-unlearning)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../src/engine/random.ts';
import { listJobs } from '../src/workflow/jobs/queue.ts';
import { approveRequest, createRequest, listRequests, requestHistory, retryRequest } from '../src/workflow/requests/service.ts';
import { openStore } from '../src/workflow/store/open-store.ts';

export interface CrashOptions {
  requests: number;
  kills: number;
  /** A kill lands this long after the worker's first claim, uniformly (ms). */
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
  /** Requests failed at the retry cap and sent back by the harness, as an operator would. */
  operatorRetries: number;
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
/** A retry in the history (failed at the cap, sent back by the operator) and what it collapses to. */
const RETRIES: readonly [string, string][] = [
  ['erasing,failed,queued,erasing', 'erasing'], ['queued,failed,queued', 'queued'],
  ['assessing,failed,assessing', 'assessing'], ['approved,failed,assessing', 'approved,assessing'],
];

/**
 * Starts a worker and, when `kill` is given, SIGKILLs it: `kill.afterClaim` ms after it claimed its first job (seen
 * in the store), or `kill.atStart` ms after it started — so kills land inside the work, not only in start-up.
 */
function runWorker(dataDir: string, lease: number, kill: { atStart: number } | { afterClaim: number } | null): Promise<'killed' | 'exited'> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['bin/lethe.mjs', 'worker', '--once', '--lease', String(lease), '--data-dir', dataDir], { stdio: 'ignore' });
    let killed = false;
    let exited = false;
    const killNow = () => {
      if (exited) return;
      killed = true;
      child.kill('SIGKILL');
    };
    if (kill && 'atStart' in kill) setTimeout(killNow, kill.atStart);
    else if (kill) {
      void (async () => {
        const start = (await progress(dataDir)).attempts;
        while (!exited && (await progress(dataDir)).attempts === start) await new Promise((r) => setTimeout(r, 50));
        if (!exited) setTimeout(killNow, kill.afterClaim);
      })();
    }
    child.on('exit', () => {
      exited = true;
      resolvePromise(killed ? 'killed' : 'exited');
    });
  });
}

/** Total attempts so far and the step rows: compared before and after a kill to say where the kill landed. */
async function progress(dataDir: string): Promise<{ attempts: number; steps: number }> {
  const s = await openStore({ dataDir });
  try {
    const jobs = await listJobs(s);
    const steps = await s.db.selectFrom('job_steps').select('step').execute();
    return { attempts: jobs.reduce((n, j) => n + j.attempts, 0), steps: steps.length };
  } finally {
    await s.close();
  }
}

/** What the killed worker was doing: the job it held (its kind and the steps it had recorded), or start-up. */
async function killedWork(dataDir: string, before: { attempts: number }): Promise<string> {
  const s = await openStore({ dataDir });
  try {
    const jobs = await listJobs(s);
    if (jobs.reduce((n, j) => n + j.attempts, 0) === before.attempts) return 'start-up (before its first claim)';
    const held = jobs.filter((j) => j.state === 'running').sort((a, b) => (b.updatedAt > a.updatedAt ? 1 : -1))[0];
    if (!held) return 'between jobs (after finishing one)';
    const steps = await s.db.selectFrom('job_steps').select('step').where('job_id', '=', held.id).execute();
    const done = steps.map((x) => x.step);
    if (held.kind !== 'erase') return held.kind;
    return done.length === 0 ? 'erase: writing the forget/retain sets' : done.some((d) => d.startsWith('unlearn')) ? 'erase: after unlearning, before finishing' : 'erase: unlearning or saving the model';
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
  // A job whose worker is killed on every attempt fails with its request at the retry cap (as a poison job should);
  // the harness then does what an operator does, `lethe request retry`, and counts it.
  let operatorRetries = 0;
  const open = async () => {
    const s = await openStore({ dataDir });
    const rs = await listRequests({ store: s });
    for (const r of rs.filter((x) => x.state === 'failed')) {
      await retryRequest({ store: s, dataDir }, r.id, 'harness-operator');
      operatorRetries++;
    }
    await s.close();
    return rs.filter((r) => r.state !== 'completed').length;
  };
  while ((await open()) > 0) {
    workersStarted++;
    // One kill in six lands in start-up; the others at a uniform time after the worker's first claim.
    const kill = kills >= o.kills ? null : rng.uniform() < 1 / 6 ? { atStart: rng.uniform() * 3000 } : { afterClaim: o.minDelayMs + rng.uniform() * (o.maxDelayMs - o.minDelayMs) };
    const before = await progress(dataDir);
    const how = await runWorker(dataDir, o.leaseSeconds, kill);
    if (how === 'killed') {
      kills++;
      const where = await killedWork(dataDir, before);
      killedDuring[where] = (killedDuring[where] ?? 0) + 1;
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
    // Collapse each operator retry, then compare with the one life a request has.
    let h = (await requestHistory({ store: s }, r.id)).map((e) => e.to).join(',');
    for (let again = true; again;) {
      again = false;
      for (const [from, to] of RETRIES) if (h.includes(from)) { h = h.replace(from, to); again = true; }
    }
    if (h !== EXPECTED.join(',')) duplicateTransitions += Math.max(1, h.split(',').length - EXPECTED.length);
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
    kills, killedDuring, workersStarted, operatorRetries, requests: rs.length, completed: rs.filter((r) => r.state === 'completed').length, outputModels,
    duplicateTransitions, duplicateSteps, jobAttempts: jobs.reduce((n, j) => n + j.attempts, 0), leftovers,
    wallSeconds: (performance.now() - started) / 1000,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: {
    requests: { type: 'string', default: '3' }, kills: { type: 'string', default: '20' }, seed: { type: 'string', default: '1' },
    // The embedded model and the persons corpus: unlearning takes long enough for kills to land inside it.
    persons: { type: 'boolean', default: false },
  } });
  const { writeCorpus, SUBJECT_NAMES, TINY_MODEL } = await import('../test/workflow/fixtures.ts');
  const personNames = (JSON.parse(readFileSync('data/persons/persons.json', 'utf8')) as { persons: { full_name: string }[] }).persons.map((p) => p.full_name);
  const report = await crashRun({
    requests: Number(values.requests), kills: Number(values.kills), seed: Number(values.seed), leaseSeconds: 1,
    ...(values.persons
      ? { minDelayMs: 0, maxDelayMs: 30000, model: 'models/target', corpus: () => resolve('data/persons/all_qa.jsonl'), names: personNames }
      : { minDelayMs: 0, maxDelayMs: 4000, model: TINY_MODEL, corpus: writeCorpus, names: SUBJECT_NAMES }),
  });
  console.log(JSON.stringify(report, null, 2));
}
