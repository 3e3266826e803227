// A running API on a fresh store for tests: a token per role, the signing key, a small corpus, and helpers that put
// requests into whatever state a route needs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApi } from '../../src/api/server.ts';
import { ROLES, type Role } from '../../src/workflow/access/roles.ts';
import { createToken } from '../../src/workflow/access/tokens.ts';
import { initKeys } from '../../src/workflow/audit/keys.ts';
import { createRequest, type WorkflowEnv } from '../../src/workflow/requests/service.ts';
import { openStore } from '../../src/workflow/store/open-store.ts';
import { TINY_MODEL, writeCorpus } from '../workflow/fixtures.ts';

export const REQUESTER_NAME = 'dpo@client.example';

export interface TestApi {
  app: FastifyInstance;
  env: WorkflowEnv;
  dir: string;
  corpus: string;
  tokens: Record<Role, string>;
  call(method: string, url: string, o?: { role?: Role | null; token?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  /** Moves the server's clock (tokens expire, deadlines pass); null: the real time again. */
  setNow(t: Date | null): void;
  /** A new request (filed under REQUESTER_NAME), put into `state` directly in the store. */
  requestIn(state: string, extra?: Record<string, string | null>): Promise<string>;
  close(): Promise<void>;
}

export const REQUEST_BODY = { subject: { names: ['Ada Quill'] }, scope: { models: [TINY_MODEL] }, legalGround: 'a', requester: REQUESTER_NAME };

export async function startTestApi(o: { rateLimitPerMinute?: number | false; bodyLimit?: number } = {}): Promise<TestApi> {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-api-'));
  const store = await openStore({ dataDir: dir });
  let now: Date | null = null;
  const env: WorkflowEnv = { store, dataDir: dir, now: () => now ?? new Date() };
  initKeys(join(dir, 'keys'), 'lethe');
  const app = await buildApi({ env, keysDir: join(dir, 'keys'), rateLimitPerMinute: o.rateLimitPerMinute ?? false, ...(o.bodyLimit ? { bodyLimit: o.bodyLimit } : {}) });
  const tokens = {} as Record<Role, string>;
  for (const role of ROLES) tokens[role] = (await createToken(env, { role, name: role === 'requester' ? REQUESTER_NAME : `${role} one` }, 'test')).token;
  const corpus = writeCorpus(join(dir, 'corpus'));
  return {
    app, env, dir, corpus, tokens,
    setNow: (t) => {
      now = t;
    },
    call: (method, url, c = {}) => {
      const token = c.token ?? (c.role ? tokens[c.role] : undefined);
      const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(c.headers ?? {}) };
      if (c.raw !== undefined) return app.inject({ method: method as 'GET', url, headers: { 'content-type': 'application/json', ...headers }, payload: c.raw });
      return app.inject({ method: method as 'GET', url, headers, ...(c.body !== undefined ? { payload: c.body as object } : {}) });
    },
    requestIn: async (state, extra = {}) => {
      const r = await createRequest(env, { ...REQUEST_BODY, identityVerified: true }, 'test');
      await store.db.updateTable('requests').set({ state, ...extra }).where('id', '=', r.request.id).execute();
      return r.request.id;
    },
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}
