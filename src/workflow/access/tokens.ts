import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { tableAuditSink } from '../audit/audit-sink.ts';
import { NotFoundError, type WorkflowEnv } from '../requests/service.ts';
import { parseInput } from '../requests/request-input.ts';
import type { ApiTokensTable } from '../store/schema.ts';
import { ROLES, type Role } from './roles.ts';

/** A token as listed: never its secret. */
export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export const TokenInputSchema = z.strictObject({
  role: z.enum(ROLES),
  name: z.string().trim().min(1).max(200).describe('who holds it; for a requester, the requester its requests are filed under'),
  expiresInDays: z.number().int().min(1).max(3650).optional().describe('days until it stops working (default: never)'),
});
export type TokenInput = z.input<typeof TokenInputSchema>;

/** Tokens read `lethe_<id>_<secret>`: the id finds the row, the secret (32 random bytes) proves possession. */
const TOKEN_FORMAT = /^lethe_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const nowOf = (env: WorkflowEnv): Date => (env.now ? env.now() : new Date());

function toToken(row: ApiTokensTable): ApiToken {
  return {
    id: row.id, name: row.name, role: row.role as Role, createdAt: row.created_at, createdBy: row.created_by,
    expiresAt: row.expires_at, revokedAt: row.revoked_at,
  };
}

/** Makes a token; the secret is in the returned `token` only (the store keeps its hash), so show it once. */
export async function createToken(env: WorkflowEnv, raw: unknown, actor: string): Promise<{ token: string; info: ApiToken }> {
  const input = parseInput(TokenInputSchema, raw, 'token');
  const now = nowOf(env);
  const id = randomBytes(9).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 12);
  const secret = randomBytes(32).toString('base64url');
  const row: ApiTokensTable = {
    id, name: input.name, role: input.role, secret_sha256: sha256(secret), created_at: now.toISOString(), created_by: actor,
    expires_at: input.expiresInDays === undefined ? null : new Date(now.getTime() + input.expiresInDays * 86_400_000).toISOString(),
    revoked_at: null,
  };
  await env.store.write(async (tx) => {
    await tx.insertInto('api_tokens').values(row).execute();
    // The log names the token and its role, not its holder's name (which may be a person's).
    await (env.audit ?? tableAuditSink(env.store.dialect)).append(tx, { requestId: null, kind: 'token_created', payload: { id, role: input.role, by: actor } }, now.toISOString());
  });
  return { token: `lethe_${id}_${secret}`, info: toToken(row) };
}

export async function listTokens(env: WorkflowEnv): Promise<ApiToken[]> {
  const rows = await env.store.db.selectFrom('api_tokens').selectAll().orderBy('created_at').execute();
  return rows.map(toToken);
}

/** Revokes a token at once; revoking a revoked token changes nothing. */
export async function revokeToken(env: WorkflowEnv, id: string, actor: string): Promise<ApiToken> {
  const now = nowOf(env).toISOString();
  return env.store.write(async (tx) => {
    const row = await tx.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError(`no token ${JSON.stringify(id)}`);
    if (row.revoked_at) return toToken(row);
    await tx.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', id).execute();
    await (env.audit ?? tableAuditSink(env.store.dialect)).append(tx, { requestId: null, kind: 'token_revoked', payload: { id, by: actor } }, now);
    return toToken({ ...row, revoked_at: now });
  });
}

/** Why a presented token does not authenticate, in words a client can act on; or the token. */
export type Authentication = { ok: true; token: ApiToken } | { ok: false; problem: string };

/** Checks a bearer token: well formed, known, the secret's hash equal (in constant time), not revoked, not expired. */
export async function authenticate(env: WorkflowEnv, presented: string): Promise<Authentication> {
  const m = TOKEN_FORMAT.exec(presented);
  if (!m) return { ok: false, problem: 'not a Lethe token (expected lethe_<id>_<secret>)' };
  const row = await env.store.db.selectFrom('api_tokens').selectAll().where('id', '=', m[1]!).executeTakeFirst();
  const given = Buffer.from(sha256(m[2]!), 'hex');
  if (!row || !timingSafeEqual(given, Buffer.from(row.secret_sha256, 'hex'))) return { ok: false, problem: 'unknown token' };
  if (row.revoked_at) return { ok: false, problem: `token revoked on ${row.revoked_at}` };
  if (row.expires_at && row.expires_at <= nowOf(env).toISOString()) return { ok: false, problem: `token expired on ${row.expires_at}` };
  return { ok: true, token: toToken(row) };
}
