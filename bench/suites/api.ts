/**
 * The `api` suite: the HTTP API under load. `lethe serve` runs in its own process on a fresh embedded store, with its
 * in-process worker polling the queue, and 50 concurrent clients (autocannon, 127.0.0.1 only) file requests
 * (`create`) or list them (`list`, once a few hundred exist). Each case is bounded by a request count and a time
 * limit. There is no peer: the lines carry absolute throughput, p50/p99 latency and the count of errors and non-2xx
 * answers, which must be 0.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { Suite } from '../lib/types.ts';

const LETHE = fileURLToPath(new URL('../../bin/lethe.mjs', import.meta.url));
const CONNECTIONS = 50;
const AMOUNT = 2000;
const MODEL = 'models/target';

interface Server {
  url: string;
  token: string;
  stop(): Promise<void>;
}

/** `lethe serve` on a free port with a fresh store; resolves with its URL and the first admin token it prints. */
async function startServer(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-bench-api-'));
  const child = spawn(process.execPath, [LETHE, 'serve', '--data-dir', dir, '--port', '0', '--rate-limit', '100000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lethe serve printed no URL within 60 s:\n${out}`)), 60_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const url = /Lethe API on (http:\/\/\S+)/.exec(out)?.[1];
      const token = /^(lethe_\S+)$/m.exec(out)?.[1];
      if (url && token) {
        clearTimeout(timer);
        resolve({ url, token });
      }
    });
    child.once('exit', (code) => reject(new Error(`lethe serve exited (${code}) before it was ready:\n${out}`)));
  });
  return { ...ready, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

function body(i: number): string {
  return JSON.stringify({
    idempotencyKey: `bench-${process.pid}-${i}`, subject: { names: [`Bench Person ${i}`], emails: [`person${i}@bench.example`] },
    scope: { models: [MODEL] }, legalGround: 'a', requester: 'bench@example.org',
  });
}

async function load(url: string, token: string, path: string, method: 'GET' | 'POST', amount: number) {
  let i = 0;
  const result = await autocannon({
    url: `${url}${path}`, connections: CONNECTIONS, amount, timeout: 30, duration: 120, method,
    headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(method === 'POST' ? { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: body(i++) }) }] } : {}),
  });
  return result;
}

export const apiSuite: Suite = {
  name: 'api',
  description: 'requests/s and p50/p99 latency of the HTTP API (lethe serve with its worker) under 50 concurrent clients: filing and listing requests',
  cases: ['create', 'list'],
  async run(options, emit) {
    const server = await startServer();
    try {
      const names = options.cases.length > 0 ? options.cases : ['create', 'list'];
      // list needs requests to list: the create case (or a warm-up of the same size) files them.
      if (!names.includes('create')) await load(server.url, server.token, '/api/requests', 'POST', 300);
      for (const name of ['create', 'list'].filter((n) => names.includes(n))) {
        const r = name === 'create'
          ? await load(server.url, server.token, '/api/requests', 'POST', AMOUNT)
          : await load(server.url, server.token, '/api/requests?state=pending_approval', 'GET', AMOUNT / 4);
        emit({
          suite: 'api', case: name, metric: 'req/s', value: Math.round(r.requests.average * 10) / 10, peer: 'none', peer_value: null, ratio: null,
          peer_note: 'no peer: absolute figures on this machine', peer_version: null,
          p50_ms: r.latency.p50, p99_ms: r.latency.p99, errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx, requests: r.requests.total,
          connections: CONNECTIONS, seconds: Math.round(r.duration * 10) / 10, worker: 'in-process, polling',
        });
      }
    } finally {
      await server.stop();
    }
  },
};
