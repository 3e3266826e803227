import { createHash } from 'node:crypto';
import {
  AdamW, backward, clipGradNorm, crossEntropy, noGrad, pooled, poolPhase, scale, withMatmulPrecision, type MatmulPrecision, type OptimizerState, type Tensor,
} from '../engine/index.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { BatchStream, collate, type Batch, type DataPosition } from './batches.ts';
import type { Example } from './examples.ts';
import { learningRate } from './schedule.ts';
import { loadTrainingCheckpoint, saveTrainingCheckpoint, type TrainerState } from './state.ts';

export interface TrainOptions {
  steps: number;
  batchSize: number;
  /** Micro-batches per optimizer step (their gradients are averaged). */
  gradAccum?: number;
  lr: number;
  minLr?: number;
  warmupSteps?: number;
  weightDecay?: number;
  /** Global gradient-norm bound (0 = no clipping). */
  clip?: number;
  seed: number;
  padId: number;
  evalEvery?: number;
  /** Write a resumable checkpoint every this many steps (needs checkpointDir). */
  saveEvery?: number;
  checkpointDir?: string;
  /** Folder whose tokenizer files are copied into checkpoints. */
  tokenizerDir?: string;
  /**
   * 'bf16': mixed precision — the step's matmuls on bf16 operands, f32 weights, gradients and AdamW state (see
   * src/engine/precision.ts). Default 'f32'. Held-out evaluation runs at the same precision.
   */
  precision?: MatmulPrecision;
}

export interface StepInfo {
  step: number;
  /** What kind of step the source planned (SGTM: forget, retain-masked, default); absent for plain training. */
  kind?: string;
  totalSteps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  position: SourcePosition;
}

/** Where a step source is in its data: one stream's position, or several streams' by name (SGTM's label groups). */
export type SourcePosition = DataPosition | { [stream: string]: DataPosition };

/** One optimizer step's micro-batches and how to run them. */
export interface StepPlan {
  batches: Batch[];
  /** The forward pass's projection-input tap for every micro-batch of the step (SGTM masks units with it). */
  linearInput?: (module: string, x: Tensor) => Tensor;
  /** Runs after the step's backward passes, before clipping (SGTM zeroes gradients with it). */
  afterBackward?: () => void;
  kind?: string;
}

/** A deterministic source of steps; `position` is what a checkpoint saves to resume exactly. */
export interface StepSource {
  next(step: number, microBatches: number): StepPlan;
  readonly position: SourcePosition;
}

/** Makes the step source of a run (plain training: one shuffled stream of the examples). */
export interface StepSourceFactory {
  /** Mixed into the resume fingerprint: whatever besides the examples and options shapes the steps. */
  fingerprint: string;
  create(model: CausalLM, position: SourcePosition | null, padId: number): StepSource;
}

export interface EvalInfo {
  step: number;
  loss: number;
}

export interface TrainHooks {
  onStep?: (info: StepInfo) => void;
  onEval?: (info: EvalInfo) => void;
  onCheckpoint?: (step: number, dir: string) => void;
  /** Return true to stop after the current step (a checkpoint is written first when configured). */
  shouldStop?: () => boolean;
}

export interface TrainResult {
  model: CausalLM;
  losses: number[];
  evals: EvalInfo[];
  /** Steps done now (equals options.steps unless stopped early). */
  step: number;
  /** The step training started from: 0, or the checkpoint's step on a resume. */
  startStep: number;
  /** The optimizer's state at the end, to continue from (SISA's slice checkpoints). */
  optimizer: OptimizerState;
}

/** What a caller may add to a run besides its options. */
export interface TrainExtras {
  /** Plans each step (default: plain training on the examples; SGTM plans labelled, masked steps). */
  source?: StepSourceFactory;
  /** Continue this optimizer state (its moments and step count) instead of starting a fresh one. */
  optimizer?: OptimizerState;
}

/** What a resume must match: the data and every option that shapes the batches or the schedule. */
export function fingerprint(examples: readonly Example[], o: TrainOptions, extra = ''): string {
  const h = createHash('sha256');
  for (const e of examples) {
    h.update(Buffer.from(e.ids.buffer, e.ids.byteOffset, e.ids.byteLength));
    h.update(Buffer.from(e.lossMask));
  }
  h.update(JSON.stringify([o.steps, o.batchSize, o.gradAccum ?? 1, o.lr, o.minLr, o.warmupSteps ?? 0, o.weightDecay ?? 0, o.clip ?? 0, o.seed, o.padId,
    // Appended only when set, so checkpoints of f32 runs made before the option existed still resume.
    ...(o.precision === 'bf16' ? ['bf16'] : [])]));
  if (extra) h.update(extra);
  return h.digest('hex');
}

/** Mean next-token loss over the batch's target tokens (padding and target-less positions never computed); callers skip batches without targets. */
function batchLoss(model: CausalLM, batch: Batch, linearInput?: StepPlan['linearInput']): Tensor {
  const logits = model.forward(batch.ids, { lengths: batch.lengths, logitPositions: batch.targetPositions, ...(linearInput ? { linearInput } : {}) }).logits!;
  return crossEntropy(logits, batch.targetIds);
}

/** Mean loss over held-out examples, token-weighted. */
export function evaluateLoss(model: CausalLM, examples: readonly Example[], batchSize: number, padId: number): number {
  let total = 0;
  let count = 0;
  noGrad(() => {
    for (let i = 0; i < examples.length; i += batchSize) {
      const batch = collate(examples.slice(i, i + batchSize), padId);
      if (batch.targetTokens === 0) continue;
      total += pooled(() => batchLoss(model, batch).item()) * batch.targetTokens;
      count += batch.targetTokens;
    }
  });
  return count === 0 ? NaN : total / count;
}

/** Plain training's source: micro-batches from one length-bucketed shuffled stream of every example. */
function plainSource(examples: readonly Example[], o: TrainOptions): StepSourceFactory {
  return {
    fingerprint: '',
    create: (_model, position, padId) => {
      const stream = new BatchStream(examples, o.batchSize, o.seed, padId, (position as DataPosition | null) ?? undefined);
      return {
        next: (_step, micro) => ({ batches: Array.from({ length: micro }, () => stream.next()) }),
        get position() { return stream.position; },
      };
    },
  };
}

/**
 * Trains a causal LM with AdamW, warmup + cosine schedule, clipping and gradient accumulation. With
 * checkpointDir + resume, continues a killed run exactly: same batches, same learning rates, same losses.
 */
export function train(start: CausalLM, examples: readonly Example[], o: TrainOptions, hooks: TrainHooks = {},
  evalExamples: readonly Example[] = [], resume = false, extras: TrainExtras = {}): TrainResult {
  return poolPhase(() => withMatmulPrecision(o.precision ?? 'f32', () => trainAt(start, examples, o, hooks, evalExamples, resume, extras)));
}

function trainAt(start: CausalLM, examples: readonly Example[], o: TrainOptions, hooks: TrainHooks,
  evalExamples: readonly Example[], resume: boolean, extras: TrainExtras): TrainResult {
  const source = extras.source ?? plainSource(examples, o);
  const accum = o.gradAccum ?? 1;
  const fp = fingerprint(examples, o, source.fingerprint);
  let model = start;
  let state: TrainerState = { step: 0, position: null, losses: [], fingerprint: fp };
  let optimizer = new AdamW(model.params.list(), { lr: o.lr, weightDecay: o.weightDecay ?? 0 });
  if (extras.optimizer) optimizer.loadState(extras.optimizer);
  if (resume) {
    if (!o.checkpointDir) throw new Error('resume needs a checkpoint folder');
    const ck = loadTrainingCheckpoint(o.checkpointDir);
    if (ck.state.fingerprint !== fp) {
      throw new Error(`${o.checkpointDir}: the checkpoint was made with other data or options; resume needs the same ones`);
    }
    model = ck.model;
    state = ck.state;
    optimizer = new AdamW(model.params.list(), { lr: o.lr, weightDecay: o.weightDecay ?? 0 });
    optimizer.loadState(ck.optimizer);
  }
  const startStep = state.step;
  const stream = source.create(model, state.position, o.padId);
  const evals: EvalInfo[] = [...(state.evals ?? [])];
  const params = model.params.list();
  const save = (): void => {
    if (!o.checkpointDir) return;
    saveTrainingCheckpoint(o.checkpointDir, model, optimizer.state(), { ...state, position: stream.position, evals }, o.tokenizerDir);
    hooks.onCheckpoint?.(state.step, o.checkpointDir);
  };

  while (state.step < o.steps) {
    let lossSum = 0;
    let tokens = 0;
    const plan = stream.next(state.step, accum);
    for (const batch of plan.batches) {
      tokens += batch.tokens;
      if (batch.targetTokens === 0) continue;
      // Activations and gradients of the micro-batch come from the pool and go back to it (see engine/pool.ts).
      lossSum += pooled(() => {
        const loss = batchLoss(model, batch, plan.linearInput);
        backward(accum === 1 ? loss : scale(loss, 1 / accum));
        return loss.item();
      });
    }
    plan.afterBackward?.();
    const gradNorm = o.clip ? clipGradNorm(params, o.clip) : 0;
    const lr = learningRate(state.step, { lr: o.lr, minLr: o.minLr, warmupSteps: o.warmupSteps ?? 0, totalSteps: o.steps });
    optimizer.lr = lr;
    optimizer.update();
    optimizer.zeroGrad();
    const loss = lossSum / accum;
    if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${state.step + 1}: loss is ${loss}`);
    state.losses.push(loss);
    state = { ...state, step: state.step + 1, position: stream.position };
    hooks.onStep?.({ step: state.step, totalSteps: o.steps, loss, lr, gradNorm, tokens, position: stream.position, ...(plan.kind ? { kind: plan.kind } : {}) });
    if (o.evalEvery && evalExamples.length > 0 && (state.step % o.evalEvery === 0 || state.step === o.steps)) {
      const info = { step: state.step, loss: evaluateLoss(model, evalExamples, o.batchSize, o.padId) };
      evals.push(info);
      hooks.onEval?.(info);
    }
    const stop = hooks.shouldStop?.() ?? false;
    if (o.saveEvery && (state.step % o.saveEvery === 0 || state.step === o.steps || stop)) save();
    if (stop) break;
  }
  return { model, losses: state.losses, evals, step: state.step, startStep, optimizer: optimizer.state() };
}
