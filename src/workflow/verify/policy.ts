import { z } from 'zod';

/**
 * The bar an erasure is verified against: a written policy with documented defaults (docs/workflow.md), overridable
 * per request (`verification` in the request input). No retrained model is needed: the subject's records are
 * compared with non-member records of the same form on the unlearned model.
 *
 * Every AUC criterion asks one question: can an attacker tell the subject's records from records the model never
 * saw, using this score? Under "never learned" the AUC is 0.5 up to sampling noise and up to how far the reference
 * differs from the subject's records in ways that are not memorisation (`tolerance`); the bar is 0.5 + tolerance plus a
 * one-sided margin of z × the AUC's standard error under no difference (√((n₁+n₂+1)/(12 n₁ n₂)), Mann–Whitney), with z
 * from `alpha` Bonferroni-corrected over the judged criteria — so a model that never saw the subject, compared with a
 * reference no further off than the tolerance, misses the bar with probability ≤ alpha overall.
 */
export const BarPolicySchema = z.strictObject({
  alpha: z.number().gt(0).lt(0.5).default(0.01).describe('family-wise chance that a model which never saw the subject misses the bar'),
  minRecords: z.number().int().min(2).default(10).describe('fewest records on each side for an AUC criterion to be judged'),
  tolerance: z.number().min(0).max(0.4).default(0.05).describe('AUC above 0.5 allowed for differences between the non-member reference and the subject\'s records that are not memorisation (on the embedded benchmark a model never trained on forget10 scores up to 0.595 against the holdout persons)'),
  relearn: z.strictObject({
    steps: z.number().int().min(0).default(30).describe('fine-tuning steps of the relearning attack (0 = not run)'),
    lr: z.number().positive().default(2e-4),
    batchSize: z.number().int().positive().default(16),
  }).default({ steps: 30, lr: 2e-4, batchSize: 16 }),
  twoSided: z.boolean().default(false).describe('also miss the bar when the subject\'s records score BELOW non-members (over-forgetting, a tell of its own); off by default: the bar is about what can be extracted'),
  maxAttempts: z.number().int().min(1).max(10).default(3).describe('erasure attempts before the request fails: the recommended method, then stronger settings, then the next method of the policy'),
  precision: z.enum(['f32', 'bf16']).default('f32').describe('matmul precision of every measurement (scoring, relearning attack): f32 as the metric references compute, or bf16 operands with f32 sums (matrix products about twice as fast on CPUs with AVX512-BF16); recorded with the policy in the verification and the certificate'),
  inconclusive: z.enum(['complete', 'fail']).default('complete').describe('what a result with nothing missed but something not judged (too few records, no non-member reference) does to the request; the certificate says INCONCLUSIVE either way'),
});
export type BarPolicy = z.output<typeof BarPolicySchema>;
export type BarPolicyInput = z.input<typeof BarPolicySchema>;

/** The bar in one sentence, for certificates and reports. */
export const BAR_DESCRIPTION = 'each criterion is the AUC of the subject\'s records against non-member records of the same form on the unlearned model; '
  + 'it meets the bar when AUC ≤ 0.5 + tolerance + z·SE₀ (SE₀ the AUC\'s standard error under no difference, z = Φ⁻¹(1 − alpha/k) over the k judged criteria); '
  + 'PASSED needs membership inference and extraction judged and every judged criterion met';

export const DEFAULT_BAR: BarPolicy = BarPolicySchema.parse({});

/** The policy of a request: the defaults with the request's overrides. */
export function barFor(overrides: BarPolicyInput | null | undefined): BarPolicy {
  return BarPolicySchema.parse(overrides ?? {});
}
