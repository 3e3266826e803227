/**
 * The `queue` suite: the durable job queue on its own, without job handlers, on SQLite and on PostgreSQL.
 *
 * - `throughput-sqlite`, `throughput-postgres`: LETHE_BENCH_QUEUE_JOBS (default 500) no-op jobs are filed with
 *   `enqueueJob` (one request row holds them, for the foreign key), then 1, 2 and 4 workers claim and complete them
 *   with `claimJob` and `finishJob` until none is left. Each worker is a separate process (bench/workers/queue-lane.ts,
 *   one connection or pool each) on both dialects: real concurrency, and on SQLite the file lock they contend for,
 *   as `lethe worker` processes do. Start-up is outside the timing: every worker has opened the store before the
 *   clock starts. A line per worker count, in jobs/s; its peer is the 1-worker figure of the same run (ratio: the
 *   speed-up).
 * - `latency-sqlite`, `latency-postgres`: request-to-start latency, from the commit that files a job to its claim by
 *   an idle `runWorker` (in this process; the job's handler finds nothing to do). On PostgreSQL ours is the worker
 *   woken by LISTEN/NOTIFY and the peer the same worker polling only (`listen: false`), both with the default 1 s poll;
 *   on SQLite polling is all there is. Jobs are filed at random moments, so a polled claim waits half a poll on average.
 *
 * PostgreSQL: $LETHE_BENCH_PG, else a throwaway cluster (.ci/postgres.sh) when a server is installed, else the
 * PostgreSQL lines say why they were skipped. The store is a fresh schema, dropped at the end.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { enqueueJob } from '../../src/workflow/jobs/queue.ts';
import { runWorker } from '../../src/workflow/jobs/worker.ts';
import { createRequest } from '../../src/workflow/requests/service.ts';
import { openStore, type Dialect, type Store } from '../../src/workflow/store/open-store.ts';
import { makeLine } from '../lib/report.ts';
import { median } from '../lib/timing.ts';
import type { PeerOutcome, ResultLine, Suite } from '../lib/types.ts';
import { freshPostgresSchema, type ScratchPostgres } from '../../tools/postgres-scratch.ts';

const LANE = fileURLToPath(new URL('../workers/queue-lane.ts', import.meta.url));
const POSTGRES_SH = fileURLToPath(new URL('../../.ci/postgres.sh', import.meta.url));
const JOBS = Number(process.env['LETHE_BENCH_QUEUE_JOBS'] ?? 500);
const WORKERS = [1, 2, 4];
const POLL_MS = 1000; // runWorker's default
const SAMPLES = { notify: 30, poll: 12 };
const CASES = ['throughput-sqlite', 'throughput-postgres', 'latency-sqlite', 'latency-postgres'] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;

/** A store to measure, and how worker processes reach it. */
interface Target {
  dialect: Dialect;
  store: Store;
  requestId: string;
  /** Argument and environment of a lane process. */
  laneArgs: string[];
  laneEnv: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

async function withRequest(store: Store): Promise<string> {
  const { request } = await createRequest({ store }, { subject: { names: ['Queue Bench'] }, scope: { models: ['models/target'] }, legalGround: 'a', requester: 'bench', identityVerified: true }, 'bench');
  return request.id; // pending approval: an assess job on it has nothing to do
}

async function sqliteTarget(): Promise<Target> {
  if (process.env['LETHE_DB']) throw new Error('LETHE_DB is set, so the SQLite case would open PostgreSQL: unset it (the queue suite makes its own stores; LETHE_BENCH_PG names a PostgreSQL server)');
  const dir = mkdtempSync(join(tmpdir(), 'lethe-bench-queue-'));
  const store = await openStore({ dataDir: dir });
  const env = { ...process.env };
  delete env['LETHE_DB'];
  return {
    dialect: 'sqlite', store, requestId: await withRequest(store), laneArgs: [dir], laneEnv: env,
    close: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** PostgreSQL from $LETHE_BENCH_PG or a throwaway cluster, in a fresh schema; or why there is none. */
async function postgresTarget(): Promise<Target | { skipped: string }> {
  let base = process.env['LETHE_BENCH_PG'];
  let stopCluster = (): void => undefined;
  if (!base) {
    const installed = existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'initdb')));
    if (!installed) return { skipped: 'no PostgreSQL: LETHE_BENCH_PG is not set and no server is installed (/usr/lib/postgresql/*/bin/initdb)' };
    const dir = mkdtempSync(join(tmpdir(), 'lethe-bench-pg-'));
    stopCluster = () => { execFileSync(POSTGRES_SH, ['stop', dir], { stdio: ['ignore', 'ignore', 'inherit'] }); };
    try {
      base = execFileSync(POSTGRES_SH, ['start', dir], { stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim();
    } catch (e) {
      stopCluster();
      return { skipped: `the throwaway PostgreSQL cluster did not start (${(e as Error).message.split('\n')[0]})` };
    }
  }
  let scratch: ScratchPostgres;
  try {
    scratch = await freshPostgresSchema(base, 'lethe_bench');
  } catch (e) {
    stopCluster();
    return { skipped: `cannot create a schema on the PostgreSQL server (${(e as Error).message})` };
  }
  const url = scratch.url;
  const drop = async (): Promise<void> => {
    await scratch.drop().catch(() => undefined);
    stopCluster();
  };
  let store: Store;
  try {
    store = await openStore({ url });
  } catch (e) {
    await drop();
    throw e;
  }
  return {
    dialect: 'postgres', store, requestId: await withRequest(store), laneArgs: [], laneEnv: { ...process.env, LETHE_DB: url },
    close: async () => { await store.close(); await drop(); },
  };
}

interface Lane {
  go(): void;
  done: Promise<number>;
}

/** A worker process, resolved once it has opened the store. */
function startLane(t: Target): Promise<Lane> {
  const child = spawn(process.execPath, ['--import', 'tsx', LANE, ...t.laneArgs], { env: t.laneEnv, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  let last = '';
  const done = new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => {
      const jobs = code === 0 ? (JSON.parse(last) as { jobs: number }).jobs : NaN;
      if (Number.isFinite(jobs)) resolve(jobs);
      else reject(new Error(`queue lane exited with ${code}: ${last}`));
    });
  });
  return new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      last = line;
      if (line === 'ready') resolve({ go: () => child.stdin.write('go\n'), done });
    });
    done.catch(reject);
  });
}

/** Claim-and-complete throughput of `workers` processes over JOBS queued jobs. */
async function throughput(t: Target, workers: number): Promise<{ jobsPerS: number; seconds: number }> {
  await t.store.db.deleteFrom('jobs').execute();
  await t.store.write(async (tx) => {
    for (let i = 0; i < JOBS; i++) await enqueueJob(tx, { requestId: t.requestId, kind: 'assess', now: new Date() });
  });
  const lanes = await Promise.all(Array.from({ length: workers }, () => startLane(t)));
  const t0 = performance.now();
  for (const l of lanes) l.go();
  const counts = await Promise.all(lanes.map((l) => l.done));
  const seconds = (performance.now() - t0) / 1000;
  const done = await t.store.db.selectFrom('jobs').select((e) => e.fn.countAll<number>().as('n')).where('state', '=', 'done').executeTakeFirstOrThrow();
  const claimed = counts.reduce((a, b) => a + b, 0);
  if (claimed !== JOBS || Number(done.n) !== JOBS) throw new Error(`queue ${t.dialect} ×${workers}: ${claimed} claims and ${done.n} jobs done, expected ${JOBS} each`);
  return { jobsPerS: JOBS / seconds, seconds };
}

/** Milliseconds from the commit that files a job to its claim by an idle worker, `samples` times. */
async function latency(t: Target, listen: boolean, samples: number): Promise<number[]> {
  await t.store.db.deleteFrom('jobs').execute();
  const claimed = new Map<string, number>();
  let listening = false;
  const ctl = new AbortController();
  const worker = runWorker({ store: t.store }, {
    pollMs: POLL_MS, listen, signal: ctl.signal, name: 'bench-latency',
    log: (line) => {
      const id = /^job (\S+) .*claimed by/.exec(line)?.[1];
      if (id) claimed.set(id, performance.now());
      if (line.startsWith('wake: listening')) listening = true;
    },
  });
  const out: number[] = [];
  try {
    while (listen && t.dialect === 'postgres' && !listening) await sleep(10);
    for (let i = 0; i < samples; i++) {
      // Idle first, then a random moment within the poll interval (what a client filing a request hits).
      await sleep(100 + Math.random() * (listen && t.dialect === 'postgres' ? 100 : POLL_MS));
      const id = await t.store.write((tx) => enqueueJob(tx, { requestId: t.requestId, kind: 'assess', now: new Date() }));
      const at = performance.now();
      const end = at + 10 * POLL_MS;
      while (!claimed.has(id)) {
        if (performance.now() > end) throw new Error(`queue ${t.dialect}: job ${id} not claimed within ${10 * POLL_MS} ms`);
        await sleep(1);
      }
      out.push(claimed.get(id)! - at);
    }
  } finally {
    ctl.abort();
    await worker;
  }
  return out;
}

const noPeer = (note: string): PeerOutcome => ({ ok: false, note });

export const queueSuite: Suite = {
  name: 'queue',
  description: 'the job queue without handlers: claim+complete jobs/s with 1, 2, 4 worker processes, and enqueue-to-claim latency (LISTEN/NOTIFY vs polling), on SQLite and PostgreSQL',
  cases: CASES,
  async run(options, emit: (line: ResultLine) => void) {
    const names = options.cases.length > 0 ? options.cases : CASES;
    for (const dialect of ['sqlite', 'postgres'] as const) {
      const mine = names.filter((n) => n.endsWith(`-${dialect}`));
      if (mine.length === 0) continue;
      const t = dialect === 'sqlite' ? await sqliteTarget() : await postgresTarget();
      if ('skipped' in t) {
        process.stderr.write(`queue: PostgreSQL lines skipped: ${t.skipped}\n`);
        for (const name of mine) {
          emit(makeLine({ suite: 'queue', caseName: name, metric: name.startsWith('latency') ? 'ms' : 'jobs/s', value: NaN, peer: 'none', outcome: noPeer('skipped'), extras: { dialect, skipped: t.skipped } }));
        }
        continue;
      }
      try {
        if (mine.includes(`throughput-${dialect}`)) {
          let one: number | null = null;
          for (const workers of WORKERS) {
            const r = await throughput(t, workers);
            process.stderr.write(`queue/throughput-${dialect}: ${workers} worker(s): ${r.jobsPerS.toFixed(1)} jobs/s\n`);
            if (workers === 1) one = r.jobsPerS;
            const outcome: PeerOutcome = workers === 1 || one === null || !options.peers
              ? noPeer(workers === 1 ? 'the 1-worker figure is the peer of the other lines' : 'disabled with --no-peer')
              : { ok: true, value: one, reps: 1, threads: 1 };
            emit(makeLine({
              suite: 'queue', caseName: `throughput-${dialect}`, metric: 'jobs/s', value: r.jobsPerS, peer: '1 worker', outcome,
              extras: { workers, dialect, jobs: JOBS, seconds: Math.round(r.seconds * 100) / 100, workers_are: 'processes' },
            }));
          }
        }
        if (mine.includes(`latency-${dialect}`)) {
          const notify = dialect === 'postgres';
          const ours = await latency(t, true, notify ? SAMPLES.notify : SAMPLES.poll);
          const peer = notify && options.peers ? await latency(t, false, SAMPLES.poll) : null;
          process.stderr.write(`queue/latency-${dialect}: median ${median(ours).toFixed(1)} ms${peer ? `; polling ${median(peer).toFixed(1)} ms` : ''}\n`);
          const outcome: PeerOutcome = peer
            ? { ok: true, value: median(peer), reps: peer.length, threads: 1 }
            : noPeer(notify ? 'disabled with --no-peer' : 'SQLite has no notifications: polling is the only way, no peer');
          emit(makeLine({
            suite: 'queue', caseName: `latency-${dialect}`, metric: 'ms', value: median(ours), peer: notify ? 'polling' : 'none', outcome,
            extras: {
              dialect, wake: notify ? 'listen/notify' : 'polling', poll_ms: POLL_MS, samples: ours.length,
              p90_ms: Math.round(quantile(ours, 0.9) * 10) / 10, max_ms: Math.round(Math.max(...ours) * 10) / 10,
              ...(peer ? { peer_p90_ms: Math.round(quantile(peer, 0.9) * 10) / 10 } : {}),
            },
          }));
        }
      } finally {
        await t.close();
      }
    }
  },
};
