import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TrainingRecord } from '../../data/schema.ts';
import { readTrainingRecords } from '../../data/jsonl.ts';
import type { ErasureRequest, WorkflowEnv } from '../requests/service.ts';
import { addCorpus, loadIndex, type Corpus } from './corpora.ts';
import { CorpusSearch, type RecordMatch } from './match.ts';
import { estimateCosts, measureStepSeconds, type MethodCost } from './cost.ts';
import { modelLineage, type LineageFile } from './lineage.ts';
import { manifestHash, planErasure } from '../../train/sisa/erase.ts';
import { isEnsemble, readManifest, shardDir } from '../../train/sisa/manifest.ts';
import { METHOD_POLICY, recommendMethod, type Recommendation } from './policy.ts';

/**
 * Matches at or above this score count without an operator's confirmation. Exact matches score 1, so by default
 * every fuzzy match (a typo, a name spelt another way) is put to an operator: erasing someone else's records is
 * the costlier mistake.
 */
export const CONFIRM_THRESHOLD = 1;

export interface CorpusMatches {
  corpus: Pick<Corpus, 'id' | 'path' | 'sha256' | 'records'>;
  matches: RecordMatch[];
}

export interface ModelImpact {
  model: string;
  /** Corpora in this model's lineage (or the request's scope) with matches. */
  corpora: string[];
  /** Distinct records found (a record in several files of the lineage counts once). */
  recordsFound: number;
  recommendation: Recommendation;
  costs: MethodCost[];
  /** Measured seconds of one forward+backward pass on a batch of the forget records. */
  stepSeconds: number | null;
}

/** What an assessment found and proposes. Records are named by file, position and hash: no personal data. */
export interface Assessment {
  requestId: string;
  outcome: 'no_match' | 'needs_confirmation' | 'ready';
  corpora: CorpusMatches[];
  /** Lineage files that could not be searched (missing), so the finding is only as complete as this list allows. */
  unavailable: LineageFile[];
  models: ModelImpact[];
  /** Matches below the threshold: an operator confirms or rejects them before erasure. */
  toConfirm: number;
  threshold: number;
  createdAt: string;
}

/** The records of a corpus at the given index positions, as training records (for timing and for the forget set). */
export function recordsAt(path: string, positions: readonly number[]): TrainingRecord[] {
  const all = readTrainingRecords(path);
  return positions.map((i) => all[i]!).filter((r) => r !== undefined);
}

/**
 * The cost of exact erasure: the steps the original run spent on the stages to retrain (from each affected shard's
 * earliest erased slice on), each a pass over a stage batch — timed on a forget batch of up to 16 records.
 */
function sisaCost(model: string, records: readonly TrainingRecord[], stepSeconds: number): MethodCost {
  const m = readManifest(model);
  const steps = planErasure(m, new Set(records.map(manifestHash))).reduce((n, p) => n + p.steps, 0);
  return { method: 'sisa', steps, seconds: steps * stepSeconds * (m.options.batchSize / Math.min(16, Math.max(1, records.length))) };
}

/**
 * Assesses a request: finds the subject's records in the scope's corpora and in the corpora of each model's lineage
 * (registering and indexing them on first use), lists the models trained on them, estimates the cost of each
 * candidate method from a measured pass time, and recommends a method from the written policy.
 */
export async function assessRequest(env: WorkflowEnv, request: ErasureRequest, o: { measure?: boolean } = {}): Promise<Assessment> {
  const lineage = new Map(request.scope.models.map((m) => [m, modelLineage(m)] as const));
  const unavailable = [...lineage.values()].flat().filter((f) => !f.exists);
  const paths = new Set([...request.scope.corpora, ...[...lineage.values()].flat().filter((f) => f.exists).map((f) => f.path)]);
  const corpora: (CorpusMatches & { full: Corpus; content: (record: number) => string })[] = [];
  for (const path of paths) {
    const { corpus } = await addCorpus(env, path);
    if (corpora.some((c) => c.full.sha256 === corpus.sha256)) continue;
    const index = loadIndex(corpus);
    const matches = new CorpusSearch(index).find(request.subject);
    corpora.push({
      corpus: { id: corpus.id, path: corpus.path, sha256: corpus.sha256, records: corpus.records }, matches, full: corpus,
      content: (record) => index.records[record]!.text,
    });
  }
  const confident = (c: CorpusMatches) => new Set(c.matches.filter((m) => m.score >= CONFIRM_THRESHOLD).map((m) => m.record));
  // The same record often sits in several files of a lineage (a source file and the training file built from it):
  // count it once, by its searched content.
  const distinct = (cs: readonly (typeof corpora)[number][]) => new Set(cs.flatMap((c) => [...confident(c)].map((r) => c.content(r)))).size;
  const toConfirm = corpora.reduce((n, c) => n + c.matches.filter((m) => m.score < CONFIRM_THRESHOLD).length, 0);
  const models: ModelImpact[] = [];
  for (const model of request.scope.models) {
    const files = lineage.get(model)!;
    const shas = new Set(files.map((f) => f.sha256).filter((s): s is string => s !== null));
    const inLineage = (c: CorpusMatches & { full: Corpus }) => files.some((f) => f.path === c.full.path) || shas.has(c.full.sha256) || request.scope.corpora.includes(c.full.path);
    const hit = corpora.filter((c) => inLineage(c) && c.matches.length > 0);
    const found = distinct(hit);
    const retainRecords = hit.reduce((n, c) => n + c.corpus.records - confident(c).size, 0);
    const sharded = isEnsemble(model);
    // An ensemble is timed and sized by its first shard: every shard has the same shape.
    const single = sharded ? shardDir(model, 0) : model;
    let stepSeconds: number | null = null;
    if (o.measure !== false && found > 0) {
      const first = hit.find((c) => confident(c).size > 0)!;
      stepSeconds = measureStepSeconds(single, recordsAt(first.full.path, [...confident(first)].slice(0, 16)));
    }
    const width = (JSON.parse(readFileSync(join(single, 'config.json'), 'utf8')) as { n_embd?: number; hidden_size?: number });
    let costs: MethodCost[] = [];
    if (stepSeconds !== null) {
      costs = sharded ? [sisaCost(model, hit.flatMap((c) => recordsAt(c.full.path, [...confident(c)])), stepSeconds)]
        : estimateCosts(METHOD_POLICY.map((p) => p.method), width.n_embd ?? width.hidden_size ?? 256, found, stepSeconds);
    }
    let recommendation = recommendMethod({ sharded, retainRecords });
    // Records in a base model's data are in every shard's starting point: retraining shards cannot remove them.
    const inBase = hit.filter((c) => files.some((f) => f.path === c.full.path && f.from !== 'ensemble.json' && f.model !== resolve(model)));
    if (sharded && inBase.length > 0) {
      recommendation = { ...recommendation, why: `${recommendation.why}; but the subject's records are also in ${inBase.map((c) => c.corpus.path).join(', ')}, the training data of the base model every shard started from — retraining shards does not remove those, and verification will show what remains` };
    }
    models.push({ model, corpora: hit.map((c) => c.corpus.id), recordsFound: found, stepSeconds, costs, recommendation });
  }
  const anyMatch = corpora.some((c) => c.matches.length > 0);
  return {
    requestId: request.id,
    outcome: !anyMatch ? 'no_match' : toConfirm > 0 ? 'needs_confirmation' : 'ready',
    corpora: corpora.map(({ full: _f, ...c }) => c), unavailable, models, toConfirm, threshold: CONFIRM_THRESHOLD,
    createdAt: (env.now ? env.now() : new Date()).toISOString(),
  };
}

/** Positions per corpus of the records an erasure forgets: confident matches, plus the confirmed ones. */
export function forgetPositions(a: Assessment, confirmed: ReadonlySet<string> = new Set()): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const c of a.corpora) {
    const keep = new Set(c.matches.filter((m) => m.score >= a.threshold || confirmed.has(m.hash)).map((m) => m.record));
    if (keep.size > 0) out.set(c.corpus.path, [...keep].sort((x, y) => x - y));
  }
  return out;
}

