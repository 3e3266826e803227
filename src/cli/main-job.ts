import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, writeModelFolder } from '../model/checkpoint.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import { loadEvalSets } from '../eval/datasets.ts';
import { evaluateModel, referenceBaseline, withRecovery, type EvaluateOptions, type ReferenceBaseline } from '../eval/evaluate.ts';
import type { EvalReport, ModelEvaluation } from '../eval/report-types.ts';
import { formatComparisonTable } from '../eval/report/table.ts';
import { writeReport } from '../eval/report/write.ts';
import { Progress, formatDuration } from '../train/progress.ts';
import { DEFAULT_RELEARN } from '../eval/relearn.ts';
import { parseOptions } from '../unlearn/options.ts';
import { getMethod } from '../unlearn/registry.ts';
import { assessResult, openContext, sanitizeContext } from '../unlearn/run.ts';
import { DEFAULT_SANITIZE } from '../unlearn/sanitize.ts';
import type { UnlearnHooks, UnlearnOutcome } from '../unlearn/types.ts';
import { verdictFor } from '../eval/verdict.ts';

/** What the main job runs: the embedded target, persons forget10, and the retain model trained without them. */
export interface MainJobConfig {
  target: string;
  reference: string;
  data: string;
  split: string;
  out: string;
}

export const MAIN_JOB: MainJobConfig = { target: 'models/target', reference: 'models/retain90', data: 'data/persons', split: 'forget10', out: 'out/main-job' };

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
 * with NPO, with NPO followed by SAGE-style sanitisation, and with RMU; evaluate each against the retain model
 * (which never saw those persons); print the comparison with a verdict per method and write the HTML report.
 */
export async function runMainJob(c: MainJobConfig = MAIN_JOB, evalOptions: Partial<EvaluateOptions> = { retainSample: 200, worldSample: 100 }): Promise<{ report: EvalReport; table: string; reportPath: string }> {
  const started = performance.now();
  for (const dir of [c.target, c.reference]) {
    if (!existsSync(join(dir, 'config.json'))) throw new RangeError(`${dir}: the embedded model is missing (run from the repository root)`);
  }
  log(`Lethe main job: make ${c.target} forget the ${c.split} persons of ${c.data}, then check the evidence against ${c.reference}.`);
  const sets = loadEvalSets(c.data, c.split);
  const tokenizer = Tokenizer.fromDir(c.target);
  const models: ModelEvaluation[] = [];
  let reference: ReferenceBaseline | null = null;
  const evaluate = (name: string, role: ModelEvaluation['role'], dir: string, model = loadModel(dir).model, extra: Partial<EvaluateOptions> = {}): ModelEvaluation => {
    const t0 = performance.now();
    const e = evaluateModel({ name, role, dir, model, tokenizer, sets, reference, options: { ...evalOptions, ...extra }, log });
    log(`evaluated ${name} in ${formatDuration((performance.now() - t0) / 1000)}`);
    return e;
  };

  log('evaluating the retain model (the gold standard: never trained on the forget persons)…');
  const referenceModel = loadModel(c.reference).model;
  reference = referenceBaseline(referenceModel, tokenizer, sets, evalOptions);
  const referenceEval = evaluate('retain90', 'reference', c.reference, referenceModel);
  log('evaluating the target (before unlearning)…');
  // The attacks start from the target's own score, so its curves need only their first point.
  const targetEval = evaluate('target', 'target', c.target, undefined, { relearn: { ...DEFAULT_RELEARN, steps: 0 } });

  const forgetFile = join(c.data, `${c.split}.jsonl`);
  const retainFile = join(c.data, `retain${String(100 - Number(c.split.replace('forget', ''))).padStart(2, '0')}.jsonl`);
  const runs: { name: string; method: string; sanitizeAfter?: string }[] = [
    { name: 'npo', method: 'npo' },
    { name: 'npo+sage', method: 'npo', sanitizeAfter: 'npo' },
    { name: 'rmu', method: 'rmu' },
  ];
  const unlearned = new Map<string, Float32Array>();
  for (const run of runs) {
    const t0 = performance.now();
    const { ctx, storedDType, utility } = openContext(c.target, forgetFile, retainFile);
    let options: Record<string, unknown> = {};
    let outcome: Pick<UnlearnOutcome, 'stopReason' | 'steps'> = { stopReason: 'completed', steps: 0 };
    if (run.sanitizeAfter) {
      // SAGE is post-hoc: it sanitises the update NPO already made, so NPO does not run twice.
      ctx.model.params.restore(unlearned.get(run.sanitizeAfter)!);
      log(`${run.name}: sanitising NPO's update against ${DEFAULT_SANITIZE.mode === 'hard' ? 'the' : ''} retain inputs (energy ${DEFAULT_SANITIZE.energy})…`);
      sanitizeContext(ctx, { ...DEFAULT_SANITIZE, samples: 64 });
    } else {
      const method = getMethod(run.method);
      log(`${run.name}: unlearning with ${method.name} (${method.summary})`);
      options = parseOptions(method.options, [], method.name) as Record<string, unknown>;
      outcome = method.run(ctx, options, progressHooks(run.name));
      unlearned.set(run.name, ctx.model.params.snapshot());
    }
    // The same last checks as `lethe unlearn`: finite as stored, not a no-op, within the damage bounds.
    assessResult(ctx, storedDType, options, outcome, utility);
    const seconds = (performance.now() - t0) / 1000;
    const dir = join(c.out, run.name);
    // out/main-job/<method> is the main job's own output: each run replaces it whole.
    writeModelFolder(ctx.model, dir, { dtype: storedDType, copyFrom: c.target, metadata: { lethe_method: run.name }, force: true });
    const e = evaluate(run.name, 'unlearned', dir, ctx.model);
    models.push({ ...e, seconds });
  }
  models.push(targetEval, referenceEval);
  withRecovery(models, targetEval);
  for (const m of models) m.verdict = verdictFor(m, targetEval, referenceEval);

  const report: EvalReport = {
    title: `Lethe: forgetting the ${c.split} persons of the embedded model`,
    created: new Date().toISOString(),
    data: { ...sets.sources, target: c.target, reference: c.reference },
    models,
  };
  const reportDir = join(c.out, 'report');
  await writeReport(reportDir, report);
  log(`done in ${formatDuration((performance.now() - started) / 1000)}`);
  return { report, table: formatComparisonTable(report), reportPath: join(reportDir, 'report.html') };
}
