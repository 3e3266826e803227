/**
 * The `unlearn` suite's `best` case: the candidate methods for true forgetting run as the main job runs its methods
 * (src/cli/main-job-lanes.ts: the same options, written whole, evaluated with the main job's evaluation, attacks
 * included) on the GPT-2 target, then judged by the bars of true forgetting (src/eval/goals.ts) against retain90. One
 * line per candidate with forget quality, utility, MIA AUC, probe accuracy and 50% relearning steps against the retain
 * model's, then a `best` line naming the candidate the main job's rule ranks first and why.
 */
import { join } from 'node:path';
import { MAIN_JOB, MAIN_JOB_EVALUATION } from '../../src/cli/main-job.ts';
import { comparisonInput, fittedSets, unlearnRuns, type MainJobRun } from '../../src/cli/main-job-lanes.ts';
import { lethesCode } from '../../src/eval/cache.ts';
import { evaluateAgainstReference } from '../../src/eval/compare.ts';
import { bestMethod, goalChecks } from '../../src/eval/goals.ts';
import type { ModelEvaluation } from '../../src/eval/report-types.ts';
import { makeLine, round } from '../lib/report.ts';
import type { ResultLine } from '../lib/types.ts';

/** The main job's three methods and the two that aim at the retain model's level rather than below it. */
const CANDIDATES: readonly MainJobRun[] = [
  { name: 'npo', method: 'npo' },
  { name: 'npo+sage', method: 'npo', sanitizeAfter: 'npo' },
  { name: 'rmu', method: 'rmu' },
  { name: 'counterexample', method: 'counterexample' },
  { name: 'indifference', method: 'indifference' },
];

const relearn50 = (m: ModelEvaluation): number | null => m.relearn.find((r) => r.mode === 'forget-part')?.steps50 ?? null;
const lossAuc = (m: ModelEvaluation): number | null => m.mia.find((a) => a.attack === 'loss')?.auc ?? null;

export function runBestCase(emit: (line: ResultLine) => void): void {
  const c = { ...MAIN_JOB, out: join('bench', '.cache', 'unlearn-best'), codeDigest: lethesCode() };
  const runs = unlearnRuns(c, CANDIDATES);
  const report = evaluateAgainstReference(comparisonInput(c, MAIN_JOB_EVALUATION, { fitted: fittedSets(c), target: true, unlearned: runs }));
  const target = report.models.find((m) => m.role === 'target')!;
  const reference = report.models.find((m) => m.role === 'reference')!;
  const peer = 'retain90';
  for (const m of report.models.filter((x) => x.role === 'unlearned')) {
    const checks = goalChecks(m, target, reference);
    emit(makeLine({
      suite: 'unlearn', caseName: `best/${m.name}`, metric: 'bars-met', value: checks.filter((x) => x.met === true).length, peer,
      outcome: { ok: false, note: 'the bars are judged against the retain model\'s values, given in the fields' },
      extras: {
        arch: 'gpt2', forget_quality: m.forgetQuality, utility_ratio: round(m.modelUtility / target.modelUtility),
        mia_auc: lossAuc(m), peer_mia_auc: lossAuc(reference),
        probe_accuracy: m.probe?.probeAccuracy ?? null, peer_probe_accuracy: reference.probe?.probeAccuracy ?? null,
        relearn_steps50: relearn50(m), peer_relearn_steps50: relearn50(reference),
        forget_prob: round(m.forget.probability), peer_forget_prob: round(reference.forget.probability),
        bars_met: checks.filter((x) => x.met === true).map((x) => x.id).join(','), bars_missed: checks.filter((x) => x.met === false).map((x) => x.id).join(','), seconds: m.seconds === null ? null : round(m.seconds),
      },
    }));
  }
  const best = bestMethod(report.models);
  if (best) {
    emit(makeLine({
      suite: 'unlearn', caseName: 'best', metric: 'bars-met', value: best.checks.filter((x) => x.met === true).length, peer,
      outcome: { ok: false, note: 'see best/<method> lines' },
      extras: { arch: 'gpt2', method: best.name, why: best.line },
    }));
  }
}
