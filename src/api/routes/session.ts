import { z } from 'zod';
import { authenticate } from '../../workflow/access/tokens.ts';
import { caller, sessionCookie } from '../auth.ts';
import { EVERYONE, guarded, type ApiContext, type ZodApi } from '../context.ts';
import { HttpProblem } from '../problem.ts';

/** The dashboard's sign-in: a token becomes an HttpOnly session cookie; and who the caller is. */
export function sessionRoutes(app: ZodApi, ctx: ApiContext): void {
  app.post('/api/session', {
    schema: {
      summary: 'Sign the dashboard in: the token (checked) is set as an HttpOnly, SameSite=Strict cookie', tags: ['session'],
      description: 'Public: the body\'s token is what authenticates. Changes made with the cookie need the x-lethe-csrf header.',
      body: z.strictObject({ token: z.string().min(1).max(200) }),
    },
  }, async (request, reply) => {
    const auth = await authenticate(ctx.env, request.body.token.trim());
    if (!auth.ok) throw new HttpProblem(401, auth.problem);
    const { id, name, role, expiresAt } = auth.token;
    return reply.header('set-cookie', sessionCookie(request.body.token.trim(), request.protocol === 'https')).send({ id, name, role, expiresAt });
  });

  app.delete('/api/session', { schema: { summary: 'Sign the dashboard out (clears the cookie)', tags: ['session'] } },
    async (request, reply) => reply.header('set-cookie', sessionCookie('', request.protocol === 'https')).code(204).send());

  app.get('/api/me', guarded(EVERYONE, { summary: 'The caller\'s token: id, name, role, expiry', tag: 'session' }, {}), async (request) => {
    const { id, name, role, expiresAt } = caller(request);
    return { id, name, role, expiresAt };
  });
}
