import { existsSync } from 'node:fs';
import { clearPool } from '../engine/index.ts';
import { basename, join } from 'node:path';
import { RETAIN_OF, type ForgetSplit } from '../data/persons/index.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import { EvalCache } from '../eval/cache.ts';
import { evaluateAgainstReference, type ModelToEvaluate } from '../eval/compare.ts';
import { loadEvalSets } from '../eval/datasets.ts';
import type { EvaluateOptions } from '../eval/evaluate.ts';
import type { EvalReport } from '../eval/report-types.ts';
import { formatComparisonTable } from '../eval/report/table.ts';
import { writeReport } from '../eval/report/write.ts';
import { Progress, formatDuration } from '../util/progress.ts';
import { DEFAULT_RELEARN } from '../eval/relearn.ts';
import { finishUnlearning, prepareUnlearning, writeUnlearned } from '../unlearn/run.ts';
import { DEFAULT_SANITIZE } from '../unlearn/sanitize.ts';
import type { UnlearnHooks, UnlearnOutcome } from '../unlearn/types.ts';
import { runErasureStory, type ErasureStory } from './main-job-erasure.ts';

/** What the main job runs: the embedded target, persons forget10, and the retain model trained without them. */
export interface MainJobConfig {
  target: string;
  reference: string;
  data: string;
  split: string;
  out: string;
  /** The embedded workflow store the erasure request runs in (replaced on every run). */
  workflow: string;
}

export const MAIN_JOB: MainJobConfig = { target: 'models/target', reference: 'models/retain90', data: 'data/persons', split: 'forget10', out: 'out/main-job', workflow: 'out/workflow' };

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Progress of a method's optimisation as a bar (or log lines off a terminal), guard checks as notes. */
function progressHooks(label: string): UnlearnHooks {
  let bar: Progress | null = null;
  let phase = '';
  return {
    onStep: (e) => {
      if (!bar || e.phase !== phase) {
        phase = e.phase;
        bar = new Progress({ total: e.totalSteps, label: `${label} ${e.phase}`, unit: 'steps/s', logEvery: 15 });
      }
      bar.update(e.step, 1, `loss ${e.loss.toFixed(3)}`);
    },
    onMessage: (m) => (bar ? bar.note(m) : log(m)),
  };
}

/**
 * `npm start`: the whole story on the embedded default. Load the target, make it forget the forget10 persons
 * with NPO, with NPO followed by SAGE-style sanitisation, and with RMU (each written as `lethe unlearn` writes it,
 * unlearn.json included); evaluate each against the retain model (which never saw those persons); print the
 * comparison with a verdict per method and write the HTML report. Then file an erasure request for one forget10
 * person in an embedded workflow store and run it to a verified, signed certificate (main-job-erasure.ts).
 */
export async function runMainJob(c: MainJobConfig = MAIN_JOB, evalOptions: Partial<EvaluateOptions> = { retainSample: 200, worldSample: 100 }): Promise<{ report: EvalReport; table: string; reportPath: string; erasure: ErasureStory }> {
  const started = performance.now();
  for (const dir of [c.target, c.reference]) {
    if (!existsSync(join(dir, 'config.json'))) throw new RangeError(`${dir}: the embedded model is missing (run from the repository root)`);
  }
  if (!Object.hasOwn(RETAIN_OF, c.split)) throw new RangeError(`split "${c.split}" is not a persons forget split (${Object.keys(RETAIN_OF).join(', ')})`);
  log(`Lethe main job: make ${c.target} forget the ${c.split} persons of ${c.data}, then check the evidence against ${c.reference}.`);
  const sets = loadEvalSets(c.data, c.split);
  const forgetPath = join(c.data, `${c.split}.jsonl`);
  const retainPath = join(c.data, `${RETAIN_OF[c.split as ForgetSplit]}.jsonl`);

  const runs: { name: string; method: string; sanitizeAfter?: string }[] = [
    { name: 'npo', method: 'npo' },
    { name: 'npo+sage', method: 'npo', sanitizeAfter: 'npo' },
    { name: 'rmu', method: 'rmu' },
  ];
  const done = new Map<string, { weights: Float32Array; outcome: UnlearnOutcome }>();
  const unlearned: ModelToEvaluate[] = [];
  for (const run of runs) {
    const t0 = performance.now();
    const sanitize = run.sanitizeAfter ? { ...DEFAULT_SANITIZE, samples: 64 } : undefined;
    const p = prepareUnlearning({ modelDir: c.target, forgetPath, retainPath, method: run.method, sanitize });
    let outcome: UnlearnOutcome;
    if (run.sanitizeAfter) {
      // SAGE is post-hoc: it sanitises the update NPO already made, so NPO does not run twice.
      const before = done.get(run.sanitizeAfter)!;
      p.opened.ctx.model.params.restore(before.weights);
      outcome = before.outcome;
      log(`${run.name}: sanitising NPO's update against the retain inputs (energy ${DEFAULT_SANITIZE.energy})…`);
    } else {
      log(`${run.name}: unlearning with ${p.method.name} (${p.method.summary})`);
      outcome = p.method.run(p.opened.ctx, p.options, progressHooks(run.name));
      done.set(run.name, { weights: p.opened.ctx.model.params.snapshot(), outcome });
    }
    // The same last checks as `lethe unlearn`: finite as stored, not a no-op, within the damage bounds.
    const result = finishUnlearning(p, outcome, t0);
    const dir = join(c.out, run.name);
    // out/main-job/<method> is the main job's own output: each run replaces it whole.
    writeUnlearned(result, dir, { force: true });
    unlearned.push({ dir, name: run.name, model: result.model, seconds: (performance.now() - t0) / 1000 });
  }

  const report = evaluateAgainstReference({
    sets, tokenizer: Tokenizer.fromDir(c.target),
    reference: { dir: c.reference, name: basename(c.reference) },
    // The attacks start from the target's own score, so its curves need only their first point.
    target: { dir: c.target, name: 'target', options: { relearn: { ...DEFAULT_RELEARN, steps: 0 } } },
    unlearned, options: evalOptions,
    title: `Lethe: forgetting the ${c.split} persons of the embedded model`,
    // The target and the retain model are the same on every run: evaluated once, then read back.
    cache: new EvalCache(join(c.out, '..', 'cache', 'eval'), log),
    log,
  });
  const reportDir = join(c.out, 'report');
  await writeReport(reportDir, report);
  log(`method comparison done in ${formatDuration((performance.now() - started) / 1000)}`);
  // The buffers the comparison's steps kept for reuse go back to the garbage collector: the erasure's work runs in
  // worker threads with pools of their own, so this process would otherwise hold both.
  clearPool();
  // The same erasure as a data-protection officer would request it: one person, through the workflow, to a certificate.
  const erasure = await runErasureStory({ model: c.target, data: c.data, dataDir: c.workflow, log });
  log(`done in ${formatDuration((performance.now() - started) / 1000)}`);
  return { report, table: formatComparisonTable(report), reportPath: join(reportDir, 'report.html'), erasure };
}
