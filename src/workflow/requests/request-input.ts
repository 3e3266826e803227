import { z } from 'zod';
import { BarPolicySchema } from '../verify/policy.ts';
import { CLOSE_REASONS } from './states.ts';
import { RequestInputError } from './input-error.ts';

const nonEmpty = z.string().trim().min(1).max(1000);

/** Whom the request is about: every identifier the corpus may hold. At least one is needed. */
export const SubjectSchema = z.strictObject({
  names: z.array(nonEmpty).max(50).default([]),
  emails: z.array(z.string().trim().email().max(320)).max(50).default([]),
  phones: z.array(nonEmpty.regex(/^[+()\d\s.\-/]{5,40}$/, 'a phone number: digits, spaces, + ( ) - . /')).max(50).default([]),
  addresses: z.array(nonEmpty).max(50).default([]),
  /** Free text to find as written (after normalisation), e.g. an account number. */
  patterns: z.array(nonEmpty).max(50).default([]),
}).refine((s) => s.names.length + s.emails.length + s.phones.length + s.addresses.length + s.patterns.length > 0, 'give at least one identifier of the subject (names, emails, phones, addresses or patterns)');
export type SubjectIdentifiers = z.infer<typeof SubjectSchema>;

/** Which models and training corpora the request covers. */
export const ScopeSchema = z.strictObject({
  models: z.array(nonEmpty).min(1, 'name at least one model folder').max(100),
  corpora: z.array(nonEmpty).max(1000).default([]),
});
export type RequestScope = z.infer<typeof ScopeSchema>;

/** GDPR Art. 17(1)(a)–(f). */
export const LEGAL_GROUNDS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;

export const RequestInputSchema = z.strictObject({
  idempotencyKey: z.string().trim().min(1).max(200).optional(),
  subject: SubjectSchema,
  scope: ScopeSchema,
  legalGround: z.enum(LEGAL_GROUNDS),
  requester: nonEmpty,
  /** When the request arrived (ISO 8601); default now. */
  receivedAt: z.string().datetime({ offset: true }).optional(),
  /** Whether the subject's identity is already confirmed on receipt; if not, the deadline waits for it. */
  identityVerified: z.boolean().default(false),
  /** Overrides of the verification bar for this request (defaults: src/workflow/verify/policy.ts, docs/workflow.md). */
  verification: BarPolicySchema.optional(),
});
export type RequestInput = z.input<typeof RequestInputSchema>;
export type ParsedRequestInput = z.output<typeof RequestInputSchema>;

export const CloseSchema = z.strictObject({
  reason: z.enum(CLOSE_REASONS),
  text: z.string().trim().max(2000).optional(),
}).refine((c) => c.reason !== 'other' || (c.text !== undefined && c.text.length > 0), 'reason "other" needs a text saying why');

/** zod's first problem as one line naming the field; values are not echoed (they may be personal data). */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.join('.');
  throw new RequestInputError(`${what}: ${path ? `${path}: ` : ''}${issue.message}`);
}
