import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTrainingRecords } from '../../data/jsonl.ts';
import type { TrainingRecord } from '../../data/schema.ts';
import { contentHash } from '../../data/record-hash.ts';
import { copySideFiles } from '../../model/checkpoint.ts';
import { writeFolder } from '../../model/io/output-folder.ts';
import { Tokenizer } from '../../model/tokenizer.ts';
import { asWritten } from './assign.ts';
import { EnsembleError, MANIFEST, readManifest, shardData, shardDir, stageDir, type SisaManifest } from './manifest.ts';
import { readStage, type ShardRecord } from './stages.ts';
import { shardRecords, trainShard, writeShardData } from './train-ensemble.ts';

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

/** A shard's records as its data file holds them, checked against the manifest (a retrain must start from the trained data). */
function storedShard(dir: string, m: SisaManifest, shard: number): ShardRecord[] {
  const path = shardData(dir, shard);
  if (!existsSync(path)) throw new EnsembleError(`${path}: shard ${shard}'s data is missing; it cannot be retrained`);
  const records = readTrainingRecords(path);
  // Placed with the manifest's S and R, the stored records must land in this shard, in the manifest's order.
  const placed = shardRecords(records, m.shards, m.slices, m.shardBy).flat();
  const expected = m.records.filter((p) => p.shard === shard);
  if (placed.length !== expected.length || placed.some((r, i) => r.placement.hash !== expected[i]!.hash || r.placement.shard !== shard || r.placement.slice !== expected[i]!.slice)) {
    throw new EnsembleError(`${path}: damaged (its records do not match the manifest's for shard ${shard})`);
  }
  return placed;
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

/**
 * Exact unlearning: finds the forget records in the manifest, retrains only their shards from the checkpoint
 * before the earliest affected slice (the same stages, seeds and options, minus the records), copies every other
 * shard byte for byte, and writes the new ensemble with unlearn.json — whole or not at all. Forget records that
 * the ensemble never trained on are refused, listed by file and record number (or skipped, `skipUntrained`).
 */
export function sisaErase(dir: string, forgetPaths: readonly string[], out: string, o: SisaEraseOptions = {}): SisaEraseReport {
  const { force = false, log } = o;
  const started = performance.now();
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
  const tokenizer = Tokenizer.fromDir(dir);
  const next: SisaManifest = { ...m, records: m.records.filter((p) => !erase.has(p.hash)), stages: m.stages.map((s) => [...s]), createdAt: new Date().toISOString() };
  const report: SisaEraseReport = {
    method: 'sisa', source: dir, forget, erased: erase.size, untrained: unknown.length, retrained: [], copied: [], wallSeconds: 0, finishedAt: '',
  };
  const planned = plans.reduce((n, p) => n + p.plannedSteps, 0);
  let done = 0;
  writeFolder(out, (tmp) => {
    copySideFiles(dir, tmp);
    for (let k = 0; k < m.shards; k++) {
      const plan = plans.find((p) => p.shard === k);
      if (!plan) {
        for (const path of [shardDir, (d: string, s: number) => join(d, 'checkpoints', `shard-${s}`)]) cpSync(path(dir, k), path(tmp, k), { recursive: true });
        cpSync(shardData(dir, k), shardData(tmp, k));
        report.copied.push(k);
        continue;
      }
      writeShardData(shardData(tmp, k), plan.kept);
      for (let r = 0; r <= plan.slice; r++) cpSync(stageDir(dir, k, r), stageDir(tmp, k, r), { recursive: true });
      const start = readStage(stageDir(dir, k, plan.slice), plan.slice);
      log?.(`shard ${k}: ${plan.removed} record(s) erased from slice ${plan.slice}; retraining stages ${plan.slice + 1}–${m.slices}`);
      const stages = trainShard(tmp, k, plan.slice + 1, start, plan.kept, m, tokenizer, dir, log, (info) => {
        done += info.steps;
        o.onProgress?.(done, Math.max(done, planned), info.finalLoss);
      });
      next.stages[k] = [...m.stages[k]!.slice(0, plan.slice), ...stages];
      report.retrained.push({
        shard: k, fromStage: plan.slice + 1, removed: plan.removed, stagesRetrained: stages.length, steps: stages.reduce((a, s) => a + s.steps, 0),
        reason: `slice ${plan.slice} held ${plan.removed} erased record(s); stages 1–${plan.slice} never saw them and were kept`,
      });
    }
    writeFileSync(join(tmp, MANIFEST), JSON.stringify(next, null, 1) + '\n');
    report.wallSeconds = (performance.now() - started) / 1000;
    report.finishedAt = new Date().toISOString();
    writeFileSync(join(tmp, 'unlearn.json'), JSON.stringify(report, null, 1) + '\n');
  }, { force, inputs: [{ path: dir, what: 'ensemble' }, ...forgetPaths.map((path) => ({ path, what: 'forget data' }))] });
  return report;
}
