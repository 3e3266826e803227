import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../workflow/access/roles.ts';
import { authenticate, type ApiToken } from '../workflow/access/tokens.ts';
import type { WorkflowEnv } from '../workflow/requests/service.ts';
import { HttpProblem } from './problem.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's token, on every route that declares roles. */
    token: ApiToken | null;
  }
  interface FastifyContextConfig {
    /** Who may call the route; a route without roles is public (health, the OpenAPI document, the dashboard). */
    roles?: readonly Role[];
  }
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="lethe"' };

/** The dashboard's session cookie: the token itself, HttpOnly, sent to this origin only (SameSite=Strict). */
export const SESSION_COOKIE = 'lethe_session';
/**
 * A request authenticated by the cookie that changes something must carry this header. A page on another origin
 * cannot add it without a CORS preflight, which this server never grants, so a forged form post fails.
 */
export const CSRF_HEADER = 'x-lethe-csrf';

function cookieToken(header: string | undefined): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return decodeURIComponent(value.join('='));
  }
  return null;
}

/** The session cookie for a token ('' clears it). */
export function sessionCookie(token: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}${token ? '' : '; Max-Age=0'}`;
}

/**
 * The onRequest hook every route passes: a route that declares roles needs a valid token — `Authorization: Bearer
 * <token>`, or the dashboard's session cookie (with the CSRF header on anything but GET) — (401 otherwise, saying
 * why) whose role is one of them (403 otherwise).
 */
export function authHook(env: WorkflowEnv) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    request.token = null;
    const roles = request.routeOptions.config.roles;
    if (!roles) return;
    const header = request.headers.authorization;
    let presented: string;
    if (header) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) throw new HttpProblem(401, 'the Authorization header must be "Bearer <token>"', CHALLENGE);
      presented = m[1]!;
    } else {
      const fromCookie = cookieToken(request.headers.cookie);
      if (!fromCookie) throw new HttpProblem(401, 'no token: send Authorization: Bearer <token> (lethe token create)', CHALLENGE);
      if (request.method !== 'GET' && request.method !== 'HEAD' && !request.headers[CSRF_HEADER]) {
        throw new HttpProblem(403, `a change made with the session cookie needs the ${CSRF_HEADER} header`);
      }
      presented = fromCookie;
    }
    const auth = await authenticate(env, presented);
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
