import { z } from 'zod';
import { renderSvg } from '../../eval/report/charts.ts';
import { JOB_KINDS } from '../../workflow/jobs/queue.ts';
import { jobProgress } from '../../workflow/jobs/progress.ts';
import { listJobs } from '../../workflow/jobs/queue.ts';
import { getRequest, NotFoundError, type ErasureRequest, type WorkflowEnv } from '../../workflow/requests/service.ts';
import { FINAL_STATES } from '../../workflow/requests/states.ts';
import type { ApiToken } from '../../workflow/access/tokens.ts';
import { caller } from '../auth.ts';
import { EVERYONE, guarded, READERS, type ApiContext, type ZodApi } from '../context.ts';

const IdParams = z.object({ id: z.string().min(1).max(200).describe('request id') });

/** A request's state and its jobs with their latest progress: what a live view shows. */
async function snapshot(env: WorkflowEnv, t: ApiToken, id: string) {
  const r: ErasureRequest = await getRequest(env, id);
  if (t.role === 'requester' && r.requester !== t.name) throw new NotFoundError(`no request ${JSON.stringify(id)}`);
  const jobs = await listJobs(env.store, id);
  const progress = new Map((await jobProgress(env.store, jobs.map((j) => j.id))).map((p) => [p.jobId, p]));
  return {
    request: { id: r.id, state: r.state, pausedFrom: r.pausedFrom, dueAt: r.dueAt, daysLeft: r.daysLeft, overdue: r.overdue, updatedAt: r.updatedAt },
    // A requester sees that work is under way, not the workers' errors.
    jobs: jobs.map((j) => ({
      id: j.id, kind: j.kind, state: j.state, attempts: j.attempts, maxAttempts: j.maxAttempts, leaseUntil: j.leaseUntil,
      worker: t.role === 'requester' ? null : j.worker, lastError: t.role === 'requester' ? null : j.lastError, updatedAt: j.updatedAt,
      progress: progress.get(j.id) ?? null,
    })),
  };
}

/** Live progress: one snapshot, or a server-sent event stream of them. */
export function progressRoutes(app: ZodApi, ctx: ApiContext, o: { pollMs?: number } = {}): void {
  const pollMs = o.pollMs ?? 1000;
  // Open streams end when the server shuts down (else close() would wait for them until their requests close).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.get('/api/requests/:id/progress', guarded(EVERYONE, {
    summary: 'The request\'s state and its jobs with their latest step, loss and loss curve', tag: 'jobs',
    description: 'A requester sees its own requests only, without worker names and errors.',
  }, { params: IdParams }), async (request) => snapshot(ctx.env, caller(request), request.params.id));

  app.get('/api/requests/:id/loss.svg', guarded(EVERYONE, {
    summary: 'The loss curve of the request\'s latest erasure (SVG, Vega-Lite)', tag: 'jobs',
    description: '404 until an erase job has reported a step.',
  }, { params: IdParams }), async (request, reply) => {
    const s = await snapshot(ctx.env, caller(request), request.params.id);
    const p = s.jobs.filter((j) => j.kind === 'erase' && j.progress).at(-1)?.progress;
    if (!p) throw new NotFoundError(`request ${request.params.id} has no erasure progress yet`);
    const svg = await renderSvg({
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 420, height: 160,
      title: `${p.phase}: step ${p.step} of ${p.total}`,
      data: { values: p.curve.map(([step, loss]) => ({ step, loss })) },
      mark: { type: 'line', point: p.curve.length < 40 },
      encoding: { x: { field: 'step', type: 'quantitative', title: 'step' }, y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } } },
    });
    return reply.type('image/svg+xml').header('cache-control', 'no-store').send(svg);
  });

  app.get('/api/jobs', guarded(READERS, { summary: 'Jobs across requests, newest first: the workers and their leases', tag: 'jobs' }, {
    querystring: z.object({ state: z.enum(['queued', 'running', 'done', 'failed']).optional(), kind: z.enum(JOB_KINDS).optional(), limit: z.coerce.number().int().min(1).max(1000).default(200) }),
  }), async (request) => {
    const q = request.query;
    const all = (await listJobs(ctx.env.store)).filter((j) => (!q.state || j.state === q.state) && (!q.kind || j.kind === q.kind));
    const now = new Date().toISOString();
    // A running job whose lease ran out: its worker died or stalls; the next claim will take it over.
    return all.reverse().slice(0, q.limit).map((j) => ({ ...j, input: undefined, stale: j.state === 'running' && j.leaseUntil !== null && j.leaseUntil < now }));
  });

  app.get('/api/requests/:id/events', guarded(EVERYONE, {
    summary: 'Server-sent events: a `progress` event with the snapshot whenever it changes', tag: 'jobs',
    description: 'The stream ends after the event that shows the request completed, denied or canceled; a comment line every 15 s keeps proxies from closing it.',
  }, { params: IdParams }), async (request, reply) => {
    const t = caller(request);
    // Errors (unknown id, another requester's request) are answered as problem JSON before the stream starts.
    let snap = await snapshot(ctx.env, t, request.params.id);
    let last = JSON.stringify(snap);
    reply.hijack();
    const out = reply.raw;
    // One stream per connection, closed with it: nothing waits on an idle socket after the stream ends.
    out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'close', 'x-accel-buffering': 'no' });
    let seq = 0;
    const send = (data: string): void => {
      out.write(`id: ${++seq}\nevent: progress\ndata: ${data}\n\n`);
    };
    send(last);
    let closed = false;
    request.raw.once('close', () => {
      closed = true;
    });
    let quietMs = 0;
    while (!closed && !closing && !FINAL_STATES.has(snap.request.state)) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      if (closed || closing) break;
      try {
        snap = await snapshot(ctx.env, t, request.params.id);
      } catch {
        break; // the store went away (shutdown): end the stream; the client reconnects
      }
      const next = JSON.stringify(snap);
      if (next !== last) {
        last = next;
        send(next);
        quietMs = 0;
      } else if ((quietMs += pollMs) >= 15_000) {
        out.write(': keep-alive\n\n');
        quietMs = 0;
      }
    }
    out.end();
  });
}
