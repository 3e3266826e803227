/** The cases of the unlearn-speed suite, shared by the suite and our worker; the PyTorch peer gets them as arguments. */

/** A GPT-2 configuration as config.json writes it (what both sides build a random model from). */
export interface Gpt2Shape {
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
}

export interface UnlearnSpeedCase {
  /** The model: an HF folder both sides load, or a shape both sides initialise at random. */
  model: { folder: string } | { random: Gpt2Shape };
  forget: string;
  retain: string;
  /** Untimed steps first (the first builds the frozen reference and the optimizer state), then timed ones. */
  warmupSteps: number;
  /** Timed steps when --reps is not given. */
  steps: number;
}

const PERSONS = { forget: 'data/persons/forget10.jsonl', retain: 'data/persons/retain90.jsonl' };

export const UNLEARN_SPEED_CASES: Readonly<Record<string, UnlearnSpeedCase>> = {
  // The embedded GPT-2 (d 256, 4 layers, vocab 2048), as `lethe unlearn --method npo` runs it.
  'npo-embedded': { model: { folder: 'models/target' }, ...PERSONS, warmupSteps: 1, steps: 8 },
  // GPT-2-small's shapes with random weights, on the same persons batches (their ids fit any vocabulary).
  'npo-gpt2-small': {
    model: { random: { vocab_size: 50257, n_positions: 128, n_embd: 768, n_layer: 12, n_head: 12 } },
    ...PERSONS, warmupSteps: 1, steps: 3,
  },
};

/** A padded batch as it crosses to the peer: row-major ids and next-token targets (−100 off the answer), [B, L]. */
export interface WireBatch {
  shape: [number, number];
  ids: number[];
  targets: number[];
  /** Real (prompt + answer) tokens per row; the rest is right padding. */
  lengths: number[];
}

/** What our worker answers for one step. */
export interface OursStep {
  step: number;
  ms: number;
  loss: number;
  forgetLoss: number;
  retainLoss: number;
  /** Real tokens in the step's forget and retain batches. */
  tokens: number;
  forget: WireBatch;
  retain: WireBatch;
  /** Our process's peak resident memory so far, and the most the buffer pool held in one step (MiB). */
  maxRssMb: number;
  poolPeakMb: number;
}
