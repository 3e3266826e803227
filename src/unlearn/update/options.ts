import { z } from 'zod';
import { describeOptions, loopOptionShape } from '../options.ts';

/**
 * The options of `lethe update` (`--opt k=v`): the shared loop's (schedule, batching, retain term, guards) with
 * defaults tuned on the embedded persons model (20 changed facts, docs/unlearning.md "Knowledge updates"), and the
 * weight of the old value's unlikelihood term. The loop's "forget" items are the facts' new answers here, so its
 * forget-probability checks read the new answers' probability (targetForgetProb stays off: it stops at or below).
 */
export const UPDATE_OPTIONS = z.object({
  ...loopOptionShape({ epochs: 40, lr: 3e-4, alpha: 1, batchSize: 8, retainBatchSize: 32 }),
  lambda: z.number().min(0).default(1).describe('weight λ of the unlikelihood term −log(1 − p) on the old value\'s tokens (0: fine-tune toward the new answer only)'),
  samples: z.number().int().positive().default(200).describe('retain items measured before and after: retain probability, and greedy exact match on the QA ones (the value probe reads every retain item that holds a value token, up to 600)'),
});

export type UpdateOptions = z.infer<typeof UPDATE_OPTIONS>;

/** The `--opt` help of `lethe update` (its --help), from the schema that validates the options. */
export function updateOptionsHelp(): string {
  return describeOptions(UPDATE_OPTIONS).map((o) => `  ${`${o.name}=${o.default === undefined ? '(derived)' : JSON.stringify(o.default)}`.padEnd(26)} ${o.description}`).join('\n');
}
