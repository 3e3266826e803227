import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { formatJsonl, readTrainingRecords } from '../../data/jsonl.ts';
import type { OptimizerState } from '../../engine/index.ts';
import type { CausalLM } from '../../model/arch/types.ts';
import { saveModel } from '../../model/checkpoint.ts';
import { atomicWrite, durableMkdir, durableRemove, durableRename } from '../../model/io/atomic-file.ts';
import { Tokenizer } from '../../model/tokenizer.ts';
import { asWritten, place, type ShardBy } from './assign.ts';
import { EnsembleError, MANIFEST, SisaManifestSchema, shardData, shardDir, stageDir, type SisaManifest } from './manifest.ts';
import { manifestOrder, readStage, trainStages, writeStage, type ShardRecord, type StageInfo } from './stages.ts';

/**
 * Training an ensemble's shards one at a time, in any order, in any process (parallel/jobs: src/workflow/jobs/shard-jobs.ts).
 * A planned folder holds everything but the trained stages and ensemble.json: the tokenizer, every shard's data, the
 * checkpoints a shard starts from, and PLAN_DIR/plan.json (the manifest to be, and which shards to train from which
 * stage). `trainShardFromPlan` trains one shard, commits it with a marker PLAN_DIR/shard-K.json written last, and a
 * retry after a kill starts that shard over cleanly; `finishPlan` writes ensemble.json once every marker is there —
 * before that the folder is not an ensemble — and removes PLAN_DIR.
 */
export const PLAN_DIR = '.sisa-plan';

export interface ShardTraining {
  shard: number;
  /** First stage to train (1 for a fresh ensemble; k + 1 when an erasure retrains from the checkpoint after stage k). */
  fromStage: number;
  /** Steps the original run spent on these stages (an erasure's estimate of the work). */
  plannedSteps?: number;
}

export interface EnsemblePlan {
  /** The manifest to write when every shard is done; `stages[K]` is completed from shard K's marker. */
  manifest: SisaManifest;
  train: ShardTraining[];
  /** Written as unlearn.json by finishPlan (an erasure's report), with `retrained` and the wall time filled in. */
  report?: { retrained: unknown[]; wallSeconds: number; finishedAt: string };
  /** Erasure only: what each retrained shard lost, for the report. */
  erasures?: { shard: number; removed: number; reason: string }[];
}

const planPath = (dir: string): string => join(dir, PLAN_DIR, 'plan.json');
const markerPath = (dir: string, k: number): string => join(dir, PLAN_DIR, `shard-${k}.json`);
/** An attempt's own work folder: a worker that lost its lease but still runs never shares one with the retry. */
const workDir = (dir: string, k: number): string => join(dir, PLAN_DIR, `work-${k}-${process.pid}-${threadId}-${randomBytes(4).toString('hex')}`);

const writeJson = (path: string, value: unknown): void => atomicWrite(path, [Buffer.from(JSON.stringify(value, null, 1) + '\n')]);

/** Places every record and groups them by shard, each in manifest order. */
export function shardRecords(records: ReturnType<typeof readTrainingRecords>, shards: number, slices: number, shardBy: ShardBy): ShardRecord[][] {
  const placements = place(records, shards, slices, shardBy);
  const byShard: ShardRecord[][] = Array.from({ length: shards }, () => []);
  records.forEach((record, i) => byShard[placements[i]!.shard]!.push({ record, placement: placements[i]! }));
  return byShard.map((rs) => manifestOrder(rs));
}

export function writeShardData(path: string, records: readonly ShardRecord[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, formatJsonl(records.map((r) => asWritten(r.record))));
}

/** A shard's records as its data file holds them, checked against the manifest (a retrain must start from the trained data). */
export function storedShard(dir: string, m: SisaManifest, shard: number): ShardRecord[] {
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

/** Trains a shard's stages from `fromStage`, writing each stage's checkpoint and the shard's final folder under `root`. */
export function trainShard(root: string, shard: number, fromStage: number, start: { model: CausalLM; optimizer: OptimizerState | null },
  records: readonly ShardRecord[], m: Pick<SisaManifest, 'slices' | 'options' | 'dtype'>, tokenizer: Tokenizer, tokenizerDir: string, log?: (line: string) => void,
  onStage?: (info: StageInfo) => void): StageInfo[] {
  const { model, stages } = trainStages({
    shard, slices: m.slices, fromStage, model: start.model, optimizer: start.optimizer, records, options: m.options, tokenizer,
    onStage: (stage, mdl, opt, info) => {
      writeStage(stageDir(root, shard, stage), mdl, opt);
      log?.(`shard ${shard} stage ${stage}/${m.slices}: ${info.records} records, ${info.steps} steps${info.finalLoss === null ? '' : `, loss ${info.finalLoss.toFixed(4)}`}`);
      onStage?.(info);
    },
  });
  saveModel(model, shardDir(root, shard), { dtype: m.dtype, copyFrom: tokenizerDir });
  return stages;
}

/** Writes a plan into a folder being built (the caller has written the tokenizer, the data and the start checkpoints). */
export function writePlan(dir: string, plan: EnsemblePlan): void {
  durableMkdir(join(dir, PLAN_DIR));
  writeJson(planPath(dir), plan);
}

export function readPlan(dir: string): EnsemblePlan {
  const path = planPath(dir);
  if (!existsSync(path)) {
    throw new EnsembleError(existsSync(join(dir, MANIFEST)) ? `${dir}: already a finished ensemble; nothing is left to train` : `${dir}: not a planned ensemble (no ${PLAN_DIR}/plan.json)`);
  }
  let plan: EnsemblePlan;
  try {
    plan = JSON.parse(readFileSync(path, 'utf8')) as EnsemblePlan;
  } catch (e) {
    throw new EnsembleError(`${path}: damaged (not JSON: ${(e as Error).message})`);
  }
  if (!SisaManifestSchema.safeParse(plan.manifest).success || !Array.isArray(plan.train)) throw new EnsembleError(`${path}: damaged (not an ensemble plan)`);
  return plan;
}

export interface ShardProgress {
  log?: (line: string) => void;
  onStage?: (info: StageInfo) => void;
}

/**
 * Trains shard `k` of a planned folder: all its stages from the plan's start stage, into a work folder; then moves
 * its checkpoints and its model folder into place and writes its marker, last. A shard whose marker exists is done
 * (its stages are returned, nothing is trained); one without is started over, so a killed attempt leaves nothing
 * that counts. Shards are independent (each stage's seed is a function of (seed, shard, stage)), so any number may
 * run at once, in threads or processes, on the same folder.
 */
export function trainShardFromPlan(dir: string, k: number, o: ShardProgress = {}): StageInfo[] {
  const plan = readPlan(dir);
  const job = plan.train.find((t) => t.shard === k);
  if (!job) throw new EnsembleError(`${dir}: shard ${k} is not one the plan trains (${plan.train.map((t) => t.shard).join(', ') || 'none'})`);
  if (existsSync(markerPath(dir, k))) return JSON.parse(readFileSync(markerPath(dir, k), 'utf8')) as StageInfo[];
  const m = plan.manifest;
  // What an earlier attempt may have left: its work folder, or folders it had moved into place before dying.
  const works = readdirSync(join(dir, PLAN_DIR)).filter((e) => e.startsWith(`work-${k}-`)).map((e) => join(dir, PLAN_DIR, e));
  for (const path of [...works, shardDir(dir, k), ...Array.from({ length: m.slices - job.fromStage + 1 }, (_, i) => stageDir(dir, k, job.fromStage + i))]) {
    if (existsSync(path)) durableRemove(path);
  }
  const records = storedShard(dir, m, k);
  const start = readStage(stageDir(dir, k, job.fromStage - 1), job.fromStage - 1);
  const work = workDir(dir, k);
  const stages = trainShard(work, k, job.fromStage, start, records, m, Tokenizer.fromDir(dir), dir, o.log, o.onStage);
  for (let r = job.fromStage; r <= m.slices; r++) {
    durableMkdir(dirname(stageDir(dir, k, r)));
    durableRename(stageDir(work, k, r), stageDir(dir, k, r));
  }
  durableMkdir(dirname(shardDir(dir, k)));
  durableRename(shardDir(work, k), shardDir(dir, k));
  writeJson(markerPath(dir, k), stages);
  durableRemove(work);
  return stages;
}

/** Which of the plan's shards are trained (their markers written) and which are not yet. */
export function planProgress(dir: string): { done: number[]; pending: number[] } {
  const plan = readPlan(dir);
  const done = plan.train.filter((t) => existsSync(markerPath(dir, t.shard))).map((t) => t.shard);
  return { done, pending: plan.train.map((t) => t.shard).filter((k) => !done.includes(k)) };
}

/**
 * Completes a planned folder once every shard the plan trains is done: writes unlearn.json (an erasure's) and then
 * ensemble.json — the file that makes the folder an ensemble — and removes the plan. Refused while a shard is missing.
 * Finishing a folder that is already finished returns its manifest.
 */
export function finishPlan(dir: string, o: { wallSeconds?: number } = {}): SisaManifest {
  const path = join(dir, MANIFEST);
  if (existsSync(path) && !existsSync(planPath(dir))) return SisaManifestSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  const plan = readPlan(dir);
  const { pending } = planProgress(dir);
  if (pending.length > 0) throw new EnsembleError(`${dir}: shard(s) ${pending.join(', ')} not trained yet; the ensemble cannot be finished before every shard is`);
  const m = plan.manifest;
  const stages = m.stages.length === m.shards ? m.stages.map((s) => [...s]) : Array.from({ length: m.shards }, () => []);
  for (const t of plan.train) {
    const trained = JSON.parse(readFileSync(markerPath(dir, t.shard), 'utf8')) as StageInfo[];
    stages[t.shard] = [...stages[t.shard]!.slice(0, t.fromStage - 1), ...trained];
  }
  const manifest: SisaManifest = { ...m, stages };
  if (plan.report) {
    const report: Record<string, unknown> = { ...plan.report, retrained: plan.train.map((t) => {
      const trained = stages[t.shard]!.slice(t.fromStage - 1);
      const e = plan.erasures?.find((x) => x.shard === t.shard);
      return { shard: t.shard, fromStage: t.fromStage, removed: e?.removed ?? 0, stagesRetrained: trained.length, steps: trained.reduce((a, s) => a + s.steps, 0), reason: e?.reason ?? '' };
    }) };
    // Run in jobs, the erasure's wall time is from its plan to now.
    report['wallSeconds'] = o.wallSeconds ?? (Date.now() - Date.parse(m.createdAt)) / 1000;
    report['finishedAt'] = new Date().toISOString();
    writeJson(join(dir, 'unlearn.json'), report);
  }
  writeJson(path, manifest);
  durableRemove(join(dir, PLAN_DIR));
  return manifest;
}
