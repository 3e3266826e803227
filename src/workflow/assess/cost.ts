import { backward } from '../../engine/index.ts';
import type { TrainingRecord } from '../../data/schema.ts';
import { loadModel } from '../../model/checkpoint.ts';
import { Tokenizer } from '../../model/tokenizer.ts';
import { makeBatch } from '../../unlearn/batches.ts';
import { tokenizeItems } from '../../unlearn/data.ts';
import { answerNll } from '../../unlearn/losses.ts';
import { parseOptions, resolveSchedule, type LoopOptions } from '../../unlearn/options.ts';
import { getMethod } from '../../unlearn/registry.ts';

export interface MethodCost {
  method: string;
  steps: number;
  /** Estimated seconds: steps × the measured time of one forward+backward pass on a forget batch × the method's factor. */
  seconds: number;
}

/**
 * Seconds of one forward+backward pass of the model on a batch of (up to 16 of) the forget records: measured,
 * after a warm-up pass, on this machine.
 */
export function measureStepSeconds(modelDir: string, records: readonly TrainingRecord[]): number {
  const { model } = loadModel(modelDir);
  const tokenizer = Tokenizer.fromDir(modelDir);
  const items = tokenizeItems(records.slice(0, 16), tokenizer, model.config.maxPositions);
  const batch = makeBatch(items, tokenizer.padId ?? tokenizer.eosId ?? 0);
  const pass = (): number => {
    const t = performance.now();
    const loss = answerNll(model, batch);
    backward(loss);
    for (const p of model.params.list()) p.grad = null;
    return (performance.now() - t) / 1000;
  };
  pass();
  return pass();
}

/**
 * The estimated cost of each method on `forgetRecords` records: its schedule's steps (derived from the forget set's
 * size and the model's width, as a run would) × the pass time × (1 + retain batch / forget batch, for the retain
 * term) × 4/3 for methods that also run the frozen reference model forward (NPO, SimNPO, DPO, RMU, UNDIAL).
 */
export function estimateCosts(methods: readonly string[], width: number, forgetRecords: number, stepSeconds: number): MethodCost[] {
  const WITH_REFERENCE = new Set(['npo', 'simnpo', 'dpo-idk', 'rmu', 'undial']);
  return methods.map((name) => {
    const m = getMethod(name);
    const o = parseOptions(m.options, [], m.name) as Partial<LoopOptions>;
    if (typeof o.epochs !== 'number' || typeof o.baseLr !== 'number' || typeof o.batchSize !== 'number') return { method: name, steps: 0, seconds: 0 };
    const { steps } = resolveSchedule(o as LoopOptions, width, forgetRecords);
    const retainFactor = m.retain === 'none' ? 1 : 1 + (o.retainBatchSize || o.batchSize) / o.batchSize;
    const seconds = steps * stepSeconds * retainFactor * (WITH_REFERENCE.has(m.name) ? 4 / 3 : 1);
    return { method: m.name, steps, seconds };
  });
}
