/**
 * Request states and the transitions between them (WORKFLOW.md, after Ethyca Fides and the Data Rights Protocol):
 *
 *   received → identity_unverified → pending_approval → approved → assessing → queued → erasing → verifying → completed
 *                                          ↘ denied (reason)                                  ↘ failed (error)
 *   assessing → denied (no_match) when the subject has no records in scope; verifying → queued when the bar was missed
 *   and the verification policy escalates to another erasure attempt
 *   any non-final state → canceled (reason); assessing/erasing/verifying ⇄ paused; assessing → requires_input
 */
export const REQUEST_STATES = [
  'received', 'identity_unverified', 'pending_approval', 'approved', 'denied', 'assessing', 'requires_input', 'queued',
  'erasing', 'verifying', 'completed', 'failed', 'canceled', 'paused',
] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** States nothing leaves (failed can be retried, so it is not final). */
export const FINAL_STATES: ReadonlySet<RequestState> = new Set(['completed', 'denied', 'canceled']);

/** States a request can be paused in; resuming returns to the same state. */
export const PAUSABLE_STATES: ReadonlySet<RequestState> = new Set(['assessing', 'erasing', 'verifying']);

const NEXT: Readonly<Record<RequestState, readonly RequestState[]>> = {
  received: ['identity_unverified', 'pending_approval'],
  identity_unverified: ['pending_approval', 'denied'],
  pending_approval: ['approved', 'denied'],
  approved: ['assessing', 'failed'],
  // denied from assessing: the subject has no records in scope (reason no_match, as the Data Rights Protocol).
  assessing: ['queued', 'requires_input', 'denied', 'paused', 'failed'],
  requires_input: ['assessing', 'denied'],
  queued: ['erasing', 'failed'],
  erasing: ['verifying', 'paused', 'failed', 'queued'],
  // Back to the queue when verification missed the bar and the policy escalates (another attempt, recorded).
  verifying: ['completed', 'failed', 'paused', 'queued'],
  // A failed request can be retried by an operator: back to the queue, or to assessment when that is what failed.
  failed: ['queued', 'assessing'],
  paused: ['assessing', 'erasing', 'verifying'],
  completed: [],
  denied: [],
  canceled: [],
};

export class TransitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransitionError';
  }
}

export function isRequestState(s: string): s is RequestState {
  return (REQUEST_STATES as readonly string[]).includes(s);
}

/** Whether `from → to` is allowed; cancel is allowed from every state that is not final. */
export function canTransition(from: RequestState, to: RequestState): boolean {
  if (to === 'canceled') return !FINAL_STATES.has(from);
  return NEXT[from].includes(to);
}

export function assertTransition(id: string, from: RequestState, to: RequestState): void {
  if (canTransition(from, to)) return;
  const allowed = [...NEXT[from], ...(FINAL_STATES.has(from) ? [] : ['canceled'])];
  throw new TransitionError(`request ${id} is ${from}: it cannot become ${to}`
    + (allowed.length > 0 ? ` (from ${from} it can become ${allowed.join(', ')})` : ` (${from} is final)`));
}

/** Reasons a request is denied or canceled (the Data Rights Protocol's codes that apply here, and other). */
export const CLOSE_REASONS = ['no_match', 'insufficient_verification', 'exception_applies', 'duplicate', 'other'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];
