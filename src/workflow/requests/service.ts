import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import { MANIFEST } from '../../train/sisa/manifest.ts';
import { tableAuditSink, type AuditSink } from '../audit/audit-sink.ts';
import { enqueueJob, type JobKind } from '../jobs/queue.ts';
import type { Store, Tx } from '../store/open-store.ts';
import type { RequestsTable } from '../store/schema.ts';
import { checkExtension, daysLeft, dueDate, GDPR_DEADLINES, type DeadlinePolicy, type IsoDate } from './deadlines.ts';
import { CloseSchema, parseInput, RequestInputSchema, type RequestScope, type SubjectIdentifiers } from './request-input.ts';
import { RequestInputError } from './input-error.ts';
import type { BarPolicy } from '../verify/policy.ts';
import { assertTransition, FINAL_STATES, isRequestState, PAUSABLE_STATES, TransitionError, type CloseReason, type RequestState } from './states.ts';

/** A request as callers see it: parsed fields, the effective deadline and the days left. */
export interface ErasureRequest {
  id: string;
  idempotencyKey: string | null;
  subject: SubjectIdentifiers;
  scope: RequestScope;
  legalGround: string;
  requester: string;
  state: RequestState;
  pausedFrom: RequestState | null;
  receivedAt: string;
  identityVerifiedAt: string | null;
  /** The deadline in force: the extension's date when there is one. Null while the clock waits for identity. */
  dueAt: IsoDate | null;
  extension: { until: IsoDate; reason: string } | null;
  decision: { kind: 'denied' | 'canceled'; reason: CloseReason; text: string | null } | null;
  daysLeft: number | null;
  overdue: boolean;
  createdAt: string;
  updatedAt: string;
  /** The bar this request is verified against when it overrides the defaults (null: the defaults). */
  verification: BarPolicy | null;
}

export interface HistoryEntry {
  seq: number;
  from: RequestState | null;
  to: RequestState;
  at: string;
  actor: string;
  reason: string | null;
}

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** What the request functions need besides the store: the clock, the audit sink, the deadline policy. */
export interface WorkflowEnv {
  store: Store;
  /** Where corpus indexes and job outputs live (default: as the embedded store's, LETHE_HOME or ./.lethe). */
  dataDir?: string;
  now?: () => Date;
  audit?: AuditSink;
  deadlines?: DeadlinePolicy;
  /** `key=value` options added to every erasure's method options (e.g. a step budget: `steps=20`). */
  eraseOptions?: readonly string[];
}

/** An arbitrary constant naming, with a key's hash, the advisory lock of a filing with an idempotency key on PostgreSQL. */
const IDEMPOTENCY_LOCK = 0x1d3;

/** The job that does the work of each working state. */
const JOB_FOR_STATE: Readonly<Record<'assessing' | 'erasing' | 'verifying', JobKind>> = { assessing: 'assess', erasing: 'erase', verifying: 'verify' };

const nowOf = (env: WorkflowEnv): Date => (env.now ? env.now() : new Date());
const auditOf = (env: WorkflowEnv): AuditSink => env.audit ?? tableAuditSink(env.store.dialect);

function toRequest(row: RequestsTable, now: Date): ErasureRequest {
  const state = row.state as RequestState;
  const dueAt = row.extension_until ?? row.due_at;
  const left = dueAt === null ? null : daysLeft(dueAt, now);
  return {
    id: row.id, idempotencyKey: row.idempotency_key,
    subject: JSON.parse(row.subject) as SubjectIdentifiers, scope: JSON.parse(row.scope) as RequestScope,
    legalGround: row.legal_ground, requester: row.requester, state, pausedFrom: row.paused_from as RequestState | null,
    receivedAt: row.received_at, identityVerifiedAt: row.identity_verified_at, dueAt,
    extension: row.extension_until ? { until: row.extension_until, reason: row.extension_reason ?? '' } : null,
    decision: row.decision ? { kind: row.decision as 'denied' | 'canceled', reason: row.decision_reason as CloseReason, text: row.decision_text } : null,
    daysLeft: left, overdue: left !== null && left < 0 && !FINAL_STATES.has(state),
    createdAt: row.created_at, updatedAt: row.updated_at, verification: row.verification ? (JSON.parse(row.verification) as BarPolicy) : null,
  };
}

async function readRow(db: Tx, store: Store, id: string, lock: boolean): Promise<RequestsTable> {
  let q = db.selectFrom('requests').selectAll().where('id', '=', id);
  if (lock && store.dialect === 'postgres') q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row) throw new NotFoundError(`no request ${JSON.stringify(id)}`);
  return row;
}

/**
 * Moves a request to `to` inside `tx`: checks the transition, updates the row (with `changes`), and appends the
 * history row and the audit entry — all in the caller's transaction, so they commit together or not at all.
 */
export async function moveRequest(env: WorkflowEnv, tx: Tx, id: string, to: RequestState, o: { actor: string; reason?: string | null; changes?: Partial<RequestsTable>; expect?: readonly RequestState[] }): Promise<RequestsTable> {
  const row = await readRow(tx, env.store, id, true);
  const from = row.state as RequestState;
  if (o.expect && !o.expect.includes(from)) {
    throw new TransitionError(`request ${id} is ${from}: it cannot become ${to} (only from ${o.expect.join(' or ')})`);
  }
  assertTransition(id, from, to);
  const at = nowOf(env).toISOString();
  const updated = await tx.updateTable('requests')
    .set({ ...o.changes, state: to, updated_at: at, version: row.version + 1 })
    .where('id', '=', id).where('version', '=', row.version)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) throw new TransitionError(`request ${id} changed while it was being updated; try again`);
  await appendHistory(tx, id, from, to, at, o.actor, o.reason ?? null);
  await auditOf(env).append(tx, { requestId: id, kind: 'transition', payload: { from, to, actor: o.actor, reason: o.reason ?? null } }, at);
  return { ...row, ...o.changes, state: to, updated_at: at, version: row.version + 1 };
}

async function appendHistory(tx: Tx, id: string, from: RequestState | null, to: RequestState, at: string, actor: string, reason: string | null): Promise<void> {
  const last = await tx.selectFrom('request_history').select((h) => h.fn.max('seq').as('seq')).where('request_id', '=', id).executeTakeFirst();
  await tx.insertInto('request_history').values({ request_id: id, seq: Number(last?.seq ?? 0) + 1, from_state: from, to_state: to, at, actor, reason }).execute();
}

/** A model folder must hold config.json (an ensemble folder ensemble.json); a corpus must be a regular file. Errors name the path. */
function checkScope(scope: RequestScope): RequestScope {
  const models = scope.models.map((m) => {
    const dir = resolve(m);
    const has = (f: string) => statSync(join(dir, f), { throwIfNoEntry: false })?.isFile() ?? false;
    if (!has('config.json') && !has(MANIFEST)) throw new RequestInputError(`scope.models: ${dir} is not a model folder (no config.json) or an ensemble folder (no ${MANIFEST})`);
    return dir;
  });
  const corpora = scope.corpora.map((c) => {
    const path = resolve(c);
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new RequestInputError(`scope.corpora: ${path} is not a file`);
    return path;
  });
  return { models, corpora };
}

export interface CreateResult {
  request: ErasureRequest;
  /** False when the idempotency key named an existing request, which is returned unchanged. */
  created: boolean;
  /** Open requests that share an e-mail address or a name with this one (not merged: an operator decides). */
  possibleDuplicates: string[];
}

const normalised = (s: string): string => s.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ');

/**
 * Files an erasure request. Validates the input and the scope (folders and files must exist), then in one
 * transaction inserts it as received and moves it on: to pending_approval when identity is already verified
 * (the deadline runs from receipt), else to identity_unverified (the deadline waits for the proof).
 */
export async function createRequest(env: WorkflowEnv, raw: unknown, actor: string): Promise<CreateResult> {
  const input = parseInput(RequestInputSchema, raw, 'request');
  const scope = checkScope(input.scope);
  const now = nowOf(env);
  const receivedAt = input.receivedAt ? new Date(input.receivedAt).toISOString() : now.toISOString();
  if (Date.parse(receivedAt) > now.getTime() + 60_000) throw new RequestInputError(`request: receivedAt ${receivedAt} is in the future`);
  const policy = env.deadlines ?? GDPR_DEADLINES;
  const content = JSON.stringify({ subject: input.subject, scope, legalGround: input.legalGround, requester: input.requester });
  const result: CreateResult = await env.store.write(async (tx) => {
    if (input.idempotencyKey) {
      // Filings with one key at the same time (a client's retry): on PostgreSQL neither would see the other's row
      // before it commits, and the second would fail on the unique key. This lock makes it wait and find the first
      // (SQLite's write transaction is exclusive already). Keys whose hashes collide only wait for each other.
      if (env.store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${IDEMPOTENCY_LOCK}, hashtext(${input.idempotencyKey}))`.execute(tx);
      const existing = await tx.selectFrom('requests').selectAll().where('idempotency_key', '=', input.idempotencyKey).executeTakeFirst();
      if (existing) {
        const same = JSON.stringify({ subject: JSON.parse(existing.subject), scope: JSON.parse(existing.scope), legalGround: existing.legal_ground, requester: existing.requester }) === content;
        if (!same) throw new RequestInputError(`request: idempotency key ${JSON.stringify(input.idempotencyKey)} was already used for request ${existing.id} with different content`);
        return { request: toRequest(existing, now), created: false, possibleDuplicates: [] };
      }
    }
    const id = `req_${randomUUID()}`;
    const at = now.toISOString();
    const verifiedAt = input.identityVerified ? receivedAt : null;
    const row: RequestsTable = {
      id, idempotency_key: input.idempotencyKey ?? null, subject: JSON.stringify(input.subject), scope: JSON.stringify(scope),
      legal_ground: input.legalGround, requester: input.requester, state: 'received', paused_from: null, received_at: receivedAt,
      identity_requested: input.identityVerified ? 0 : 1, identity_verified_at: verifiedAt,
      due_at: dueDate({ receivedAt, identityRequested: !input.identityVerified, identityVerifiedAt: verifiedAt }, policy),
      extension_until: null, extension_reason: null, decision: null, decision_reason: null, decision_text: null,
      created_at: at, updated_at: at, version: 1, verification: input.verification ? JSON.stringify(input.verification) : null,
    };
    await tx.insertInto('requests').values(row).execute();
    await appendHistory(tx, id, null, 'received', at, actor, null);
    await auditOf(env).append(tx, { requestId: id, kind: 'created', payload: { legalGround: input.legalGround, models: scope.models.length, corpora: scope.corpora.length } }, at);
    const moved = await moveRequest(env, tx, id, input.identityVerified ? 'pending_approval' : 'identity_unverified', { actor });
    return { request: toRequest(moved, now), created: true, possibleDuplicates: [] as string[] };
  });
  // Advisory, so read after the commit: the scan of open requests does not hold the store's write lock, which every
  // other filing waits for.
  if (!result.created) return result;
  return { ...result, possibleDuplicates: await findDuplicates(env.store.db, result.request.id, input.subject) };
}

async function findDuplicates(db: Tx, id: string, subject: SubjectIdentifiers): Promise<string[]> {
  const keys = new Set([...subject.emails, ...subject.names].map(normalised));
  const open = await db.selectFrom('requests').select(['id', 'subject', 'state']).where('id', '!=', id).where('state', 'not in', [...FINAL_STATES]).execute();
  return open.filter((r) => {
    const s = JSON.parse(r.subject) as SubjectIdentifiers;
    return [...s.emails, ...s.names].some((k) => keys.has(normalised(k)));
  }).map((r) => r.id);
}

export async function getRequest(env: WorkflowEnv, id: string): Promise<ErasureRequest> {
  return toRequest(await readRow(env.store.db, env.store, id, false), nowOf(env));
}

export async function requestHistory(env: WorkflowEnv, id: string): Promise<HistoryEntry[]> {
  await readRow(env.store.db, env.store, id, false);
  const rows = await env.store.db.selectFrom('request_history').selectAll().where('request_id', '=', id).orderBy('seq').execute();
  return rows.map((r) => ({ seq: r.seq, from: r.from_state as RequestState | null, to: r.to_state as RequestState, at: r.at, actor: r.actor, reason: r.reason }));
}

export interface RequestFilter {
  state?: string;
  /** Open requests due within this many days (overdue ones included). */
  dueWithinDays?: number;
  overdue?: boolean;
}

/** Requests, soonest deadline first (those without one last), filtered. */
export async function listRequests(env: WorkflowEnv, f: RequestFilter = {}): Promise<ErasureRequest[]> {
  if (f.state !== undefined && !isRequestState(f.state)) throw new RequestInputError(`--state: unknown state "${f.state}"`);
  let q = env.store.db.selectFrom('requests').selectAll();
  if (f.state !== undefined) q = q.where('state', '=', f.state);
  const now = nowOf(env);
  const all = (await q.execute()).map((r) => toRequest(r, now));
  return all
    .filter((r) => f.dueWithinDays === undefined || (r.daysLeft !== null && r.daysLeft <= f.dueWithinDays && !FINAL_STATES.has(r.state)))
    .filter((r) => !f.overdue || r.overdue)
    .sort((a, b) => (a.dueAt ?? '9999').localeCompare(b.dueAt ?? '9999') || a.receivedAt.localeCompare(b.receivedAt));
}

/** Identity confirmed: the deadline starts (if it was waiting) and the request awaits approval. */
export async function verifyIdentity(env: WorkflowEnv, id: string, actor: string): Promise<ErasureRequest> {
  const now = nowOf(env);
  return env.store.write(async (tx) => {
    const row = await readRow(tx, env.store, id, true);
    const verifiedAt = now.toISOString();
    const due = dueDate({ receivedAt: row.received_at, identityRequested: row.identity_requested === 1, identityVerifiedAt: verifiedAt }, env.deadlines ?? GDPR_DEADLINES);
    return toRequest(await moveRequest(env, tx, id, 'pending_approval', { actor, expect: ['received', 'identity_unverified'], changes: { identity_verified_at: verifiedAt, due_at: due } }), now);
  });
}

/** Approval needs a verified identity (an unverified duplicate must never be approved). */
export async function approveRequest(env: WorkflowEnv, id: string, actor: string): Promise<ErasureRequest> {
  return env.store.write(async (tx) => {
    const row = await readRow(tx, env.store, id, true);
    if (row.identity_verified_at === null) throw new TransitionError(`request ${id}: the subject's identity is not verified; verify it before approving`);
    const moved = await moveRequest(env, tx, id, 'approved', { actor });
    // The assessment job is made in the same transaction: an approved request always has its next step queued.
    await enqueueJob(tx, { requestId: id, kind: 'assess', now: nowOf(env) });
    return toRequest(moved, nowOf(env));
  });
}

async function close(env: WorkflowEnv, id: string, actor: string, kind: 'denied' | 'canceled', raw: unknown): Promise<ErasureRequest> {
  const c = parseInput(CloseSchema, raw, kind === 'denied' ? 'deny' : 'cancel');
  return env.store.write(async (tx) => toRequest(await moveRequest(env, tx, id, kind, {
    actor, reason: c.reason, changes: { decision: kind, decision_reason: c.reason, decision_text: c.text ?? null },
  }), nowOf(env)));
}

export const denyRequest = (env: WorkflowEnv, id: string, actor: string, c: { reason: string; text?: string }): Promise<ErasureRequest> => close(env, id, actor, 'denied', c);
export const cancelRequest = (env: WorkflowEnv, id: string, actor: string, c: { reason: string; text?: string }): Promise<ErasureRequest> => close(env, id, actor, 'canceled', c);

/** The one extension GDPR allows: up to two further months, with a reason, decided before the deadline passes. */
export async function extendRequest(env: WorkflowEnv, id: string, actor: string, until: string, reason: string): Promise<ErasureRequest> {
  if (reason.trim().length === 0) throw new RequestInputError('extend: give the reason for the extension');
  const now = nowOf(env);
  return env.store.write(async (tx) => {
    const row = await readRow(tx, env.store, id, true);
    const state = row.state as RequestState;
    if (FINAL_STATES.has(state)) throw new TransitionError(`request ${id} is ${state}: a closed request cannot be extended`);
    if (row.extension_until !== null) throw new TransitionError(`request ${id} was already extended to ${row.extension_until}; GDPR allows one extension`);
    if (row.due_at === null) throw new TransitionError(`request ${id}: the deadline has not started (identity is not verified), so there is nothing to extend`);
    if (daysLeft(row.due_at, now) < 0) throw new TransitionError(`request ${id}: the deadline ${row.due_at} has passed; an extension must be decided before it`);
    const problem = checkExtension(row.due_at, until, env.deadlines ?? GDPR_DEADLINES);
    if (problem) throw new RequestInputError(`extend: ${problem}`);
    const at = now.toISOString();
    await tx.updateTable('requests').set({ extension_until: until, extension_reason: reason.trim(), updated_at: at, version: row.version + 1 }).where('id', '=', id).execute();
    await auditOf(env).append(tx, { requestId: id, kind: 'extended', payload: { from: row.due_at, until, actor } }, at);
    return toRequest({ ...row, extension_until: until, extension_reason: reason.trim(), updated_at: at, version: row.version + 1 }, now);
  });
}

export async function pauseRequest(env: WorkflowEnv, id: string, actor: string, reason?: string): Promise<ErasureRequest> {
  return env.store.write(async (tx) => {
    const row = await readRow(tx, env.store, id, true);
    const from = row.state as RequestState;
    if (!PAUSABLE_STATES.has(from)) throw new TransitionError(`request ${id} is ${from}: only assessing, erasing or verifying requests can be paused`);
    return toRequest(await moveRequest(env, tx, id, 'paused', { actor, reason: reason ?? null, changes: { paused_from: from } }), nowOf(env));
  });
}

export async function resumeRequest(env: WorkflowEnv, id: string, actor: string): Promise<ErasureRequest> {
  return env.store.write(async (tx) => {
    const row = await readRow(tx, env.store, id, true);
    if (row.state !== 'paused' || row.paused_from === null) throw new TransitionError(`request ${id} is ${row.state}: only a paused request can be resumed`);
    const to = row.paused_from as RequestState;
    const moved = await moveRequest(env, tx, id, to, { actor, changes: { paused_from: null } });
    // A job that found its request paused ended without working; the work of the state resumed is queued again.
    await enqueueJob(tx, { requestId: id, kind: JOB_FOR_STATE[to as 'assessing' | 'erasing' | 'verifying'], now: nowOf(env) });
    return toRequest(moved, nowOf(env));
  });
}

/**
 * A failed request back to work, by an operator: to the erasure queue when it was assessed (the erasure resumes from
 * its recorded steps), else to assessment again.
 */
export async function retryRequest(env: WorkflowEnv, id: string, actor: string): Promise<ErasureRequest> {
  return env.store.write(async (tx) => {
    const assessed = await tx.selectFrom('assessments').select('request_id').where('request_id', '=', id).executeTakeFirst();
    const to = assessed ? 'queued' : 'assessing';
    const moved = await moveRequest(env, tx, id, to, { actor, expect: ['failed'], reason: 'retry' });
    await enqueueJob(tx, { requestId: id, kind: assessed ? 'erase' : 'assess', now: nowOf(env) });
    return toRequest(moved, nowOf(env));
  });
}
