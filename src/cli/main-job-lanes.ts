// The two halves of the main job's method comparison that run side by side, each in a worker thread
// (main-job.ts): unlearning runs, and evaluations whose results go into the evaluation cache, from which the main
// thread then assembles the report. Arguments and results are plain data (they cross a thread boundary).
import { writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { RETAIN_OF, type ForgetSplit } from '../data/persons/index.ts';
import { EvalCache } from '../eval/cache.ts';
import { evaluateAgainstReference, type ComparisonInput, type ModelToEvaluate } from '../eval/compare.ts';
import { fitSetsToContext, type FittedSets } from '../eval/context-fit.ts';
import { loadEvalSets } from '../eval/datasets.ts';
import type { EvaluateOptions } from '../eval/evaluate.ts';
import { DEFAULT_RELEARN } from '../eval/relearn.ts';
import { readConfig } from '../model/config.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import { finishUnlearning, prepareUnlearning, writeUnlearned } from '../unlearn/run.ts';
import { DEFAULT_SANITIZE } from '../unlearn/sanitize.ts';
import type { UnlearnHooks, UnlearnOutcome } from '../unlearn/types.ts';
import { Progress, type ProgressStream } from '../util/progress.ts';

/** What the main job runs: the embedded target, persons forget10, and the retain model trained without them. */
export interface MainJobConfig {
  target: string;
  reference: string;
  data: string;
  split: string;
  out: string;
  /** The embedded workflow store the erasure request runs in (replaced on every run). */
  workflow: string;
  /** The source digest the evaluation cache keys by, taken once by the main thread for every lane (see EvalCache). */
  codeDigest?: string;
}

/** One run of the comparison: a method, or SAGE-style sanitisation of another run's update. */
export interface MainJobRun {
  name: string;
  method: string;
  /** The run whose update is sanitised (it must come earlier in the same lane). */
  sanitizeAfter?: string;
}

/**
 * Options every run gets: the retain batch through in chunks of 16 items, so a step holds the activations of 16 items
 * at a time, not 48 (the same gradient up to float rounding, docs/unlearning.md) — the lanes run side by side in one
 * process, and their steps' activations were most of its peak memory; and bf16 mixed-precision steps (f32 weights
 * and guard checks; NPO's 200 steps 107 s → 87 s on this machine's AVX512-BF16, with the same verdicts). Every
 * evaluation stays f32.
 */
export const MAIN_JOB_OPTIONS: readonly string[] = ['retainChunk=16', 'precision=bf16'];

/**
 * NPO (the field's standard), NPO followed by SAGE-style sanitisation, and counterexample fine-tuning: the method that
 * meets the most bars of true forgetting in `npm run bench -- unlearn --case best` (forget quality 0.18 ≥ 0.05, MIA
 * AUC and probe at the retain model's level; RMU, which ran here before, met two).
 */
export const MAIN_JOB_RUNS: readonly MainJobRun[] = [
  { name: 'npo', method: 'npo' },
  { name: 'npo+sage', method: 'npo', sanitizeAfter: 'npo' },
  { name: 'counterexample', method: 'counterexample' },
];

/** A written unlearned model: its folder and how long its unlearning took. */
export interface UnlearnedRun {
  name: string;
  dir: string;
  seconds: number;
}

/**
 * stderr written at once: a worker thread's process.stderr is forwarded by its event loop, which a lane's
 * synchronous work holds up for minutes, so its lines would arrive in bursts, long after the fact.
 */
const stderrNow: ProgressStream = { isTTY: false, write: (text: string) => writeSync(2, text) };
/** One line to stderr, at once (the main job's own lines use it too, so every line goes out the same way). */
export const log = (line: string): void => {
  stderrNow.write(`${line}\n`);
};

/** Progress of a method's optimisation as a bar (or log lines off a terminal), guard checks as notes. */
function progressHooks(label: string): UnlearnHooks {
  let bar: Progress | null = null;
  let phase = '';
  return {
    onStep: (e) => {
      if (!bar || e.phase !== phase) {
        phase = e.phase;
        bar = new Progress({ total: e.totalSteps, label: `${label} ${e.phase}`, unit: 'steps/s', logEvery: 15, stream: stderrNow });
      }
      bar.update(e.step, 1, `loss ${e.loss.toFixed(3)}`);
    },
    onMessage: (m) => (bar ? bar.note(m) : log(m)),
  };
}

/**
 * Runs the given runs in order, each written as `lethe unlearn` writes it (unlearn.json included) to
 * `<out>/<name>`, and runs the same last checks (finite as stored, not a no-op, within the damage bounds).
 */
export function unlearnRuns(c: MainJobConfig, runs: readonly MainJobRun[]): UnlearnedRun[] {
  const forgetPath = join(c.data, `${c.split}.jsonl`);
  const retainPath = join(c.data, `${RETAIN_OF[c.split as ForgetSplit]}.jsonl`);
  const done = new Map<string, { weights: Float32Array; outcome: UnlearnOutcome }>();
  const written: UnlearnedRun[] = [];
  for (const run of runs) {
    const t0 = performance.now();
    const sanitize = run.sanitizeAfter ? { ...DEFAULT_SANITIZE, samples: 64 } : undefined;
    const p = prepareUnlearning({ modelDir: c.target, forgetPath, retainPath, method: run.method, sanitize, options: [...MAIN_JOB_OPTIONS] });
    let outcome: UnlearnOutcome;
    if (run.sanitizeAfter) {
      // SAGE is post-hoc: it sanitises the update the method already made, so the method does not run twice.
      const before = done.get(run.sanitizeAfter);
      if (!before) throw new Error(`${run.name}: ${run.sanitizeAfter} must run before it, in the same lane`);
      p.opened.ctx.model.params.restore(before.weights);
      outcome = before.outcome;
      log(`${run.name}: sanitising ${run.sanitizeAfter}'s update against the retain inputs (energy ${DEFAULT_SANITIZE.energy})…`);
    } else {
      log(`${run.name}: unlearning with ${p.method.name} (${p.method.summary})`);
      outcome = p.method.run(p.opened.ctx, p.options, progressHooks(run.name));
      done.set(run.name, { weights: p.opened.ctx.model.params.snapshot(), outcome });
    }
    const result = finishUnlearning(p, outcome, t0);
    const dir = join(c.out, run.name);
    // out/main-job/<method> is the main job's own output: each run replaces it whole.
    writeUnlearned(result, dir, { force: true });
    written.push({ name: run.name, dir, seconds: (performance.now() - t0) / 1000 });
  }
  return written;
}

/** The comparison's input, the same in every lane and in the final assembly, so that they share cache keys. */
export function comparisonInput(c: MainJobConfig, evalOptions: Partial<EvaluateOptions>, parts: { fitted: FittedSets; target: boolean; unlearned: readonly ModelToEvaluate[] }): ComparisonInput {
  return {
    sets: parts.fitted.sets, fitted: parts.fitted, tokenizer: Tokenizer.fromDir(c.target),
    reference: { dir: c.reference, name: basename(c.reference) },
    // The attacks start from the target's own score, so its curves need only their first point.
    ...(parts.target ? { target: { dir: c.target, name: 'target', options: { relearn: { ...DEFAULT_RELEARN, steps: 0 } } } } : {}),
    unlearned: parts.unlearned, options: evalOptions,
    title: `Lethe: forgetting the ${c.split} persons of the embedded model`,
    // The seconds per method are wall times with the other lane computing beside it: say so where they are shown.
    data: {
      timing: 'methods ran in two lanes side by side (NPO and NPO+SAGE in one, counterexample in the other): each method\'s seconds include sharing the machine with the other lane',
      steps: `every method ran with ${MAIN_JOB_OPTIONS.join(', ')}: bf16 matmuls in its optimisation steps (f32 weights), the retain batch in chunks; the figures here are measured at the matmul_precision this report states`,
    },
    // The target and the retain model are the same on every run: evaluated once, then read back.
    cache: new EvalCache(join(c.out, '..', 'cache', 'eval'), log, c.codeDigest),
    log,
  };
}

/**
 * The main job's evaluation sets, fitted to the target's context once (tokenizing every item takes seconds): every
 * lane and the final assembly take these.
 */
export function fittedSets(c: MainJobConfig): FittedSets {
  return fitSetsToContext(loadEvalSets(c.data, c.split), Tokenizer.fromDir(c.target), readConfig(c.target).maxPositions);
}

/**
 * Evaluates the reference (read back from the cache when it is there), the target if asked, and the given
 * unlearned models, leaving every evaluation in the cache for the final assembly.
 */
export function evaluateIntoCache(c: MainJobConfig, evalOptions: Partial<EvaluateOptions>, parts: { fitted: FittedSets; target: boolean; unlearned: readonly UnlearnedRun[] }): void {
  evaluateAgainstReference(comparisonInput(c, evalOptions, parts));
}
