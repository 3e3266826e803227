import { z } from 'zod';
import { decideMatches } from '../../workflow/assess/confirm.ts';
import { listJobs } from '../../workflow/jobs/queue.ts';
import { lastVerification, loadAssessment } from '../../workflow/jobs/handlers.ts';
import { CloseSchema, RequestInputSchema } from '../../workflow/requests/request-input.ts';
import {
  approveRequest, cancelRequest, createRequest, denyRequest, extendRequest, getRequest, listRequests, NotFoundError,
  pauseRequest, requestHistory, resumeRequest, retryRequest, verifyIdentity, type ErasureRequest,
} from '../../workflow/requests/service.ts';
import { REQUEST_STATES } from '../../workflow/requests/states.ts';
import type { ApiToken } from '../../workflow/access/tokens.ts';
import { actorOf, caller } from '../auth.ts';
import { EVERYONE, guarded, OPERATORS, READERS, type ApiContext, type ZodApi } from '../context.ts';

const IdParams = z.object({ id: z.string().min(1).max(200).describe('request id') });

const ListQuery = z.object({
  state: z.enum(REQUEST_STATES).optional().describe('only requests in this state'),
  dueWithinDays: z.coerce.number().int().min(0).max(3650).optional().describe('open requests due within this many days (overdue ones included)'),
  overdue: z.enum(['true', 'false']).optional().describe('only overdue requests'),
});

/** A requester sees its own requests only; to it, another's request does not exist (404, not 403). */
function visible(t: ApiToken, r: ErasureRequest): boolean {
  return t.role !== 'requester' || r.requester === t.name;
}

async function ownRequest(ctx: ApiContext, t: ApiToken, id: string): Promise<ErasureRequest> {
  const r = await getRequest(ctx.env, id);
  if (!visible(t, r)) throw new NotFoundError(`no request ${JSON.stringify(id)}`);
  return r;
}

/** Requests: file, list, show, and the operator's decisions — each a call of src/workflow/requests/service.ts. */
export function requestRoutes(app: ZodApi, ctx: ApiContext): void {
  const { env } = ctx;
  app.post('/api/requests', guarded(['requester', 'operator', 'admin'], {
    summary: 'File an erasure request', tag: 'requests',
    description: 'The same idempotencyKey again returns the existing request (200 instead of 201). A requester token files under its own name: `requester` is set to the token\'s name.',
  }, { body: RequestInputSchema }), async (request, reply) => {
    const t = caller(request);
    const body = t.role === 'requester' ? { ...request.body, requester: t.name } : request.body;
    const r = await createRequest(env, body, actorOf(t));
    return reply.code(r.created ? 201 : 200).send(r);
  });

  app.get('/api/requests', guarded(EVERYONE, { summary: 'List requests, soonest deadline first', tag: 'requests', description: 'A requester sees its own requests only.' }, { querystring: ListQuery }), async (request) => {
    const t = caller(request);
    const q = request.query;
    const rs = await listRequests(env, { ...(q.state ? { state: q.state } : {}), ...(q.dueWithinDays !== undefined ? { dueWithinDays: q.dueWithinDays } : {}), overdue: q.overdue === 'true' });
    return rs.filter((r) => visible(t, r));
  });

  app.get('/api/requests/:id', guarded(EVERYONE, { summary: 'One request with its history', tag: 'requests' }, { params: IdParams }), async (request) => {
    const r = await ownRequest(ctx, caller(request), request.params.id);
    return { ...r, history: await requestHistory(env, r.id) };
  });

  const decision = (path: string, summary: string, fn: (id: string, actor: string) => Promise<ErasureRequest>): void => {
    app.post(`/api/requests/:id/${path}`, guarded(OPERATORS, { summary, tag: 'requests' }, { params: IdParams }), async (request) => fn(request.params.id, actorOf(caller(request))));
  };
  decision('verify-identity', 'The subject\'s identity is confirmed (the deadline starts if it waited)', (id, a) => verifyIdentity(env, id, a));
  decision('approve', 'Approve a request whose identity is verified (the worker assesses it next)', (id, a) => approveRequest(env, id, a));
  decision('resume', 'Resume a paused request', (id, a) => resumeRequest(env, id, a));
  decision('retry', 'Send a failed request back to work', (id, a) => retryRequest(env, id, a));

  for (const [path, fn, summary] of [['deny', denyRequest, 'Deny a request, with a reason'], ['cancel', cancelRequest, 'Cancel a request that is not closed, with a reason']] as const) {
    app.post(`/api/requests/:id/${path}`, guarded(OPERATORS, { summary, tag: 'requests' }, { params: IdParams, body: CloseSchema }),
      async (request) => fn(env, request.params.id, actorOf(caller(request)), request.body));
  }

  app.post('/api/requests/:id/extend', guarded(OPERATORS, { summary: 'Extend the deadline once, by up to two months', tag: 'requests' }, {
    params: IdParams, body: z.strictObject({ until: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD'), reason: z.string().trim().min(1).max(2000) }),
  }), async (request) => extendRequest(env, request.params.id, actorOf(caller(request)), request.body.until, request.body.reason));

  app.post('/api/requests/:id/pause', guarded(OPERATORS, { summary: 'Pause an assessing, erasing or verifying request', tag: 'requests' }, {
    params: IdParams, body: z.strictObject({ reason: z.string().trim().max(2000).optional() }).optional(),
  }), async (request) => pauseRequest(env, request.params.id, actorOf(caller(request)), request.body?.reason));

  app.get('/api/requests/:id/assessment', guarded(READERS, { summary: 'What the request affects: records found, models, costs, the recommended method', tag: 'requests' }, { params: IdParams }), async (request) => {
    await getRequest(env, request.params.id);
    const a = await loadAssessment(env.store.db, request.params.id);
    if (!a) throw new NotFoundError(`request ${request.params.id} has no assessment yet (the worker makes it once the request is approved)`);
    return a;
  });

  app.post('/api/requests/:id/assessment/decision', guarded(OPERATORS, { summary: 'Decide the fuzzy matches of a request that requires input', tag: 'requests' }, {
    params: IdParams, body: z.strictObject({ confirm: z.union([z.literal('all'), z.array(z.string().regex(/^[0-9a-f]{64}$/, 'a record hash (hex SHA-256)')).max(100_000)]) }),
  }), async (request) => decideMatches(env, request.params.id, actorOf(caller(request)), request.body.confirm));

  app.get('/api/requests/:id/verification', guarded(READERS, {
    summary: 'The verification against the bar: every attempt, each model\'s criteria (value, bar, before, status)', tag: 'requests',
  }, { params: IdParams }), async (request) => {
    await getRequest(env, request.params.id);
    const v = await lastVerification(env, request.params.id);
    if (!v) throw new NotFoundError(`request ${request.params.id} has not been verified yet`);
    return v;
  });

  app.get('/api/requests/:id/jobs', guarded(READERS, { summary: 'The request\'s jobs: attempts, leases, errors', tag: 'jobs' }, { params: IdParams }), async (request) => {
    await getRequest(env, request.params.id);
    return listJobs(env.store, request.params.id);
  });
}
