// The ways an ensemble can be combined, apart from the ensemble itself so that the CLI can offer them without loading
// the engine.

/**
 * How an ensemble's members are combined into one next-token distribution:
 *   mean-prob      the mean of the members' probabilities (SISA's default: a mixture)
 *   mean-logprob   the normalised mean of their log-probabilities (a product of experts)
 *   most-confident the distribution of the member whose top token is most probable, per position
 */
export const AGGREGATIONS = ['mean-prob', 'mean-logprob', 'most-confident'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];
