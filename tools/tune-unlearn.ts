/**
 * Grid search over a method's options on persons forget10 (the embedded target vs retain90): every combination
 * runs from the same starting weights and prints one JSON line with the bench's three numbers and the verdict.
 * The chosen defaults and their figures are recorded in docs/unlearning-methods.md.
 *
 *   node --import tsx tools/tune-unlearn.ts --method npo --grid lr=1e-4,3e-4 --grid steps=60,120 [--sanitize hard]
 */
import { Command } from 'commander';
import { getMethod } from '../src/unlearn/registry.ts';
import { parseOptions } from '../src/unlearn/options.ts';
import { openContext, sanitizeContext } from '../src/unlearn/run.ts';
import { DEFAULT_SANITIZE, type SanitizeOptions } from '../src/unlearn/sanitize.ts';
import { measure, measureFolder, qualitySets, verdict } from './unlearn-quality.ts';

const program = new Command()
  .requiredOption('--method <name>')
  .option('--grid <key=v1,v2>', 'values to try for one option (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--opt <key=value>', 'a fixed option (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--sanitize <mode>', 'hard or soft')
  .option('--energy <tau,...>', 'sanitisation energies to try on each run\'s result (comma-separated)', '0.95')
  .option('--others <what>', 'sanitisation of non-projection weights: keep or revert', 'keep')
  .option('--forget <file>', 'forget set', 'data/persons/forget10.jsonl')
  .option('--retain <file>', 'retain set', 'data/persons/retain90.jsonl')
  .option('--reference <dir>', 'retain model', 'models/retain90')
  .parse();
const o = program.opts<{ method: string; grid: string[]; opt: string[]; sanitize?: 'hard' | 'soft'; energy: string; others: 'keep' | 'revert'; forget: string; retain: string; reference: string }>();

const method = getMethod(o.method);
const { ctx } = openContext('models/target', o.forget, o.retain);
const sets = qualitySets(ctx);
const target = measure(ctx.model, sets);
const reference = measureFolder(o.reference, sets);
console.log(JSON.stringify({ target, reference }));

let combos: string[][] = [[]];
for (const g of o.grid) {
  const [key, values] = g.split('=') as [string, string];
  combos = combos.flatMap((c) => values.split(',').map((v) => [...c, `${key}=${v}`]));
}
for (const combo of combos) {
  ctx.model.params.restore(ctx.original);
  const options = parseOptions(method.options, [...o.opt, ...combo], method.name);
  const t0 = performance.now();
  const out = method.run(ctx, options, {});
  const seconds = (performance.now() - t0) / 1000;
  const report = (extra: Record<string, unknown>): void => {
    const q = measure(ctx.model, sets);
    console.log(JSON.stringify({ opts: [...o.opt, ...combo].join(' '), ...extra, ...q, ...verdict(q, target, reference), stop: out.stopReason, steps: out.steps, seconds: +seconds.toFixed(1) }));
  };
  report({});
  if (o.sanitize) {
    // Every energy starts from the same unlearned weights.
    const unlearned = ctx.model.params.snapshot();
    for (const energy of o.energy.split(',').map(Number)) {
      ctx.model.params.restore(unlearned);
      const s: SanitizeOptions = { ...DEFAULT_SANITIZE, mode: o.sanitize, energy, others: o.others };
      sanitizeContext(ctx, { ...s, samples: 64 });
      report({ sanitize: `${o.sanitize} energy=${energy} others=${o.others}` });
    }
  }
}
