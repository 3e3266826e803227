import { existsSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { readLocatedValues } from '../../data/documents.ts';
import { contentHash } from '../../data/record-hash.ts';
import { atomicWrite } from '../../model/io/atomic-file.ts';
import { EXCLUSION_FORMAT, type ExclusionList } from '../../train/exclusions.ts';
import type { Assessment, CorpusMatches } from '../assess/assess.ts';
import { listCorpora, loadIndex, type Corpus } from '../assess/corpora.ts';
import { sha256File } from '../assess/corpus-index.ts';
import type { RecordMatch } from '../assess/match.ts';
import { loadAssessment } from '../jobs/handlers.ts';
import { RequestInputError } from '../requests/input-error.ts';
import type { WorkflowEnv } from '../requests/service.ts';

/**
 * Defence in depth after an erasure: the exclusion list of a corpus names, by hash, every record that erasure
 * requests took out of the models trained on it, so that the next full retrain (`lethe train --exclude`) leaves them
 * out instead of teaching them again. Hashes and request ids only: no personal data.
 *
 * A request counts once its erasure is decided: it has been queued for erasure (queued, erasing, verifying,
 * completed; paused, failed or re-assessed after that) and not canceled. Its records are the erased ones of its
 * assessment: matches at or above the threshold, and fuzzy matches an operator confirmed.
 */
export type DecidedAssessment = Pick<Assessment, 'corpora' | 'threshold'> & { confirmed?: string[] };

/** The matches an erasure covers, per corpus: at or above the threshold, or confirmed by an operator. */
export function erasedMatches(a: DecidedAssessment): { corpus: CorpusMatches['corpus']; matches: RecordMatch[] }[] {
  const confirmed = new Set(a.confirmed ?? []);
  return a.corpora.map((c) => ({ corpus: c.corpus, matches: c.matches.filter((m) => m.score >= a.threshold || confirmed.has(m.hash)) }));
}

/** The erased records' hashes, distinct and sorted (the leaves of a certificate's records Merkle root). */
export function erasedRecordHashes(a: DecidedAssessment): string[] {
  return [...new Set(erasedMatches(a).flatMap((c) => c.matches.map((m) => m.hash)))].sort();
}

/** Ids of the requests whose erasure is decided (see above), in id order. */
async function decidedRequests(env: WorkflowEnv): Promise<string[]> {
  const rows = await env.store.db.selectFrom('requests')
    .innerJoin('request_history', 'request_history.request_id', 'requests.id')
    .select('requests.id').distinct()
    .where('request_history.to_state', '=', 'queued').where('requests.state', '!=', 'canceled')
    .orderBy('requests.id').execute();
  return rows.map((r) => r.id);
}

const realOr = (p: string): string => (existsSync(p) ? realpathSync(p) : resolve(p));

/** The registered corpus `ref` names: its id, its path, or a file with the same content. */
function pickCorpus(corpora: readonly Corpus[], ref: string): Corpus {
  const byId = corpora.find((c) => c.id === ref);
  if (byId) return byId;
  if (statSync(ref, { throwIfNoEntry: false })?.isFile()) {
    const path = realOr(ref);
    const byPath = corpora.find((c) => realOr(c.path) === path);
    if (byPath) return byPath;
    const sha = sha256File(ref);
    const bySha = corpora.find((c) => c.sha256 === sha);
    if (bySha) return bySha;
  }
  throw new RequestInputError(`--corpus ${ref}: not a registered corpus id or file (see lethe corpus list)`);
}

/**
 * The content hash of each record of a corpus, by index position: from its index, or for an index built before
 * indexes held them, from the file when it is unchanged; null where neither can tell (the file is gone or changed).
 */
function contentHashesOf(c: Corpus): (string | null)[] | null {
  try {
    const index = loadIndex(c);
    if (index.records.every((r) => r.contentHash !== undefined)) return index.records.map((r) => r.contentHash ?? null);
  } catch {
    // the index and the file are both gone: only the record hashes (in the assessments) remain
  }
  if (existsSync(c.path) && sha256File(c.path) === c.sha256) return readLocatedValues(c.path, (loc) => contentHash(loc.value));
  return null;
}

/** The exclusion list of one registered corpus (`corpus`: id or path), or of every one. */
export async function buildExclusionList(env: WorkflowEnv, o: { corpus?: string; now?: Date } = {}): Promise<ExclusionList> {
  const all = await listCorpora(env);
  const chosen = o.corpus === undefined ? all : [pickCorpus(all, o.corpus)];
  const bySha = new Map(chosen.map((c) => [c.sha256, c]));
  const content = new Map<string, (string | null)[] | null>();
  const seen = new Set<string>();
  const records: ExclusionList['records'] = [];
  for (const requestId of await decidedRequests(env)) {
    const a = await loadAssessment(env.store.db, requestId);
    if (!a) continue;
    for (const { corpus, matches } of erasedMatches(a)) {
      const c = bySha.get(corpus.sha256);
      if (!c) continue;
      if (!content.has(c.id)) content.set(c.id, contentHashesOf(c));
      for (const m of matches) {
        const key = `${c.id} ${m.hash} ${requestId}`;
        if (seen.has(key)) continue; // a record matched several ways is listed once per request
        seen.add(key);
        records.push({ hash: m.hash, contentHash: content.get(c.id)?.[m.record] ?? null, requestId, corpus: c.id });
      }
    }
  }
  records.sort((x, y) => x.corpus.localeCompare(y.corpus) || x.hash.localeCompare(y.hash) || x.requestId.localeCompare(y.requestId));
  const ref = (c: Corpus) => ({ id: c.id, sha256: c.sha256, path: c.path });
  return {
    format: EXCLUSION_FORMAT, corpus: o.corpus === undefined ? null : ref(chosen[0]!), corpora: chosen.map(ref),
    generatedAt: (o.now ?? (env.now ? env.now() : new Date())).toISOString(), records,
  };
}

/** Builds the list and writes it to `out` whole or not at all; a registered corpus file is never overwritten. */
export async function exportExclusions(env: WorkflowEnv, out: string, o: { corpus?: string } = {}): Promise<ExclusionList> {
  const list = await buildExclusionList(env, o);
  const target = realOr(out);
  const clash = (await listCorpora(env)).find((c) => realOr(c.path) === target);
  if (clash) throw new RequestInputError(`--out ${out}: is the corpus ${clash.id}; write the exclusion list somewhere else`);
  atomicWrite(out, [Buffer.from(JSON.stringify(list, null, 1) + '\n')]);
  return list;
}
