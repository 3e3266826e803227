import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { DEFAULT_ORIGIN } from '../workflow/defaults.ts';
import type { WorkflowEnv } from '../workflow/requests/service.ts';
import { authHook } from './auth.ts';
import type { ApiContext } from './context.ts';
import { problemHandler, ProblemSchema, sendProblem } from './problem.ts';
import { evidenceRoutes } from './routes/evidence.ts';
import { progressRoutes } from './routes/progress.ts';
import { sessionRoutes } from './routes/session.ts';
import { DASHBOARD_ROUTES, dashboardRoutes } from './dashboard.ts';
import { registryRoutes } from './routes/registry.ts';
import { requestRoutes } from './routes/requests.ts';

export interface ApiOptions {
  env: WorkflowEnv;
  /** Folder of the signing key pair (lethe keys init). */
  keysDir: string;
  origin?: string;
  /** Largest request body accepted, in bytes (default 1 MiB; a certificate is a few KiB). */
  bodyLimit?: number;
  /** Requests per client per minute (default 600); false turns the limit off (tests, benches). */
  rateLimitPerMinute?: number | false;
  /** Fastify's logger (default off; `lethe serve` turns it on). */
  logger?: boolean;
  /** How often an event stream looks for changes (ms). */
  pollMs?: number;
  /** The Lethe version in the OpenAPI document. */
  version?: string;
}

/** The routes anyone may call: liveness and the API's own description. */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/api/health', '/openapi.json', '/api/session', ...DASHBOARD_ROUTES]);

/** Error responses every route may give, for the OpenAPI document (runtime errors are problemHandler's). */
const PROBLEM_RESPONSES = Object.fromEntries([400, 401, 403, 404, 409, 413, 415, 429, 503].map((s) => [s, {
  description: 'problem details (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
}]));

/**
 * The HTTP API: Fastify with one zod schema per route as the single source of validation, types and the OpenAPI 3
 * document (served at /openapi.json); bearer tokens with roles on every route but health and the document;
 * RFC 9457 problem JSON for every error; body size and rate limits; security headers. Thin: each route calls the
 * workflow library as the CLI does.
 */
export async function buildApi(o: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: o.logger ?? false, bodyLimit: o.bodyLimit ?? 1 << 20 }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(problemHandler);
  app.setNotFoundHandler((request, reply) => sendProblem(reply, request, 404, `no route ${request.method} ${request.url.split('?')[0]}`));
  await app.register(fastifyHelmet, {
    // The dashboard's assets are served from this origin only; plain http on a local address is not upgraded.
    contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'", 'data:'], frameSrc: ["'self'"], upgradeInsecureRequests: null } },
  });
  if (o.rateLimitPerMinute !== false) {
    await app.register(fastifyRateLimit, {
      max: o.rateLimitPerMinute ?? 600, timeWindow: 60_000,
      errorResponseBuilder: (_request, context) => Object.assign(new Error(`rate limit: at most ${context.max} requests per minute; try again in ${context.after}`), { statusCode: 429 }),
    });
  }
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Lethe API', version: o.version ?? '0.1.0', description: 'Erasure requests, jobs, certificates and the audit log of a Lethe deployment. Every route but /api/health and /openapi.json needs a bearer token (`lethe token create --role R`); each operation lists the roles it admits in `x-roles`.' },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a Lethe token: lethe_<id>_<secret>' } },
        // The same zod schema the error handler's bodies follow.
        schemas: { Problem: z.toJSONSchema(ProblemSchema, { target: 'openapi-3.0' }) as Record<string, unknown> },
      },
    },
    transform: (input) => {
      const out = jsonSchemaTransform(input);
      const schema = out.schema as Record<string, unknown>;
      // Documentation only: the success body is described in words, the errors are problem JSON.
      return { ...out, schema: { ...schema, response: { 200: { description: 'success', type: 'object' }, ...(schema['security'] ? PROBLEM_RESPONSES : {}) } } };
    },
  });
  // Every route declares who may call it, or is one of the few public ones: a route added without roles fails here.
  app.addHook('onRoute', (route) => {
    if (!route.config?.roles && !PUBLIC_ROUTES.has(route.url)) throw new Error(`route ${String(route.method)} ${route.url} declares no roles`);
  });
  const ctx: ApiContext = { env: o.env, keysDir: o.keysDir, origin: o.origin ?? DEFAULT_ORIGIN };
  app.addHook('onRequest', authHook(o.env));

  app.get('/api/health', { schema: { summary: 'Liveness: the server answers and the store is reachable', tags: ['service'] } }, async () => {
    await o.env.store.db.selectFrom('requests').select('id').limit(1).execute();
    return { ok: true };
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  dashboardRoutes(app);
  sessionRoutes(app, ctx);
  requestRoutes(app, ctx);
  progressRoutes(app, ctx, { pollMs: o.pollMs ?? 1000 });
  evidenceRoutes(app, ctx);
  registryRoutes(app, ctx);
  await app.ready();
  return app;
}
