import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RETAIN_OF } from '../data/persons/index.ts';
import { backend } from '../engine/index.ts';
import { releaseFreeMemory, setNativeThreads } from '../engine/backends/native.ts';
import { lethesCode } from '../eval/cache.ts';
import { evaluateAgainstReference } from '../eval/compare.ts';
import type { FittedSets } from '../eval/context-fit.ts';
import type { EvaluateOptions } from '../eval/evaluate.ts';
import type { EvalReport } from '../eval/report-types.ts';
import { bestMethod } from '../eval/goals.ts';
import { formatComparisonTable } from '../eval/report/table.ts';
import { writeReport } from '../eval/report/write.ts';
import { callInThread } from '../util/thread.ts';
import { formatDuration } from '../util/progress.ts';
import { comparisonInput, fittedSets, log, MAIN_JOB_RUNS, type MainJobConfig, type UnlearnedRun } from './main-job-lanes.ts';
import { runErasureStory, type ErasureStory } from './main-job-erasure.ts';

export type { MainJobConfig } from './main-job-lanes.ts';

export const MAIN_JOB: MainJobConfig = { target: 'models/target', reference: 'models/retain90', data: 'data/persons', split: 'forget10', out: 'out/main-job', workflow: 'out/workflow' };

/**
 * The main job's evaluation, smaller than `lethe eval`'s defaults so that the whole story takes minutes on two
 * cores: 200 retain and 100 world items, and the attack suite on 50 forget items with 4 samples each (`lethe eval`:
 * 100 and 8), without few-shot prompting — on the embedded models even the target rarely answers after
 * demonstrations, so that attack is uninformative here (docs/verification.md) and cost a fifth of the suite's time.
 * Every model is evaluated with bf16 matmul operands and f32 sums, as the methods' steps run (MAIN_JOB_OPTIONS):
 * an evaluation is two fifths of a lane's time and its GEMMs run at twice the speed (one evaluation 47 → 37 s on one
 * core, 65 → 55 s beside another); the report states the precision, and `lethe eval` keeps f32 unless told.
 */
export const MAIN_JOB_EVALUATION: Partial<EvaluateOptions> = {
  retainSample: 200, worldSample: 100, precision: 'bf16',
  attacks: ['in-context', 'paraphrase', 'probe-sweep', 'logit-lens', 'sampling'], attackOptions: { items: 50, samples: 4 },
};

const LANES = new URL('./main-job-lanes.ts', import.meta.url);
/**
 * A lane's call in a worker thread of its own. When the thread ends its allocator arena still holds what its
 * buffers used (hundreds of MB) until it is trimmed, so every call trims after it.
 */
const inThread = <R>(fn: string, args: readonly unknown[]): Promise<R> => callInThread<R>(LANES, fn, args).finally(releaseFreeMemory);
const unlearnInThread = (c: MainJobConfig, names: string[]): Promise<UnlearnedRun[]> =>
  inThread('unlearnRuns', [c, MAIN_JOB_RUNS.filter((r) => names.includes(r.name))]);
const evaluateInThread = (c: MainJobConfig, o: Partial<EvaluateOptions>, parts: { fitted: FittedSets; target: boolean; unlearned: readonly UnlearnedRun[] }): Promise<void> =>
  inThread('evaluateIntoCache', [c, o, parts]);

/**
 * `npm start`: the whole story on the embedded default. Load the target, make it forget the forget10 persons
 * with NPO, with NPO followed by SAGE-style sanitisation, and with counterexample fine-tuning (each written as `lethe unlearn` writes it,
 * unlearn.json included); evaluate each against the retain model (which never saw those persons); print the
 * comparison with a verdict per method and write the HTML report. Then file an erasure request for one forget10
 * person in an embedded workflow store and run it to a verified, signed certificate (main-job-erasure.ts).
 *
 * The comparison runs in two lanes side by side, each a worker thread computing on one core: NPO (then SAGE, then
 * their evaluations and the target's) in one; the retain model's evaluation, counterexample and its evaluation in the other. The
 * best method by the bars of true forgetting (eval/goals.ts) is named with what it meets and misses.
 * On two cores that beats one lane with two threads per op by about a quarter: much of a step is single-threaded
 * work (JavaScript, small ops) that a second kernel thread does not speed up. The evaluations meet in the
 * evaluation cache, from which this thread assembles the report — the same report one lane would write.
 */
export async function runMainJob(c: MainJobConfig = MAIN_JOB, evalOptions: Partial<EvaluateOptions> = MAIN_JOB_EVALUATION): Promise<{ report: EvalReport; table: string; best: string | null; reportPath: string; erasure: ErasureStory }> {
  const started = performance.now();
  // One source digest for every lane's evaluation cache, so that they find each other's entries (see EvalCache).
  c = { ...c, codeDigest: c.codeDigest ?? lethesCode() };
  for (const dir of [c.target, c.reference]) {
    if (!existsSync(join(dir, 'config.json'))) throw new RangeError(`${dir}: the embedded model is missing (run from the repository root)`);
  }
  if (!Object.hasOwn(RETAIN_OF, c.split)) throw new RangeError(`split "${c.split}" is not a persons forget split (${Object.keys(RETAIN_OF).join(', ')})`);
  log(`Lethe main job: make ${c.target} forget the ${c.split} persons of ${c.data}, then check the evidence against ${c.reference}.`);

  // One kernel thread per lane while both run (the pool is the process's; its size is part of the cache key, so
  // the assembly below runs at the same size).
  const threads = backend().threads;
  if (backend().name === 'native') setNativeThreads(1);
  let report: EvalReport;
  try {
    // NPO needs no evaluation set: its lane starts while this thread fits the sets to the context, once for all.
    const npoRuns = unlearnInThread(c, ['npo', 'npo+sage']);
    const fitted = fittedSets(c);
    const [npoEvaluated, otherRuns] = await Promise.all([
      (async () => {
        const runs = await npoRuns;
        // The target's evaluation closes this lane: counterexample's run is the longer, so the other lane starts it
        // as soon as the reference is evaluated (the baseline every evaluation reads). This lane ends about 30 s
        // before the other, but moving the retain model's evaluation here and the target's there (counterexample
        // starting at once) was slower at ff34464, 226 s against 207 s: the evaluations ran 25-75% slower beside
        // each other than beside a training run.
        await evaluateInThread(c, evalOptions, { fitted, target: true, unlearned: runs });
        return runs;
      })(),
      (async () => {
        await evaluateInThread(c, evalOptions, { fitted, target: false, unlearned: [] });
        const runs = await unlearnInThread(c, ['counterexample']);
        await evaluateInThread(c, evalOptions, { fitted, target: false, unlearned: runs });
        return runs;
      })(),
    ]);
    // Every evaluation is in the cache now: this reads them back, and adds the verdicts and recovery steps.
    report = evaluateAgainstReference(comparisonInput(c, evalOptions, { fitted, target: true, unlearned: [...npoEvaluated, ...otherRuns] }));
  } finally {
    if (backend().name === 'native') setNativeThreads(threads);
  }
  const reportDir = join(c.out, 'report');
  await writeReport(reportDir, report);
  log(`method comparison done in ${formatDuration((performance.now() - started) / 1000)}`);
  // The same erasure as a data-protection officer would request it: one person, through the workflow, to a certificate.
  // It runs after both lanes, on both cores. Run at the end of the NPO lane instead, on that lane's one kernel thread
  // beside the other lane's last evaluation, it was slower twice: 633a7a7 (250.7 s against 249 s), and on 2026-12-03
  // in interleaved runs from an empty cache, 255 and 256 s against 209 and 236 s after both lanes. Started as soon as
  // the NPO lane ended at b5caf73 (about 20 s before the other), it gained nothing: 200.5 s against 199.7 s, the
  // other lane's last evaluation taking 33 s instead of 26.5 and the erasure 31 s instead of 18.5.
  const erasure = await runErasureStory({ model: c.target, data: c.data, dataDir: c.workflow, log });
  log(`done in ${formatDuration((performance.now() - started) / 1000)}`);
  return { report, table: formatComparisonTable(report), best: bestMethod(report.models)?.line ?? null, reportPath: join(reportDir, 'report.html'), erasure };
}
