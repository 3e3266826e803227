import { basename, resolve } from 'node:path';
import { Tokenizer } from '../model/tokenizer.ts';
import { evaluateAgainstReference } from '../eval/compare.ts';
import type { TooLong } from '../eval/context-fit.ts';
import { loadEvalSets } from '../eval/datasets.ts';
import { DEFAULT_EVALUATE } from '../eval/evaluate.ts';
import { formatComparisonTable } from '../eval/report/table.ts';
import { writeReport } from '../eval/report/write.ts';

export interface EvalCliOptions {
  model: string[];
  reference?: string;
  target?: string;
  data: string;
  split: string;
  out: string;
  relearn: boolean;
  probe: boolean;
  retainSample: number;
  tooLong: TooLong;
}

/**
 * `lethe eval`: evaluates unlearned models against the reference (retain) model, and the target when given, on a
 * persons or TOFU data folder; writes metrics.json and report.html and returns the printed table.
 */
export async function evalCommand(o: EvalCliOptions): Promise<string> {
  if (o.model.length === 0 && !o.reference && !o.target) throw new RangeError('nothing to evaluate: give --model, --target or --reference');
  const sets = loadEvalSets(o.data, o.split);
  const report = evaluateAgainstReference({
    sets, tokenizer: Tokenizer.fromDir((o.model[0] ?? o.reference ?? o.target)!),
    reference: o.reference ? { dir: o.reference } : undefined, target: o.target ? { dir: o.target } : undefined, unlearned: o.model.map((dir) => ({ dir })),
    options: {
      retainSample: o.retainSample,
      relearnModes: o.relearn ? DEFAULT_EVALUATE.relearnModes : [],
      probe: o.probe ? DEFAULT_EVALUATE.probe : null,
    },
    tooLong: o.tooLong,
    title: `Lethe evaluation: ${o.split} of ${basename(resolve(o.data))}`,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  await writeReport(o.out, report);
  return `${formatComparisonTable(report)}\nwrote ${o.out}/metrics.json and ${o.out}/report.html`;
}
