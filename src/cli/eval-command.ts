import { basename, resolve } from 'node:path';
import { loadModel } from '../model/checkpoint.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import { loadEvalSets } from '../eval/datasets.ts';
import { DEFAULT_EVALUATE, evaluateModel, referenceBaseline, withRecovery, type EvaluateOptions } from '../eval/evaluate.ts';
import type { EvalReport, ModelEvaluation } from '../eval/report-types.ts';
import { formatComparisonTable } from '../eval/report/table.ts';
import { writeReport } from '../eval/report/write.ts';
import { verdictFor } from '../eval/verdict.ts';

export interface EvalCliOptions {
  model: string[];
  reference: string;
  target?: string;
  data: string;
  split: string;
  out: string;
  relearn: boolean;
  probe: boolean;
  retainSample: number;
}

/**
 * `lethe eval`: evaluates unlearned models against the reference (retain) model, and the target when given, on a
 * persons or TOFU data folder; writes metrics.json and report.html and returns the printed table.
 */
export async function evalCommand(o: EvalCliOptions): Promise<string> {
  const sets = loadEvalSets(o.data, o.split);
  const log = (line: string): void => { process.stderr.write(`${line}\n`); };
  const options: Partial<EvaluateOptions> = {
    retainSample: o.retainSample,
    relearnModes: o.relearn ? DEFAULT_EVALUATE.relearnModes : [],
    probe: o.probe ? DEFAULT_EVALUATE.probe : null,
  };
  const tokenizer = Tokenizer.fromDir(o.model[0] ?? o.reference);
  const refModel = loadModel(o.reference).model;
  log(`evaluating the reference ${o.reference}…`);
  const baseline = referenceBaseline(refModel, tokenizer, sets, options);
  const one = (dir: string, role: ModelEvaluation['role'], model = loadModel(dir).model): ModelEvaluation => {
    log(`evaluating ${dir}…`);
    return evaluateModel({ name: basename(resolve(dir)), role, dir, model, tokenizer, sets, reference: baseline, options, log });
  };
  const reference = one(o.reference, 'reference', refModel);
  const target = o.target ? one(o.target, 'target') : null;
  const models = [...o.model.map((dir) => one(dir, 'unlearned')), ...(target ? [target] : []), reference];
  if (target) {
    withRecovery(models, target);
    for (const m of models) m.verdict = verdictFor(m, target, reference);
  }
  const report: EvalReport = {
    title: `Lethe evaluation: ${o.split} of ${basename(resolve(o.data))}`,
    created: new Date().toISOString(),
    data: { ...sets.sources, reference: o.reference, ...(o.target ? { target: o.target } : {}) },
    models,
  };
  await writeReport(o.out, report);
  return `${formatComparisonTable(report)}\nwrote ${o.out}/metrics.json and ${o.out}/report.html`;
}
