import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { formatJsonl, readTrainingRecords } from '../../data/jsonl.ts';
import { atomicWrite, lstatOrNull } from '../../model/io/atomic-file.ts';
import { artifactRoot, linkArtifact, linkedArtifact, openFolder, outputFolder, putFolder } from '../artifacts/store.ts';
import { evenSample } from '../../util/sample.ts';
import { assessRequest, forgetPositions, type Assessment } from '../assess/assess.ts';
import { getRequest, moveRequest, type ErasureRequest, type WorkflowEnv } from '../requests/service.ts';
import type { RequestState } from '../requests/states.ts';
import { dataDirOf, type Tx } from '../store/open-store.ts';
import { corpusBySha } from '../assess/corpora.ts';
import { EXACT_METHOD, planAttempt } from '../verify/escalation.ts';
import { overall } from '../verify/judge.ts';
import { barFor } from '../verify/policy.ts';
import type { ModelVerification, VerificationAttempt, VerificationRecord } from '../verify/types.ts';
import { assertLease, enqueueJob, finishJob, listJobs, recordStep, stepOutput, type Claim } from './queue.ts';
import { ProgressRecorder } from './progress.ts';
import { runInThread } from './thread.ts';

/** What a job handler reports as it goes: ids, states, counts — never the subject's identifiers. */
export type JobLog = (line: string) => void;

/** Retain records given to the erasure: an even sample of the corpus records that are not the subject's. */
const RETAIN_SAMPLE = 400;

/** Unlearning steps between checkpoints of an erasure (taken at the first guard check this many steps after the last). */
const CHECKPOINT_EVERY = 5;

const now = (env: WorkflowEnv): Date => (env.now ? env.now() : new Date());
const jobDir = (env: WorkflowEnv, requestId: string): string => join(dataDirOf(env.dataDir ? { dataDir: env.dataDir } : {}), 'jobs', requestId);
const artifacts = (env: WorkflowEnv): string => artifactRoot(env.dataDir ? { dataDir: env.dataDir } : {});

/** Moves the request under the job's lease (a worker that lost it changes nothing). */
async function fencedMove(env: WorkflowEnv, c: Claim, to: RequestState, reason?: string): Promise<void> {
  await env.store.write(async (tx) => {
    await assertLease(tx, c, now(env));
    await moveRequest(env, tx, c.job.requestId, to, { actor: c.worker, reason: reason ?? null });
  });
}

/**
 * The request as the job starts on it: moved from `from` into the job's working state `to` (under the lease) when
 * it is still waiting, or null — after ending the job — when it has moved on (canceled, paused, past this step).
 */
async function enter(env: WorkflowEnv, c: Claim, from: RequestState, to: RequestState, log: JobLog): Promise<ErasureRequest | null> {
  let r = await getRequest(env, c.job.requestId);
  if (r.state === from) {
    await fencedMove(env, c, to);
    r = await getRequest(env, r.id);
  }
  if (r.state === to) return r;
  await skip(env, c, r, log);
  return null;
}

/** Ends a job that has nothing to do because its request moved on (canceled, paused, already past this step). */
async function skip(env: WorkflowEnv, c: Claim, r: ErasureRequest, log: JobLog): Promise<void> {
  log(`job ${c.job.id}: request ${r.id} is ${r.state}; nothing for a ${c.job.kind} job to do`);
  await finishJob(env.store, c, { skipped: r.state }, now(env), async () => undefined);
}

export async function loadAssessment(tx: Tx | WorkflowEnv['store']['db'], requestId: string): Promise<(Assessment & { confirmed?: string[] }) | null> {
  const row = await tx.selectFrom('assessments').select('result').where('request_id', '=', requestId).executeTakeFirst();
  return row ? (JSON.parse(row.result) as Assessment & { confirmed?: string[] }) : null;
}

async function saveAssessment(tx: Tx, a: Assessment, at: string): Promise<void> {
  await tx.deleteFrom('assessments').where('request_id', '=', a.requestId).execute();
  await tx.insertInto('assessments').values({ request_id: a.requestId, result: JSON.stringify(a), created_at: at }).execute();
}

async function runAssess(env: WorkflowEnv, c: Claim, log: JobLog): Promise<void> {
  const r = await enter(env, c, 'approved', 'assessing', log);
  if (!r) return;
  const a = await assessRequest(env, r);
  const found = a.models.reduce((n, m) => n + m.recordsFound, 0);
  log(`job ${c.job.id}: request ${r.id} assessed: ${a.outcome}, ${found} records, ${a.toConfirm} to confirm, ${a.unavailable.length} lineage files unavailable`);
  await finishJob(env.store, c, { outcome: a.outcome, recordsFound: found }, now(env), async (tx) => {
    const at = now(env).toISOString();
    await saveAssessment(tx, a, at);
    if (a.outcome === 'no_match') {
      await moveRequest(env, tx, r.id, 'denied', { actor: c.worker, reason: 'no_match', changes: { decision: 'denied', decision_reason: 'no_match', decision_text: 'no records of the subject in the models\' training data' } });
    } else if (a.outcome === 'needs_confirmation') {
      await moveRequest(env, tx, r.id, 'requires_input', { actor: c.worker, reason: `${a.toConfirm} matches need confirmation` });
    } else {
      await moveRequest(env, tx, r.id, 'queued', { actor: c.worker });
      await enqueueJob(tx, { requestId: r.id, kind: 'erase', now: now(env) });
    }
  });
}

/** Writes the forget and retain sets of the erasure (deterministic, so a rewrite after a crash is the same file). */
function writeErasureData(env: WorkflowEnv, a: Assessment & { confirmed?: string[] }, requestId: string): { forget: string; retain: string | null; forgetRecords: number } {
  const positions = forgetPositions(a, new Set(a.confirmed ?? []));
  const forget: object[] = [];
  const retainPool: { key: string; rec: object }[] = [];
  const seen = new Set<string>();
  for (const c of a.corpora) {
    const records = readTrainingRecords(c.corpus.path);
    const keep = new Set(positions.get(c.corpus.path) ?? []);
    if (keep.size === 0 && !c.matches.length) continue;
    records.forEach((full, i) => {
      const { kind: _k, ...rec } = full;
      // The same record sits in several files of a lineage with different extra fields: one by its trained content.
      const key = full.kind === 'qa' ? `${full.question}\n${full.answer}` : full.text;
      if (keep.has(i)) {
        if (!seen.has(key)) forget.push(rec);
        seen.add(key);
      } else retainPool.push({ key, rec });
    });
  }
  const dir = jobDir(env, requestId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const forgetPath = join(dir, 'forget.jsonl');
  atomicWrite(forgetPath, [new TextEncoder().encode(formatJsonl(forget))]);
  const retain = evenSample(retainPool.filter((r) => !seen.has(r.key)).map((r) => r.rec), RETAIN_SAMPLE);
  let retainPath: string | null = null;
  if (retain.length > 0) {
    retainPath = join(dir, 'retain.jsonl');
    atomicWrite(retainPath, [new TextEncoder().encode(formatJsonl(retain))]);
  }
  return { forget: forgetPath, retain: retainPath, forgetRecords: forget.length };
}

async function runErase(env: WorkflowEnv, c: Claim, log: JobLog): Promise<void> {
  const r = await enter(env, c, 'queued', 'erasing', log);
  if (!r) return;
  const a = await loadAssessment(env.store.db, r.id);
  if (!a) throw new Error(`request ${r.id} has no assessment; retry it to assess again`);
  let data = (await stepOutput(env.store, c.job.id, 'data')) as { forget: string; retain: string | null; forgetRecords: number } | undefined;
  if (!data || !existsSync(data.forget)) {
    data = writeErasureData(env, a, r.id);
    if (!(await stepOutput(env.store, c.job.id, 'data'))) await recordStep(env.store, c, 'data', data, now(env));
    log(`job ${c.job.id}: forget set of ${data.forgetRecords} records written`);
  }
  const outputs: Record<string, unknown>[] = [];
  // Which erasure attempt this is (escalation after a missed bar queues another, see runVerify) and what it runs.
  const attempt = typeof c.job.input['attempt'] === 'number' ? c.job.input['attempt'] : 1;
  for (const [i, m] of a.models.entries()) {
    if (m.recordsFound === 0) continue;
    const step = `unlearn:${i}`;
    let out = await stepOutput(env.store, c.job.id, step);
    if (!out) {
      const plan = planAttempt(attempt, m.recommendation.method, data.retain !== null, env.eraseOptions);
      const suffix = attempt > 1 ? `-attempt${attempt}` : '';
      const name = `${i}-${basename(m.model)}${suffix}`;
      // The model is written into the job's folder, then stored by content in the (shared) artifact folder and
      // linked as artifacts/REQUEST/NAME. An artifact linked by a killed attempt is taken (checked), not redone; so is
      // a folder written there by an older Lethe.
      const root = artifacts(env);
      let linked = linkedArtifact(root, r.id, name);
      let outDir: string | null = null;
      if (linked) {
        try {
          outDir = openFolder(root, linked);
        } catch (err) {
          log(`job ${c.job.id}: ${(err as Error).message}; unlearning again`);
          linked = null;
        }
      }
      const legacy = join(root, r.id, name);
      outDir ??= lstatOrNull(legacy)?.isDirectory() ? legacy : join(jobDir(env, r.id), `out-${name}`);
      const options = plan.options;
      log(`job ${c.job.id}: unlearning model ${i} with ${plan.method}${options.length ? ` (${options.join(' ')})` : ''}, erasure attempt ${attempt} (job attempt ${c.job.attempts})`);
      const progress = new ProgressRecorder(env.store, c.job.id, i);
      // Exact erasure of an ensemble: its affected shards retrain as 'train-shard' jobs, on as many workers as are free
      // (shard-jobs.ts); the same folder as sisaErase's in the 'erase' task, bit for bit.
      const done = plan.method === EXACT_METHOD && !linked
        ? await (await import('./shard-jobs.ts')).eraseAsShardJobs(env, c, { modelDir: m.model, forgetPath: data.forget, outDir, log, onProgress: (e) => progress.record(e) })
        : await runInThread('erase', {
          modelDir: m.model, forgetPath: data.forget, retainPath: data.retain, method: plan.method, options, outDir,
          checkpointDir: join(jobDir(env, r.id), `checkpoint-${i}${suffix}`), checkpointEvery: CHECKPOINT_EVERY,
        }, (e) => progress.record(e), c.signal);
      await progress.flush();
      const stored = linked ? { sha256: linked, path: outDir } : putFolder(root, done.outDir, { move: true });
      linkArtifact(root, r.id, name, stored.sha256);
      out = { model: m.model, method: plan.method, options, attempt, why: plan.why, ...done, outDir: stored.path, artifact: stored.sha256 };
      await recordStep(env.store, c, step, out, now(env));
    }
    outputs.push(out);
  }
  await finishJob(env.store, c, { outputs, attempt }, now(env), async (tx) => {
    await moveRequest(env, tx, r.id, 'verifying', { actor: c.worker });
    await enqueueJob(tx, { requestId: r.id, kind: 'verify', input: { attempt }, now: now(env) });
  });
  log(`job ${c.job.id}: request ${r.id} erased in ${outputs.length} model(s); verifying`);
}

/** What an erase job recorded for each model it unlearned. */
export interface EraseOutput {
  model: string;
  method: string;
  options?: string[];
  /** The artifact's path when it was written (artifact, when set, is what readers resolve: outputFolder). */
  outDir: string;
  /** The SHA-256 content digest of the output folder in the artifact store (src/workflow/artifacts/store.ts). */
  artifact?: string;
  modelSha256: string;
}

/** The verification record of the request's newest finished verify job (null before one, or a legacy pass-through). */
export async function lastVerification(env: WorkflowEnv, requestId: string): Promise<VerificationRecord | null> {
  const done = (await listJobs(env.store, requestId)).filter((j) => j.kind === 'verify' && j.state === 'done' && j.result?.['verification']);
  const v = done.at(-1)?.result?.['verification'];
  return v && typeof v === 'object' ? (v as VerificationRecord) : null;
}

/** The non-member reference of the request: the holdout registered with the first corpus in scope that has one. */
async function referenceOf(env: WorkflowEnv, a: Assessment): Promise<{ path: string; label: string } | null> {
  for (const c of a.corpora) {
    const corpus = await corpusBySha(env, c.corpus.sha256);
    if (corpus?.holdout && existsSync(corpus.holdout.path)) return { path: corpus.holdout.path, label: `holdout ${corpus.holdout.path} (registered with ${corpus.id})` };
  }
  return null;
}

/**
 * Verifies the erasure against the bar (src/workflow/verify/): measures each unlearned model in a thread (a step each,
 * so a killed verification resumes), then completes the request, escalates to another erasure attempt when the bar
 * was missed and the policy allows, or fails it with the evidence.
 */
async function runVerify(env: WorkflowEnv, c: Claim, log: JobLog): Promise<void> {
  const r = await getRequest(env, c.job.requestId);
  if (r.state !== 'verifying') return skip(env, c, r, log);
  const a = await loadAssessment(env.store.db, r.id);
  const erase = (await listJobs(env.store, r.id)).filter((j) => j.kind === 'erase' && j.state === 'done').at(-1);
  if (!a || !erase) throw new Error(`request ${r.id} has no assessment or finished erasure to verify; retry it`);
  const attemptNo = typeof erase.result?.['attempt'] === 'number' ? erase.result['attempt'] : 1;
  const outputs = (erase.result?.['outputs'] ?? []) as EraseOutput[];
  const policy = barFor(r.verification);
  const data = (await stepOutput(env.store, erase.id, 'data')) as { forget: string } | undefined;
  if (!data || !existsSync(data.forget)) throw new Error(`request ${r.id}: the erasure's forget set is gone; retry the request to erase again`);
  const reference = await referenceOf(env, a);
  const models: ModelVerification[] = [];
  for (const [i, o] of outputs.entries()) {
    const step = `measure:${i}`;
    let m = (await stepOutput(env.store, c.job.id, step)) as ModelVerification | undefined;
    if (!m) {
      log(`job ${c.job.id}: verifying ${o.outDir} against the bar (${reference ? 'non-members: ' + reference.label : 'no non-member reference'})`);
      const measured = await runInThread('verify', { baseModel: o.model, model: outputFolder(env, o), forgetPath: data.forget, reference, policy, seed: attemptNo }, undefined, c.signal);
      m = { model: o.outDir, modelSha256: o.modelSha256, baseModel: o.model, method: o.method, ...measured };
      await recordStep(env.store, c, step, { ...m }, now(env));
    }
    models.push(m);
  }
  const { result, summary } = overall(models);
  const previous = (await lastVerification(env, r.id))?.attempts ?? [];
  const attempts: VerificationAttempt[] = [...previous.filter((p) => p.attempt < attemptNo), {
    attempt: attemptNo, method: [...new Set(outputs.map((o) => o.method))].join(', '), options: outputs[0]?.options ?? [], models, result, summary, at: now(env).toISOString(),
  }];
  // An exact erasure (every output from SISA) is not escalated: retraining again gives the same model.
  const exact = outputs.length > 0 && outputs.every((o) => o.method === EXACT_METHOD);
  const escalate = result === 'FAILED' && attemptNo < policy.maxAttempts && !exact;
  const fail = (result === 'FAILED' && !escalate) || (result === 'INCONCLUSIVE' && policy.inconclusive === 'fail');
  const record: VerificationRecord = { policy, attempts, result, decision: escalate ? 'escalated' : fail ? 'failed' : 'completed' };
  await finishJob(env.store, c, { verification: record }, now(env), async (tx) => {
    if (escalate) {
      await moveRequest(env, tx, r.id, 'queued', { actor: c.worker, reason: `verification ${result} (attempt ${attemptNo} of ${policy.maxAttempts}): ${summary}; escalating` });
      await enqueueJob(tx, { requestId: r.id, kind: 'erase', input: { attempt: attemptNo + 1 }, now: now(env) });
    } else if (fail) {
      await moveRequest(env, tx, r.id, 'failed', { actor: c.worker, reason: `verification ${result} after ${attemptNo} attempt(s): ${summary}` });
    } else {
      await moveRequest(env, tx, r.id, 'completed', { actor: c.worker, reason: `verification ${result}: ${summary}` });
    }
  });
  log(`job ${c.job.id}: request ${r.id} verification ${result} (attempt ${attemptNo}): ${summary} → ${record.decision}`);
}

export async function runJob(env: WorkflowEnv, c: Claim, log: JobLog): Promise<void> {
  if (c.job.kind === 'assess') return runAssess(env, c, log);
  if (c.job.kind === 'erase') return runErase(env, c, log);
  if (c.job.kind === 'train-shard') return (await import('./shard-jobs.ts')).runShardJob(env, c, log);
  return runVerify(env, c, log);
}
