import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { isEnsemble, readManifest, shardData } from '../../train/sisa/manifest.ts';

/** A data file a model was trained (or unlearned with a retain term) on, as its folder's records name it. */
export interface LineageFile {
  path: string;
  /** SHA-256 the record states, when it states one (unlearn.json does; training_log.json does not). */
  sha256: string | null;
  model: string;
  from: 'training_log.json' | 'unlearn.json' | 'ensemble.json';
  exists: boolean;
}

function readJson(path: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * The data files in a model's lineage: training_log.json's data files, and for an unlearned model its retain set
 * (trained on during unlearning) and its source model's lineage. Relative paths are taken from the folder and from
 * the working directory, whichever exists. The forget set is not training data and is left out.
 */
export function modelLineage(modelDir: string, seen = new Set<string>()): LineageFile[] {
  const dir = resolve(modelDir);
  if (seen.has(dir)) return [];
  seen.add(dir);
  const out: LineageFile[] = [];
  const locate = (p: string): string => {
    if (isAbsolute(p)) return p;
    const inFolder = join(dir, p);
    return existsSync(inFolder) ? inFolder : resolve(p);
  };
  if (isEnsemble(dir)) {
    // A SISA ensemble keeps its shards' training records in the folder; shards started from a base model also
    // carry what the base was trained on.
    const m = readManifest(dir);
    for (let k = 0; k < m.shards; k++) {
      const path = shardData(dir, k);
      out.push({ path, sha256: null, model: dir, from: 'ensemble.json', exists: existsSync(path) });
    }
    if (m.start.kind === 'base') out.push(...modelLineage(locate(m.start.path), seen));
    return out;
  }
  const log = readJson(join(dir, 'training_log.json'));
  const spec = log?.['spec'] as { data?: unknown } | undefined;
  if (Array.isArray(spec?.data)) {
    for (const p of spec.data.filter((x): x is string => typeof x === 'string')) {
      const path = locate(p);
      out.push({ path, sha256: null, model: dir, from: 'training_log.json', exists: existsSync(path) });
    }
  }
  const record = readJson(join(dir, 'unlearn.json'));
  if (record) {
    const retain = (record['data'] as { retain?: { path?: string; sha256?: string } | null } | undefined)?.retain;
    if (retain?.path) out.push({ path: locate(retain.path), sha256: retain.sha256 ?? null, model: dir, from: 'unlearn.json', exists: existsSync(locate(retain.path)) });
    const source = (record['source'] as { model?: string } | undefined)?.model;
    if (source && (existsSync(join(source, 'config.json')) || isEnsemble(source))) out.push(...modelLineage(source, seen));
  }
  return out;
}

