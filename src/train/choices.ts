// The values of training options a user picks by name, kept apart from the code that acts on them so that the CLI
// can offer them as choices without loading the trainer.

/** The architectures a model trained from scratch can have. */
export const FRESH_ARCHITECTURES = ['gpt2', 'llama'] as const;
export type FreshArchitecture = (typeof FRESH_ARCHITECTURES)[number];

/**
 * What an SGTM forget step does to parameters that belong to no block projection (embeddings, norms, a separate
 * head): 'freeze' zeroes their gradients too, so the step writes only into what ablation removes (the reference's
 * option for its Wikipedia runs, where the 7× relearning figure comes from); 'update' lets them learn (its default,
 * used on TinyStories), at the price of domain knowledge that ablation leaves behind.
 */
export const SHARED_ON_FORGET = ['freeze', 'update'] as const;
export type SharedOnForget = (typeof SHARED_ON_FORGET)[number];

/** A training record on an exclusion list: skip it (counted in training_log.json), or refuse the run. */
export const ON_EXCLUDED = ['skip', 'refuse'] as const;
export type OnExcluded = (typeof ON_EXCLUDED)[number];
