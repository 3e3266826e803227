import { InvalidArgumentError } from 'commander';
import type { FreshModelSpec } from '../train/run.ts';
import type { ShardBy } from '../train/sisa/assign.ts';
import { sisaErase, type SisaEraseReport } from '../train/sisa/erase.ts';
import { EnsembleError, isEnsemble, type SisaManifest } from '../train/sisa/manifest.ts';
import { trainEnsemble } from '../train/sisa/train-ensemble.ts';
import type { UnlearnCliOptions } from './unlearn-commands.ts';

/** What `lethe train` passes on for `--shards S --slices R`. */
export interface EnsembleCliOptions {
  data: string[]; out: string; force?: boolean; base?: string; init?: string; tokenizer?: string; fresh: FreshModelSpec;
  shards?: number; slices?: number; shardBy: ShardBy; epochs: number; batchSize: number; lr: number; warmup: number;
  weightDecay: number; clip: number; seed: number; dtype: 'F32' | 'F16' | 'BF16'; sgtm?: boolean;
}

/** `lethe train --shards S --slices R`: trains the ensemble, a line per stage on stderr. */
export function trainEnsembleCommand(o: EnsembleCliOptions): string {
  if (o.shards === undefined || o.slices === undefined) throw new InvalidArgumentError('an ensemble needs both --shards and --slices');
  if (o.init) throw new InvalidArgumentError('--init with --shards: every shard starts from --base DIR instead');
  if (o.sgtm) throw new InvalidArgumentError('--sgtm with --shards: SGTM and SISA are not combined');
  const started = performance.now();
  const m: SisaManifest = trainEnsemble({
    data: o.data, out: o.out, force: o.force ?? false, ...(o.base ? { base: o.base } : { tokenizerDir: o.tokenizer, fresh: o.fresh }),
    shards: o.shards, slices: o.slices, shardBy: o.shardBy, dtype: o.dtype,
    options: { epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, warmupSteps: o.warmup, weightDecay: o.weightDecay, clip: o.clip, seed: o.seed },
    command: ['lethe', ...process.argv.slice(2)].join(' '),
  }, (line) => process.stderr.write(`train: ${line}\n`));
  const steps = m.stages.flat().reduce((a, s) => a + s.steps, 0);
  return `trained an ensemble of ${m.shards} shard(s) × ${m.slices} slice(s) on ${m.records.length} records (by ${m.shardBy}), ${steps} steps in ${((performance.now() - started) / 1000).toFixed(1)} s; wrote ${o.out}`;
}

/** `lethe unlearn --method sisa`: exact unlearning of an ensemble; any other method on an ensemble is refused. */
export function sisaUnlearnCommand(o: UnlearnCliOptions): SisaEraseReport {
  if (!isEnsemble(o.model)) throw new EnsembleError(`${o.model}: --method sisa needs an ensemble (trained with \`lethe train --shards S --slices R\`)`);
  const extra = [o.retain && '--retain', o.utility && '--utility', o.opt.length > 0 && '--opt', o.sanitize && '--sanitize', o.field.length > 0 && '--field'].filter(Boolean);
  if (extra.length > 0) throw new InvalidArgumentError(`${extra.join(', ')}: --method sisa retrains the affected shards exactly as trained and takes no ${extra.join(' or ')}`);
  return sisaErase(o.model, [o.forget], o.out, { force: o.force ?? false, log: (line) => process.stderr.write(`sisa: ${line}\n`) });
}

export function formatSisaSummary(r: SisaEraseReport, out: string): string {
  const retrained = r.retrained.map((s) => `shard ${s.shard} from stage ${s.fromStage} (${s.removed} record(s), ${s.steps} steps)`).join(', ');
  return `erased ${r.erased} record(s) exactly: retrained ${retrained || 'nothing'}; ${r.copied.length} shard(s) copied unchanged; ${r.wallSeconds.toFixed(1)} s; wrote ${out} (unlearn.json says what and why)`;
}

/** Refuses an approximate method on an ensemble: it would average away nothing and certify nothing. */
export function refuseEnsembleFor(method: string, model: string): void {
  if (method !== 'sisa' && isEnsemble(model)) throw new EnsembleError(`${model} is a SISA ensemble: unlearn it exactly with --method sisa (approximate methods apply to single models)`);
}
