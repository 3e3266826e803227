import { basename, resolve } from 'node:path';
import { parseFieldMap } from '../data/fields.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import { EvalCache } from '../eval/cache.ts';
import { evaluateAgainstReference } from '../eval/compare.ts';
import type { TooLong } from '../eval/context-fit.ts';
import { detectEvalFormat, loadEvalSets } from '../eval/datasets.ts';
import { parseAttackNames } from '../eval/attacks/index.ts';
import type { MatmulPrecision } from '../engine/index.ts';
import { DEFAULT_EVALUATE } from '../eval/evaluate.ts';
import { evaluateMuseAgainstReference } from '../eval/muse-compare.ts';
import { loadMuseSets } from '../eval/muse-data.ts';
import { formatMuseTable, writeMuseReport } from '../eval/muse-report.ts';
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
  /** `--attacks`: comma-separated attack names, `all` (the default) or `none`. */
  attacks?: string;
  retainSample: number;
  /** `--precision`: the evaluation's matmul precision (EvaluateOptions.precision). */
  precision?: MatmulPrecision;
  tooLong: TooLong;
  /** `--field lethe_name=file_name,…` (repeatable). */
  field?: string[];
  /** MUSE knowmem: MUSE's few-shot prompt from the _icl files. */
  knowmemIcl?: boolean;
  /** Folder of cached evaluations (`--cache`). */
  cache?: string;
}

/**
 * `lethe eval`: evaluates unlearned models against the reference (retain) model, and the target when given, on a
 * persons, TOFU or MUSE data folder; writes metrics.json and report.html and returns the printed table.
 */
export async function evalCommand(o: EvalCliOptions): Promise<string> {
  if (o.model.length === 0 && !o.reference && !o.target) throw new RangeError('nothing to evaluate: give --model, --target or --reference');
  const fields = parseFieldMap(o.field ?? []);
  const attacks = o.attacks === undefined ? DEFAULT_EVALUATE.attacks : parseAttackNames(o.attacks);
  const format = detectEvalFormat(o.data, o.split);
  const tokenizer = Tokenizer.fromDir((o.model[0] ?? o.reference ?? o.target)!);
  const models = {
    reference: o.reference ? { dir: o.reference } : undefined, target: o.target ? { dir: o.target } : undefined, unlearned: o.model.map((dir) => ({ dir })),
  };
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  if (format === 'muse') {
    if (o.precision === 'bf16') throw new RangeError('--precision bf16: the MUSE metrics run in f32 only (persons and TOFU evaluations take bf16)');
    const report = evaluateMuseAgainstReference({
      sets: loadMuseSets(o.data, { fields }), tokenizer, ...models, options: { icl: o.knowmemIcl ?? false }, tooLong: o.tooLong,
      title: `Lethe evaluation (MUSE metrics) of ${basename(resolve(o.data))}`, log,
    });
    writeMuseReport(o.out, report);
    return `${formatMuseTable(report)}\nwrote ${o.out}/metrics.json and ${o.out}/report.html`;
  }
  const report = evaluateAgainstReference({
    sets: loadEvalSets(o.data, o.split, { fields }), tokenizer, ...models,
    options: {
      retainSample: o.retainSample,
      relearnModes: o.relearn ? DEFAULT_EVALUATE.relearnModes : [],
      probe: o.probe ? DEFAULT_EVALUATE.probe : null,
      attacks,
      ...(o.precision ? { precision: o.precision } : {}),
    },
    tooLong: o.tooLong,
    title: `Lethe evaluation: ${o.split} of ${basename(resolve(o.data))}`,
    ...(o.cache ? { cache: new EvalCache(o.cache, log) } : {}),
    log,
  });
  await writeReport(o.out, report);
  return `${formatComparisonTable(report)}\nwrote ${o.out}/metrics.json and ${o.out}/report.html`;
}
