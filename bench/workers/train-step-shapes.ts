/** The GPT-2-shaped configurations the train-step suite times (the torch peer keeps the same table). */
export interface TrainStepShape {
  vocab: number;
  ctx: number;
  d: number;
  layers: number;
  heads: number;
  batch: number;
  /** Timed steps after warmup. */
  steps: number;
  /**
   * 'bf16': mixed precision — matmuls on bf16 operands, f32 master weights and everything else f32 (ours:
   * src/engine/precision.ts; torch: forward and loss under torch.autocast('cpu', torch.bfloat16)).
   */
  precision: 'f32' | 'bf16';
}

export const TRAIN_STEP_SHAPES: Readonly<Record<string, TrainStepShape>> = {
  tiny: { vocab: 4096, ctx: 128, d: 256, layers: 4, heads: 4, batch: 16, steps: 10, precision: 'f32' },
  'gpt2-small': { vocab: 50257, ctx: 128, d: 768, layers: 12, heads: 12, batch: 4, steps: 5, precision: 'f32' },
  'tiny-bf16': { vocab: 4096, ctx: 128, d: 256, layers: 4, heads: 4, batch: 16, steps: 10, precision: 'bf16' },
  'gpt2-small-bf16': { vocab: 50257, ctx: 128, d: 768, layers: 12, heads: 12, batch: 4, steps: 5, precision: 'bf16' },
};

/** One side's answer to {"step": i}: that step's wall time, and the process's peak resident memory so far. */
export interface TrainStepReply {
  ms: number;
  maxRssMb: number;
}
