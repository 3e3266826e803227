import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { atomicWrite } from '../../model/io/atomic-file.ts';
import { RequestInputError } from '../requests/input-error.ts';
import type { WorkflowEnv } from '../requests/service.ts';
import { dataDirOf } from '../store/open-store.ts';
import type { CorporaTable } from '../store/schema.ts';
import { buildCorpusIndex, sha256File, type CorpusIndex } from './corpus-index.ts';

export interface Corpus {
  id: string;
  path: string;
  sha256: string;
  records: number;
  indexPath: string;
  addedAt: string;
  /** Non-member records of the same form, never trained on: what verification compares the subject's records with. */
  holdout: { path: string; sha256: string } | null;
}

const indexDir = (env: WorkflowEnv): string => join(dataDirOf(env.dataDir ? { dataDir: env.dataDir } : {}), 'corpora');

/**
 * Registers a training-data file: indexes it (once per content: the index is keyed by the file's SHA-256) and
 * records it. Registering the same content again returns the existing corpus.
 */
export async function addCorpus(env: WorkflowEnv, path: string, o: { holdout?: string } = {}): Promise<{ corpus: Corpus; created: boolean }> {
  const abs = resolve(path);
  if (!statSync(abs, { throwIfNoEntry: false })?.isFile()) throw new RequestInputError(`corpus: ${abs} is not a file`);
  const holdout = o.holdout === undefined ? null : checkHoldout(abs, o.holdout);
  const sha256 = sha256File(abs);
  const existing = await env.store.db.selectFrom('corpora').selectAll().where('sha256', '=', sha256).executeTakeFirst();
  if (existing) {
    if (!holdout) return { corpus: toCorpus(existing), created: false };
    // Registering the holdout of a corpus that is already indexed: only the reference changes.
    await env.store.write((tx) => tx.updateTable('corpora').set({ holdout_path: holdout.path, holdout_sha256: holdout.sha256 }).where('id', '=', existing.id).execute());
    return { corpus: toCorpus({ ...existing, holdout_path: holdout.path, holdout_sha256: holdout.sha256 }), created: false };
  }
  const index = buildCorpusIndex(abs);
  if (index.sha256 !== sha256) throw new RequestInputError(`corpus: ${abs} changed while it was being indexed; try again`);
  const dir = indexDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const indexPath = join(dir, `${sha256}.json`);
  atomicWrite(indexPath, [new TextEncoder().encode(JSON.stringify(index))]);
  chmodSync(indexPath, 0o600); // normalised corpus text: as sensitive as the corpus
  const row = {
    id: `corp_${sha256.slice(0, 16)}`, path: abs, sha256, records: index.records.length, index_path: indexPath, added_at: (env.now ? env.now() : new Date()).toISOString(),
    holdout_path: holdout?.path ?? null, holdout_sha256: holdout?.sha256 ?? null,
  };
  await env.store.write(async (tx) => {
    const again = await tx.selectFrom('corpora').select('id').where('sha256', '=', sha256).executeTakeFirst();
    if (!again) await tx.insertInto('corpora').values(row).execute();
  });
  return { corpus: toCorpus(row), created: true };
}

/** A holdout file: a readable file that is not the corpus itself (non-members cannot be the training data). */
function checkHoldout(corpusPath: string, path: string): { path: string; sha256: string } {
  const abs = resolve(path);
  if (!statSync(abs, { throwIfNoEntry: false })?.isFile()) throw new RequestInputError(`corpus: the holdout ${abs} is not a file`);
  const sha256 = sha256File(abs);
  if (abs === corpusPath || sha256 === sha256File(corpusPath)) throw new RequestInputError(`corpus: the holdout ${abs} is the corpus itself; a holdout holds records the model was never trained on`);
  return { path: abs, sha256 };
}

function toCorpus(r: CorporaTable): Corpus {
  return {
    id: r.id, path: r.path, sha256: r.sha256, records: r.records, indexPath: r.index_path, addedAt: r.added_at,
    holdout: r.holdout_path && r.holdout_sha256 ? { path: r.holdout_path, sha256: r.holdout_sha256 } : null,
  };
}

export async function listCorpora(env: WorkflowEnv): Promise<Corpus[]> {
  return (await env.store.db.selectFrom('corpora').selectAll().orderBy('added_at').execute()).map(toCorpus);
}

/** The corpus registered with this content, or null. */
export async function corpusBySha(env: WorkflowEnv, sha256: string): Promise<Corpus | null> {
  const r = await env.store.db.selectFrom('corpora').selectAll().where('sha256', '=', sha256).executeTakeFirst();
  return r ? toCorpus(r) : null;
}

/** Loads a corpus's index; a missing or damaged index file is rebuilt from the corpus when the corpus is unchanged. */
export function loadIndex(c: Corpus): CorpusIndex {
  if (existsSync(c.indexPath)) {
    try {
      const index = JSON.parse(readFileSync(c.indexPath, 'utf8')) as CorpusIndex;
      if (index.version === 1 && index.sha256 === c.sha256) return index;
    } catch {
      // damaged (e.g. truncated by a crash outside atomicWrite): rebuilt below
    }
  }
  if (!existsSync(c.path) || sha256File(c.path) !== c.sha256) throw new RequestInputError(`corpus ${c.id}: its index is missing and ${c.path} is gone or changed; register the file again (lethe corpus add)`);
  const index = buildCorpusIndex(c.path);
  atomicWrite(c.indexPath, [new TextEncoder().encode(JSON.stringify(index))]);
  return index;
}
