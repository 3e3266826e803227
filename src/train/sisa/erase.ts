import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTrainingRecords } from '../../data/jsonl.ts';
import type { TrainingRecord } from '../../data/schema.ts';
import { contentHash } from '../../data/record-hash.ts';
import { copySideFiles } from '../../model/checkpoint.ts';
import { writeFolder } from '../../model/io/output-folder.ts';
import { linkOrCopy, linkTree } from '../../util/link-tree.ts';
import { asWritten } from './assign.ts';
import { EnsembleError, readManifest, shardData, shardDir, stageDir, type SisaManifest } from './manifest.ts';
import { finishPlan, storedShard, trainShardFromPlan, writePlan, writeShardData, type EnsemblePlan } from './shard-plan.ts';
import { readStage } from './stages.ts';

/** What `lethe unlearn --method sisa` did, written as unlearn.json. */
export interface SisaEraseReport {
  method: 'sisa';
  source: string;
  forget: { path: string; records: number }[];
  /** Distinct trained records (by content hash) erased, with every copy of each. */
  erased: number;
  /** Forget records the ensemble never trained on (only with `skipUntrained`): nothing of them to erase. */
  untrained: number;
  retrained: { shard: number; fromStage: number; removed: number; stagesRetrained: number; steps: number; reason: string }[];
  /** Shards copied byte for byte: none of their records was erased. */
  copied: number[];
  wallSeconds: number;
  finishedAt: string;
}

/** Every shard must read text as the ensemble does: a shard whose tokenizer differs cannot be averaged with the rest. */
export function checkTokenizers(dir: string, m: SisaManifest): void {
  const own = readFileSync(join(dir, 'tokenizer.json'));
  for (let k = 0; k < m.shards; k++) {
    const path = join(shardDir(dir, k), 'tokenizer.json');
    if (!existsSync(join(shardDir(dir, k), 'config.json'))) throw new EnsembleError(`${shardDir(dir, k)}: shard ${k}'s model folder is missing`);
    if (!existsSync(path) || !readFileSync(path).equals(own)) throw new EnsembleError(`${path}: shard ${k}'s tokenizer differs from the ensemble's; the shards must share one tokenizer`);
  }
}

/** Where erasing a set of trained records starts in each affected shard, and the training steps that follow it. */
export interface ShardPlan {
  shard: number;
  /** The earliest slice holding an erased record: stages up to it never saw one and are kept. */
  slice: number;
  /** Steps the original run spent on the stages that are retrained (a retrain takes slightly fewer: less data). */
  steps: number;
}

/** The shards a set of record hashes touches, and from which slice each must be retrained. */
export function planErasure(m: SisaManifest, erase: ReadonlySet<string>): ShardPlan[] {
  const from = new Map<number, number>();
  for (const p of m.records) if (erase.has(p.hash)) from.set(p.shard, Math.min(from.get(p.shard) ?? Infinity, p.slice));
  return [...from].sort((a, b) => a[0] - b[0]).map(([shard, slice]) => ({ shard, slice, steps: m.stages[shard]!.slice(slice).reduce((a, s) => a + s.steps, 0) }));
}

/** A record's hash as the manifest keys it. */
export const manifestHash = (r: TrainingRecord): string => contentHash(asWritten(r))!;

export interface SisaEraseOptions {
  /** Replace an existing output folder. */
  force?: boolean;
  /**
   * Skip forget records the ensemble never trained on (counted in the report) instead of refusing them: for the
   * workflow, whose forget set is every record of the subject in the corpora searched, trained on by this model or not.
   */
  skipUntrained?: boolean;
  log?: (line: string) => void;
  /** After each retrained stage: steps done so far and the original run's steps for the same stages (the estimate). */
  onProgress?: (done: number, total: number, loss: number | null) => void;
}

/** Checks an erasure against the ensemble and returns how to write its output folder as a plan (shard-plan.ts). */
function eraseInto(dir: string, forgetPaths: readonly string[], o: SisaEraseOptions): { build: (tmp: string) => void; plan: EnsemblePlan; inputs: { path: string; what: string }[] } {
  const m = readManifest(dir);
  checkTokenizers(dir, m);
  const known = new Set(m.records.map((p) => p.hash));
  const erase = new Set<string>();
  const unknown: string[] = [];
  const forget = forgetPaths.map((path) => {
    const records = readTrainingRecords(path);
    records.forEach((r, i) => {
      const h = manifestHash(r);
      if (known.has(h)) erase.add(h);
      else unknown.push(`${path} record ${i + 1}`);
    });
    return { path, records: records.length };
  });
  if (unknown.length > 0 && !o.skipUntrained) {
    throw new EnsembleError(`${unknown.length} forget record(s) are not in the ensemble's manifest (never trained on, or changed since): ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`);
  }
  if (erase.size === 0) throw new EnsembleError(unknown.length > 0 ? `none of the ${unknown.length} forget record(s) is in the ensemble's manifest: it never trained on them` : 'the forget files hold no records');
  const plans = planErasure(m, erase).map(({ shard, slice, steps }) => {
    const records = storedShard(dir, m, shard);
    readStage(stageDir(dir, shard, slice), slice); // fail before writing anything when the checkpoint is gone
    return { shard, slice, plannedSteps: steps, kept: records.filter((r) => !erase.has(r.placement.hash)), removed: records.filter((r) => erase.has(r.placement.hash)).length };
  });
  for (let k = 0; k < m.shards; k++) if (!plans.some((p) => p.shard === k) && !existsSync(stageDir(dir, k, m.slices))) throw new EnsembleError(`${stageDir(dir, k, m.slices)}: shard ${k}'s checkpoints are missing`);
  const next: SisaManifest = { ...m, records: m.records.filter((p) => !erase.has(p.hash)), stages: m.stages.map((s) => [...s]), createdAt: new Date().toISOString() };
  const report: SisaEraseReport = {
    method: 'sisa', source: dir, forget, erased: erase.size, untrained: unknown.length, retrained: [], copied: [], wallSeconds: 0, finishedAt: '',
  };
  const plan: EnsemblePlan = {
    manifest: next, train: plans.map((p) => ({ shard: p.shard, fromStage: p.slice + 1, plannedSteps: p.plannedSteps })),
    report,
    erasures: plans.map((p) => ({ shard: p.shard, removed: p.removed, reason: `slice ${p.slice} held ${p.removed} erased record(s); stages 1–${p.slice} never saw them and were kept` })),
  };
  const build = (tmp: string): void => {
    copySideFiles(dir, tmp);
    for (let k = 0; k < m.shards; k++) {
      const p = plans.find((x) => x.shard === k);
      if (!p) {
        // Weights and checkpoints are never rewritten in place: the new ensemble shares their bytes (hard links).
        for (const path of [shardDir, (d: string, s: number) => join(d, 'checkpoints', `shard-${s}`)]) linkTree(path(dir, k), path(tmp, k));
        linkOrCopy(shardData(dir, k), shardData(tmp, k));
        report.copied.push(k);
        continue;
      }
      writeShardData(shardData(tmp, k), p.kept);
      for (let r = 0; r <= p.slice; r++) linkTree(stageDir(dir, k, r), stageDir(tmp, k, r));
      o.log?.(`shard ${k}: ${p.removed} record(s) erased from slice ${p.slice}; retraining stages ${p.slice + 1}–${m.slices}`);
    }
    writePlan(tmp, plan);
  };
  return { build, plan, inputs: [{ path: dir, what: 'ensemble' }, ...forgetPaths.map((path) => ({ path, what: 'forget data' }))] };
}

/**
 * The first step of an erasure run in parallel: checks it as `sisaErase` does and writes `out` (whole or not at all)
 * with every untouched shard copied and the affected shards' kept data and checkpoints, and the plan; then
 * `trainShardFromPlan(out, k)` for each shard in `plan.train` (at once, in any order) and `finishPlan(out)`, which
 * writes ensemble.json and unlearn.json. Returns the plan.
 */
export function planSisaErase(dir: string, forgetPaths: readonly string[], out: string, o: SisaEraseOptions = {}): EnsemblePlan {
  const { build, plan, inputs } = eraseInto(dir, forgetPaths, o);
  writeFolder(out, build, { force: o.force ?? false, inputs });
  return plan;
}

/**
 * Exact unlearning: finds the forget records in the manifest, retrains only their shards from the checkpoint
 * before the earliest affected slice (the same stages, seeds and options, minus the records), copies every other
 * shard byte for byte, and writes the new ensemble with unlearn.json — whole or not at all. Forget records that
 * the ensemble never trained on are refused, listed by file and record number (or skipped, `skipUntrained`).
 * The same steps as a parallel erasure (plan, each affected shard, finish), one after another.
 */
export function sisaErase(dir: string, forgetPaths: readonly string[], out: string, o: SisaEraseOptions = {}): SisaEraseReport {
  const started = performance.now();
  const { build, plan, inputs } = eraseInto(dir, forgetPaths, o);
  const planned = plan.train.reduce((n, t) => n + (t.plannedSteps ?? 0), 0);
  let done = 0;
  writeFolder(out, (tmp) => {
    build(tmp);
    for (const t of plan.train) {
      trainShardFromPlan(tmp, t.shard, {
        ...(o.log ? { log: o.log } : {}),
        onStage: (info) => {
          done += info.steps;
          o.onProgress?.(done, Math.max(done, planned), info.finalLoss);
        },
      });
    }
    finishPlan(tmp, { wallSeconds: (performance.now() - started) / 1000 });
  }, { force: o.force ?? false, inputs });
  return JSON.parse(readFileSync(join(out, 'unlearn.json'), 'utf8')) as SisaEraseReport;
}
