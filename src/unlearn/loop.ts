import { AdamW, add, backward, clipGradNorm, pooled, poolPhase, scale, sub, withMatmulPrecision, type Tensor } from '../engine/index.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { learningRate } from '../train/schedule.ts';
import { chunkBatch, ItemStream, type UnlearnBatch } from './batches.ts';
import { allFinite, damageBreach, GuardSample } from './checks.ts';
import type { UnlearnItem } from './data.ts';
import { answerNll, klToReference } from './losses.ts';
import { OptionError, resolveSchedule, type LoopOptions } from './options.ts';
import { loadLoopCheckpoint, loopFingerprint, saveLoopCheckpoint } from './loop-checkpoint.ts';

/** The retain term's options, which methods without one (gradient ascent) leave out. */
type RetainOptionKey = 'alpha' | 'retainLoss' | 'primalDual' | 'retainEps' | 'dualStep';
/** The loop's options; methods without a retain term (gradient ascent) leave the retain term's options out. */
export type LoopOptionsIn = Omit<LoopOptions, RetainOptionKey> & Partial<Pick<LoopOptions, RetainOptionKey>>;
import { frozenModel } from './reference.ts';
import type { CheckEvent, StepEvent, StopReason, UnlearnContext, UnlearnHooks, UnlearnOutcome } from './types.ts';

/**
 * One dual-ascent step of the primal–dual retain constraint retain ≤ ε (PDU): λ ← max(0, λ + η·(retain − ε)). λ grows
 * while the constraint is violated and shrinks back to 0 once it holds with room to spare.
 */
export function dualAscent(lambda: number, retain: number, eps: number, step: number): number {
  return Math.max(0, lambda + step * (retain - eps));
}

/** What a loss-based method gives the shared loop: its forget term, and optionally its own retain term. */
export interface LossSpec {
  /** Scalar forget loss L_forget for a forget batch (the loop adds γ·L_forget + α·L_retain). */
  forget(batch: UnlearnBatch, tools: LossTools): Tensor;
  /** Replaces the shared retain term (NLL or KL), e.g. RMU's activation-matching term. */
  retain?(batch: UnlearnBatch, tools: LossTools): Tensor;
  /**
   * What the custom retain term is a mean over, counted in a batch (RMU: its real tokens), so that the term of a
   * batch is the weighted sum of its chunks' terms (retainChunk). Without it a custom retain term is never chunked.
   */
  retainCount?(batch: UnlearnBatch): number;
  /** Names of the parameters to train; all of them when absent. The rest stay bit-for-bit unchanged. */
  trainable?: readonly string[];
  /** Named values to log beside the loss (e.g. NPO's mean log-ratio), read after each forget() call. */
  parts?: () => Record<string, number>;
}

export interface LossTools {
  model: CausalLM;
  /** The frozen model at θ before unlearning, made on first use. */
  reference(): CausalLM;
}

export interface LoopRun {
  /** Forget items to optimise on (defaults to ctx.forget; refusal methods keep these and rewrite answers). */
  forget?: readonly UnlearnItem[];
  /** Phase name in events. */
  phase?: string;
  /** Run the guards (off for inner phases, such as a task vector's fine-tune, that are meant to move away). */
  guards?: boolean;
}

/**
 * The optimisation loop every loss-based method shares: paired forget/retain batches, AdamW with warmup, the
 * retain term (weighted by α, or with primalDual by a λ learnt by dual ascent), progress events, and the guards.
 * Guards: early stop at the forget target; stop and roll back to the last good check when the retain loss rises past
 * its bound; on a non-finite loss or gradient, stop without applying it and roll back, so a NaN model is never the
 * result.
 */
export function runLossLoop(ctx: UnlearnContext, o: LoopOptionsIn, spec: LossSpec, hooks: UnlearnHooks, run: LoopRun = {}): UnlearnOutcome {
  return poolPhase(() => lossLoop(ctx, o, spec, hooks, run));
}

function lossLoop(ctx: UnlearnContext, o: LoopOptionsIn, spec: LossSpec, hooks: UnlearnHooks, run: LoopRun): UnlearnOutcome {
  const model = ctx.model;
  const phase = run.phase ?? 'unlearn';
  const guards = run.guards ?? true;
  let ref: CausalLM | null = null;
  const tools: LossTools = { model, reference: () => (ref ??= frozenModel(model, ctx.original)) };
  const forgetItems = run.forget ?? ctx.forget;
  const { steps, lr: peakLr, checkEvery } = resolveSchedule(o, model.config.hiddenSize, forgetItems.length);
  const alpha = o.alpha ?? 0;
  // PDU: λ (from α) weighs retain − ε and follows dual ascent; ε, when not given, is the first step's retain term.
  const dual = o.primalDual ? { lambda: alpha, eps: o.retainEps ?? null, step: o.dualStep ?? 1 } : null;
  if (dual && ctx.retain.length === 0) throw new OptionError('primalDual needs a retain set: the constraint bounds the retain term');
  const useRetain = ctx.retain.length > 0 && (alpha > 0 || dual !== null);
  const retainTerm = spec.retain ?? (o.retainLoss === 'kl'
    ? (b: UnlearnBatch) => klToReference(model, tools.reference(), b)
    : (b: UnlearnBatch) => answerNll(model, b));
  // What the retain term averages over: the KL every real token, the NLL every answer token.
  const retainCount = spec.retain ? spec.retainCount : o.retainLoss === 'kl'
    ? (b: UnlearnBatch) => b.realTokens
    : (b: UnlearnBatch) => b.answers.answerPositions.length;
  const retainChunk = retainCount ? o.retainChunk ?? 0 : 0;
  // A step's forward and backward passes: in a pooled scope each (activations and gradients reuse the last step's
  // memory; what outlives it is read out or copied into the model's gradient storage), at the run's precision.
  const pass = <T>(fn: () => T): T => pooled(() => withMatmulPrecision(o.precision ?? 'f32', fn));

  const all = model.params.list();
  const trainable = spec.trainable ? new Set(spec.trainable) : null;
  const params = trainable ? model.params.entries().filter(([n]) => trainable.has(n)).map(([, p]) => p) : all;
  if (params.length === 0) throw new RangeError('no parameters to train');
  const frozen = trainable ? all.filter((p) => !params.includes(p)) : [];
  for (const p of frozen) p.requiresGrad = false;

  const optimizer = new AdamW(params, { lr: peakLr, weightDecay: o.weightDecay });
  const forgetStream = new ItemStream(forgetItems, o.batchSize, o.seed, ctx.padId);
  const retainStream = useRetain ? new ItemStream(ctx.retain, o.retainBatchSize || o.batchSize, o.seed + 7919, ctx.padId) : null;
  const sample = new GuardSample(ctx, o.checkSamples);
  const curve: StepEvent[] = [];
  const checks: CheckEvent[] = [];
  let lastGood = model.params.snapshot();
  let lastGoodStep = 0;
  let rolledBackTo: number | null = null;
  let stopReason: StopReason = 'completed';
  let step = 0;
  let warnedMemorising = false;

  const check = (): CheckEvent => {
    const c = sample.check(model, step);
    checks.push(c);
    hooks.onCheck?.(c);
    return c;
  };
  // Resumable runs (hooks.checkpoint): the main phase only, since inner phases are short and guard-free.
  const ckpt = guards && hooks.checkpoint ? hooks.checkpoint : null;
  const fingerprint = ckpt ? loopFingerprint({ phase, options: { ...o, steps, lr: peakLr }, forget: forgetItems, retain: useRetain ? ctx.retain : [], original: ctx.original }) : '';
  const resumed = ckpt ? loadLoopCheckpoint(ckpt.dir, fingerprint) : null;
  let start: CheckEvent | null;
  let lastSaved = 0;
  if (resumed) {
    model.params.restore(resumed.params);
    optimizer.loadState(resumed.optimizer);
    step = lastSaved = resumed.state.step;
    start = resumed.state.start;
    curve.push(...resumed.state.curve);
    checks.push(...resumed.state.checks);
    warnedMemorising = resumed.state.warnedMemorising;
    const last = resumed.state.curve.at(-1);
    if (dual && last) {
      // λ and ε are functions of the logged curve: the step after the last one logged resumes them exactly.
      dual.eps ??= resumed.state.curve[0]!.parts['retain']!;
      dual.lambda = dualAscent(last.parts['lambda']!, last.parts['retain']!, dual.eps, dual.step);
    }
    lastGood = model.params.snapshot();
    lastGoodStep = step;
    // The batch order is a function of the seed: replay it to where the run stopped.
    for (let i = 0; i < step; i++) {
      forgetStream.next();
      retainStream?.next();
    }
    hooks.onMessage?.(`${phase}: resumed from the checkpoint at step ${step} of ${steps}`);
  } else {
    start = guards ? check() : null;
  }

  // The retain term of a step with its weight: α, or under PDU λ on retain − ε (ε measured on the first step).
  const withRetain = (parts: Record<string, number>, retain: number): number => {
    parts['retain'] = retain;
    if (!dual) return alpha * retain;
    dual.eps ??= retain;
    parts['lambda'] = dual.lambda;
    return dual.lambda * (retain - dual.eps);
  };
  // A step as one graph: forget and retain forward, one backward of γ·forget + α·retain (λ·(retain − ε) under PDU).
  const wholeStep = (): { value: number; parts: Record<string, number> } => pass(() => {
    const lf = spec.forget(forgetStream.next(), tools);
    const parts: Record<string, number> = { forget: lf.item(), ...(spec.parts?.() ?? {}) };
    let loss = scale(lf, o.gamma);
    if (retainStream) {
      const lr = retainTerm(retainStream.next(), tools);
      withRetain(parts, lr.item());
      loss = add(loss, dual ? scale(sub(lr, dual.eps!), dual.lambda) : scale(lr, alpha));
    }
    const value = loss.item();
    if (Number.isFinite(value)) backward(loss);
    return { value, parts };
  });
  // retainChunk: the forget term, then the retain batch in chunks, each forward and backward in a scope of its own,
  // so a step holds one pass's activations at a time, not both batches'. The chunks' terms weighted by their share of
  // what the term averages over sum to the batch's term, so the gradients add up to the same step's, to rounding.
  const chunkedStep = (retainStream: ItemStream): { value: number; parts: Record<string, number> } => {
    const forget = pass(() => {
      const lf = spec.forget(forgetStream.next(), tools);
      const v = lf.item();
      const parts: Record<string, number> = { forget: v, ...(spec.parts?.() ?? {}) };
      // A constant forget term (retain-only phases, such as localized ablation's repair) has no gradient to give.
      if (Number.isFinite(v) && lf.requiresGrad) backward(scale(lf, o.gamma));
      return { v, parts };
    });
    const parts = forget.parts;
    if (!Number.isFinite(forget.v)) return { value: forget.v, parts };
    const weight = dual ? dual.lambda : alpha;
    let retain = 0;
    for (const { batch, share } of chunkBatch(retainStream.next(), retainChunk, ctx.padId, retainCount!)) {
      retain += share * pass(() => {
        const lr = retainTerm(batch, tools);
        const v = lr.item();
        if (Number.isFinite(v) && lr.requiresGrad) backward(scale(lr, weight * share));
        return v;
      });
    }
    return { value: o.gamma * forget.v + withRetain(parts, retain), parts };
  };

  try {
    while (step < steps) {
      const { value, parts } = retainChunk > 0 && retainStream ? chunkedStep(retainStream) : wholeStep();
      if (!Number.isFinite(value)) {
        // Passes before the one that went non-finite may have left gradients: never apply them.
        optimizer.zeroGrad();
        stopReason = 'non-finite';
        break;
      }
      const gradNorm = clipGradNorm(params, o.clip > 0 ? o.clip : Infinity);
      if (!Number.isFinite(gradNorm)) {
        optimizer.zeroGrad();
        stopReason = 'non-finite';
        break;
      }
      const lr = learningRate(step, { lr: peakLr, minLr: peakLr, warmupSteps: o.warmupSteps, totalSteps: steps });
      optimizer.lr = lr;
      optimizer.update();
      optimizer.zeroGrad();
      if (dual) dual.lambda = dualAscent(dual.lambda, parts['retain']!, dual.eps!, dual.step);
      step++;
      const event: StepEvent = { phase, step, totalSteps: steps, loss: value, parts, lr, gradNorm };
      curve.push(event);
      hooks.onStep?.(event);

      if (guards && (step % checkEvery === 0 || step === steps)) {
        const c = check();
        // A retain NLL far below its start means the run memorises the retain set it trains on: its guard then
        // rewards that and misses general damage. Said once; the utility guard is what catches the damage.
        // Far below: by more than the guard's bound, or by more than half of where it started (a retain set that
        // starts under 1 nat can never fall by 1, yet falling to a third of it is memorising).
        if (!warnedMemorising && c.retainLoss !== null && start!.retainLoss !== null && o.maxRetainLossRise > 0
          && (start!.retainLoss - c.retainLoss > o.maxRetainLossRise || c.retainLoss < start!.retainLoss / 2)) {
          warnedMemorising = true;
          hooks.onMessage?.(`${phase}: retain NLL fell from ${start!.retainLoss.toFixed(4)} to ${c.retainLoss.toFixed(4)}: the run is memorising the retain set, `
            + 'so the retain guard no longer reflects general damage (give --utility FILE with held-out text to guard that)');
        }
        const breach = damageBreach(start!, c, o);
        if (breach) {
          stopReason = breach;
          break;
        }
        lastGood = model.params.snapshot();
        lastGoodStep = step;
        if (ckpt && step - lastSaved >= ckpt.every && step < steps) {
          saveLoopCheckpoint(ckpt.dir, model, optimizer.state(), { step, start, curve, checks, warnedMemorising, fingerprint });
          lastSaved = step;
        }
        if (o.targetForgetProb > 0 && c.forgetProb <= o.targetForgetProb) {
          stopReason = 'forget-target';
          break;
        }
      }
      if (hooks.shouldStop?.()) {
        stopReason = 'stopped';
        break;
      }
    }
    if (stopReason === 'completed' && !allFinite(model.params.flat)) stopReason = 'non-finite';
    if (stopReason === 'non-finite' || stopReason === 'retain-guard' || stopReason === 'utility-guard') {
      // Back to the weights of the last check that passed (θ itself when none had yet).
      model.params.restore(lastGood);
      rolledBackTo = lastGoodStep;
      hooks.onMessage?.(`${phase}: stopped at step ${step} (${stopReason}); weights rolled back to the last good check (step ${lastGoodStep})`);
    }
  } finally {
    for (const p of frozen) p.requiresGrad = true;
    model.params.zeroGrad();
  }
  const details: Record<string, unknown> = rolledBackTo === null ? {} : { weightsFromStep: rolledBackTo };
  // The constraint as run: ε (given or measured), η, and λ at the start and after the last step.
  if (dual) details['primalDual'] = { retainEps: dual.eps, dualStep: dual.step, lambdaStart: alpha, lambdaEnd: dual.lambda };
  return { stopReason, steps: step, curve, checks, details };
}
