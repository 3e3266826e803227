import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Role } from '../workflow/access/roles.ts';
import type { WorkflowEnv } from '../workflow/requests/service.ts';

/** What the routes need: the workflow's store and clock, and where the signing key is. */
export interface ApiContext {
  env: WorkflowEnv;
  /** Folder of the Ed25519 key pair that signs checkpoints and certificates (lethe keys init). */
  keysDir: string;
  /** The audit log's name in checkpoints. */
  origin: string;
}

/** The server as routes see it: validation and types from the routes' zod schemas. */
export type ZodApi = ReturnType<typeof withZod>;
const withZod = (app: FastifyInstance) => app.withTypeProvider<ZodTypeProvider>();

/** Roles that may read everything. */
export const READERS: readonly Role[] = ['operator', 'auditor', 'admin'];
/** Roles that change a request's course. */
export const OPERATORS: readonly Role[] = ['operator', 'admin'];
/** Every role. */
export const EVERYONE: readonly Role[] = ['requester', 'operator', 'auditor', 'admin'];

/** What a route's documentation says: a one-line summary, its group, and more words where needed. */
export interface RouteDoc {
  summary: string;
  tag: string;
  description?: string;
}

/**
 * A route's options with who may call it: `config.roles` (checked by the auth hook) and, in the OpenAPI document,
 * the bearer requirement, an `x-roles` list and a line in the description — one list, three uses. `schema` holds
 * the route's zod schemas (params, querystring, body), the one source of validation, types and documentation.
 */
export function guarded<S extends object>(roles: readonly Role[], doc: RouteDoc, schema: S) {
  return {
    config: { roles },
    schema: {
      ...schema, summary: doc.summary, tags: [doc.tag], 'x-roles': [...roles], security: [{ bearer: [] }],
      description: `${doc.description ? `${doc.description}\n\n` : ''}Roles: ${roles.join(', ')}.`,
    },
  };
}
