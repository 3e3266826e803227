import { z } from 'zod';

/**
 * Defaults a method chooses for the shared optimisation options, tuned per method on the embedded persons model
 * (d_model 256, forget10 = 400 items). They are stated relative to the model and the data so that they carry over
 * to other models: the learning rate is given for width 256 and scaled by 256/d_model, and `epochs` are passes over
 * whatever forget set is given.
 */
export interface LoopDefaults {
  epochs: number;
  lr: number;
  batchSize?: number;
  retainBatchSize?: number;
  gamma?: number;
  alpha?: number;
  retainLoss?: 'nll' | 'kl';
}

/** The width the methods' learning rates were tuned at (the embedded models' d_model). */
export const REFERENCE_WIDTH = 256;

/**
 * The options every optimisation-based method shares: schedule, batching, the γ·forget + α·retain weights, the
 * retain term and the guards. Each method spreads this into its own schema with its tuned defaults.
 */
export function loopOptionShape(d: LoopDefaults) {
  return {
    steps: z.number().int().positive().optional().describe('optimizer steps (default: ⌈epochs × forget items / batchSize⌉)'),
    epochs: z.number().positive().default(d.epochs).describe('passes over the forget set, used when steps is not given'),
    lr: z.number().positive().optional().describe(`peak learning rate (AdamW; linear warmup, then constant); default: baseLr × min(1, ${REFERENCE_WIDTH} / d_model)`),
    baseLr: z.number().positive().default(d.lr).describe(`the learning rate at width ${REFERENCE_WIDTH}; without lr it is scaled down by ${REFERENCE_WIDTH}/d_model on wider models (Adam's update of hidden weights scales as 1/width, as in μP; ÷16 on a 4096-wide 7B model) and never scaled up on narrower ones`),
    batchSize: z.number().int().positive().default(d.batchSize ?? 16).describe('forget items per step (each forget batch is paired with a retain batch)'),
    retainBatchSize: z.number().int().min(0).default(d.retainBatchSize ?? 0).describe('retain items per step (0 = as many as batchSize)'),
    warmupSteps: z.number().int().min(0).default(0).describe('steps of linear learning-rate warmup'),
    weightDecay: z.number().min(0).default(0).describe('decoupled weight decay'),
    clip: z.number().min(0).default(1).describe('global gradient-norm bound (0 = none)'),
    seed: z.number().int().min(0).default(0).describe('seed of the batch order'),
    gamma: z.number().min(0).default(d.gamma ?? 1).describe('weight γ of the forget term'),
    alpha: z.number().min(0).default(d.alpha ?? 1).describe('weight α of the retain term (ignored without a retain set)'),
    retainLoss: z.enum(['nll', 'kl']).default(d.retainLoss ?? 'nll').describe('retain term: NLL of retain answers, or KL(p_ref ‖ p_θ) over all retain positions'),
    // PDU (Entesari et al. 2025, open-unlearning's PDU trainer: dual_step_size 1, retain_loss_eps required there).
    primalDual: z.boolean().default(false).describe('PDU: the retain term becomes a constraint retain ≤ retainEps, its weight λ (starting at α) learnt by dual ascent λ ← max(0, λ + dualStep·(retain − retainEps)) each step; the loss is γ·forget + λ·(retain − retainEps)'),
    retainEps: z.number().min(0).optional().describe('bound ε of the primal–dual retain constraint, in the retain term\'s units (default: the retain term on the first step, i.e. no worse than θ)'),
    dualStep: z.number().min(0).default(1).describe('dual step size η of the primal–dual update of λ'),
    retainChunk: z.number().int().min(0).default(0).describe('0: a step is one graph, forget and retain terms together; N: the forget term, then the retain batch in chunks of N items, each forward and backward on its own, which bounds a step\'s activation memory by one pass\'s (the same gradient up to float rounding)'),
    precision: z.enum(['f32', 'bf16']).default('f32').describe('matmul precision of the optimisation steps: bf16 is mixed precision (bf16 matmul operands; f32 weights, gradients and AdamW state), about twice the GEMM speed on CPUs with AVX512-BF16; guard checks stay f32'),
    checkEvery: z.number().int().positive().optional().describe('steps between guard checks (default: min(10, ⌈steps / 4⌉), so a short run is checked several times)'),
    checkSamples: z.number().int().positive().default(64).describe('forget and retain items scored at each guard check'),
    targetForgetProb: z.number().min(0).max(1).default(0).describe('stop early once the forget probability at a check is at or below this (0 = run all steps)'),
    maxRetainLossRise: z.number().min(0).default(1).describe('stop, and go back to the last good check, when the retain NLL per token rises by more than this many nats over its start (0 = off)'),
    maxUtilityLossRise: z.number().min(0).default(1).describe('the same bound on the utility NLL: general text never trained on (--utility FILE, else text the model generated before unlearning when there is no retain set; 0 = off)'),
  };
}

export type LoopOptions = z.infer<z.ZodObject<ReturnType<typeof loopOptionShape>>>;

/** Steps and learning rate as a run uses them, and whether each was given or derived from the model and data. */
export interface Schedule {
  steps: number;
  lr: number;
  checkEvery: number;
  /** How each was chosen, in words (unlearn.json and the log say it). */
  rule: { steps: string; lr: string };
}

/**
 * The run's steps and learning rate: as given, else derived — steps from the epochs over `forgetItems`, lr from
 * baseLr scaled to the model's width (d_model).
 */
export function resolveSchedule(o: Pick<LoopOptions, 'steps' | 'epochs' | 'lr' | 'baseLr' | 'batchSize' | 'checkEvery'>, width: number, forgetItems: number): Schedule {
  const steps = o.steps ?? Math.max(1, Math.ceil((o.epochs * forgetItems) / o.batchSize));
  // Scaled down on wider models only: on a narrow one (a 64-wide model in a user trial) ×4 broke every method, while
  // the base rate worked; the 1/width rule is about large widths.
  const scale = Math.min(1, REFERENCE_WIDTH / width);
  const lr = o.lr ?? o.baseLr * scale;
  const checkEvery = o.checkEvery ?? Math.min(10, Math.max(1, Math.ceil(steps / 4)));
  return {
    steps, lr, checkEvery,
    rule: {
      steps: o.steps === undefined ? `${o.epochs} epochs × ${forgetItems} forget items / batch ${o.batchSize}` : 'given',
      lr: o.lr === undefined ? (scale < 1 ? `baseLr ${o.baseLr} × ${REFERENCE_WIDTH}/d_model ${width}` : `baseLr ${o.baseLr} (d_model ${width} ≤ ${REFERENCE_WIDTH}: not scaled)`) : 'given',
    },
  };
}

export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

/** A CLI value as JSON when it parses (numbers, booleans, lists), else as the string itself. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Validates `k=v` pairs against a method's schema and fills in defaults. Unknown keys, malformed pairs and values
 * of the wrong type are errors naming the option and what it expects.
 */
export function parseOptions<S extends z.ZodObject>(schema: S, pairs: readonly string[], methodName: string): z.infer<S> {
  const raw: Record<string, unknown> = {};
  const known = Object.keys(schema.shape);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new OptionError(`option "${pair}" must be written key=value`);
    const key = pair.slice(0, eq);
    if (!known.includes(key)) throw new OptionError(`${methodName} has no option "${key}" (its options: ${known.join(', ')})`);
    raw[key] = parseValue(pair.slice(eq + 1));
  }
  return validateOptions(schema, raw, methodName);
}

/** Validates an options object (the API's and the library's entry point; parseOptions feeds it from the CLI). */
export function validateOptions<S extends z.ZodObject>(schema: S, raw: Record<string, unknown>, methodName: string): z.infer<S> {
  const result = z.strictObject(schema.shape).safeParse(raw);
  if (result.success) return result.data as z.infer<S>;
  const issue = result.error.issues[0]!;
  const key = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    throw new OptionError(`${methodName} has no option "${issue.keys[0]}" (its options: ${Object.keys(schema.shape).join(', ')})`);
  }
  throw new OptionError(`${methodName} option ${key}=${JSON.stringify(raw[key])}: ${issue.message}`);
}

/** One option as `lethe methods` and the API document show it. */
export interface OptionDoc {
  name: string;
  type: string;
  default: unknown;
  description: string;
}

export function describeOptions(schema: z.ZodObject): OptionDoc[] {
  const json = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, { type?: string; enum?: unknown[]; default?: unknown; description?: string; items?: { type?: string } }> };
  return Object.entries(json.properties ?? {}).map(([name, p]) => ({
    name,
    type: p.enum ? p.enum.join('|') : p.type === 'array' ? `${p.items?.type ?? 'value'}[]` : (p.type ?? 'value'),
    default: p.default,
    description: p.description ?? '',
  }));
}
