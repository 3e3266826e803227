import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { KeyError } from '../workflow/audit/keys.ts';
import { RequestInputError } from '../workflow/requests/input-error.ts';
import { NotFoundError } from '../workflow/requests/service.ts';
import { TransitionError } from '../workflow/requests/states.ts';
import { StoreError } from '../workflow/store/open-store.ts';
import { OptionError } from '../unlearn/options.ts';

/** RFC 9457 problem details, the body of every error response. */
export const ProblemSchema = z.object({
  type: z.string().describe('a URI naming the kind of problem (about:blank: the status says it all)'),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
}).describe('RFC 9457 problem details');
export type Problem = z.infer<typeof ProblemSchema>;

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Content Too Large',
  415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

/** An error that is already an HTTP answer (authentication, roles, the API's own checks). */
export class HttpProblem extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, detail: string, headers: Record<string, string> = {}) {
    super(detail);
    this.name = 'HttpProblem';
    this.status = status;
    this.headers = headers;
  }
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, status: number, detail?: string, headers: Record<string, string> = {}): FastifyReply {
  const body: Problem = { type: 'about:blank', title: TITLES[status] ?? 'Error', status, ...(detail ? { detail } : {}), instance: request.url.split('?')[0]! };
  return reply.code(status).headers(headers).type('application/problem+json').send(body);
}

/** Validation issues as one line naming the field; values are never echoed (they may be personal data). */
function validationDetail(issues: readonly { instancePath?: string; message?: string; params?: unknown }[], where: string): string {
  const first = issues[0];
  if (!first) return `${where}: invalid`;
  const path = (first.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  return `${where}${path ? `.${path}` : ''}: ${first.message ?? 'invalid'}`;
}

/**
 * Every error as problem JSON with the status it deserves: the workflow's input, not-found and transition errors
 * (400, 404, 409), the framework's body errors (malformed JSON 400, too large 413, wrong media type 415), rate limits
 * (429), an unavailable store or missing signing key (503). Anything else is a 500 whose detail names nothing
 * internal; the log has it.
 */
export function problemHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof HttpProblem) return sendProblem(reply, request, error.status, error.message, error.headers);
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as FastifyError).validationContext ?? 'request';
    return sendProblem(reply, request, 400, validationDetail(error.validation, where));
  }
  if (error instanceof RequestInputError || error instanceof OptionError) return sendProblem(reply, request, 400, error.message);
  if (error instanceof NotFoundError) return sendProblem(reply, request, 404, error.message);
  if (error instanceof TransitionError) return sendProblem(reply, request, 409, error.message);
  if (error instanceof KeyError) return sendProblem(reply, request, 503, `the server cannot sign: ${error.message}`);
  if (error instanceof StoreError) return sendProblem(reply, request, 503, error.message);
  const status = (error as FastifyError).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // The framework's own client errors (body parsing, size, media type, rate limit): their messages quote no body.
    return sendProblem(reply, request, status, error.message);
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(reply, request, 500, 'an internal error; the server log has the details');
}
