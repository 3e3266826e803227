import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { atomicWrite } from '../../model/io/atomic-file.ts';
import { RequestInputError } from '../requests/request-input.ts';
import type { WorkflowEnv } from '../requests/service.ts';
import { dataDirOf } from '../store/open-store.ts';
import { buildCorpusIndex, sha256File, type CorpusIndex } from './corpus-index.ts';

export interface Corpus {
  id: string;
  path: string;
  sha256: string;
  records: number;
  indexPath: string;
  addedAt: string;
}

const indexDir = (env: WorkflowEnv): string => join(dataDirOf(env.dataDir ? { dataDir: env.dataDir } : {}), 'corpora');

/**
 * Registers a training-data file: indexes it (once per content: the index is keyed by the file's SHA-256) and
 * records it. Registering the same content again returns the existing corpus.
 */
export async function addCorpus(env: WorkflowEnv, path: string): Promise<{ corpus: Corpus; created: boolean }> {
  const abs = resolve(path);
  if (!statSync(abs, { throwIfNoEntry: false })?.isFile()) throw new RequestInputError(`corpus: ${abs} is not a file`);
  const sha256 = sha256File(abs);
  const existing = await env.store.db.selectFrom('corpora').selectAll().where('sha256', '=', sha256).executeTakeFirst();
  if (existing) return { corpus: toCorpus(existing), created: false };
  const index = buildCorpusIndex(abs);
  if (index.sha256 !== sha256) throw new RequestInputError(`corpus: ${abs} changed while it was being indexed; try again`);
  const dir = indexDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const indexPath = join(dir, `${sha256}.json`);
  atomicWrite(indexPath, [new TextEncoder().encode(JSON.stringify(index))]);
  chmodSync(indexPath, 0o600); // normalised corpus text: as sensitive as the corpus
  const row = { id: `corp_${sha256.slice(0, 16)}`, path: abs, sha256, records: index.records.length, index_path: indexPath, added_at: (env.now ? env.now() : new Date()).toISOString() };
  await env.store.write(async (tx) => {
    const again = await tx.selectFrom('corpora').select('id').where('sha256', '=', sha256).executeTakeFirst();
    if (!again) await tx.insertInto('corpora').values(row).execute();
  });
  return { corpus: toCorpus(row), created: true };
}

function toCorpus(r: { id: string; path: string; sha256: string; records: number; index_path: string; added_at: string }): Corpus {
  return { id: r.id, path: r.path, sha256: r.sha256, records: r.records, indexPath: r.index_path, addedAt: r.added_at };
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
