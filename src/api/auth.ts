import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, type ApiToken, type Role } from '../workflow/access/tokens.ts';
import type { WorkflowEnv } from '../workflow/requests/service.ts';
import { HttpProblem } from './problem.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's token, on every route that declares roles. */
    token: ApiToken | null;
  }
  interface FastifyContextConfig {
    /** Who may call the route; a route without roles is public (health, the OpenAPI document). */
    roles?: readonly Role[];
  }
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="lethe"' };

/**
 * The onRequest hook every route passes: a route that declares roles needs `Authorization: Bearer <token>` with a
 * valid token (401 otherwise, saying why) whose role is one of them (403 otherwise).
 */
export function authHook(env: WorkflowEnv) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    request.token = null;
    const roles = request.routeOptions.config.roles;
    if (!roles) return;
    const header = request.headers.authorization;
    if (!header) throw new HttpProblem(401, 'no token: send Authorization: Bearer <token> (lethe token create)', CHALLENGE);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new HttpProblem(401, 'the Authorization header must be "Bearer <token>"', CHALLENGE);
    const auth = await authenticate(env, m[1]!);
    if (!auth.ok) throw new HttpProblem(401, auth.problem, { 'www-authenticate': 'Bearer realm="lethe", error="invalid_token"' });
    if (!roles.includes(auth.token.role)) throw new HttpProblem(403, `role ${auth.token.role} may not do this (allowed: ${roles.join(', ')})`);
    request.token = auth.token;
  };
}

/** The caller's token on a route that declares roles (the hook has checked it). */
export function caller(request: FastifyRequest): ApiToken {
  if (!request.token) throw new HttpProblem(401, 'no token');
  return request.token;
}

/** How the caller appears in history and the audit log: the token, not its holder's name. */
export const actorOf = (t: ApiToken): string => `token:${t.id} (${t.role})`;
