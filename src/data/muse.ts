import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from './errors.ts';

/**
 * The layout of a MUSE corpus folder (Shi et al. 2024, MUSE-News / MUSE-Books), as MUSE's own `load_data.py` writes
 * it (`data/news/…`, the files its eval.py reads) and as the Hugging Face repository muse-bench/MUSE-News names its
 * JSON files:
 *
 *   raw/forget.json|.txt, raw/retain1, raw/retain2, raw/holdout   texts: a JSON array of strings, or the documents
 *                                                                   joined by blank lines (.txt)
 *   knowmem/forget_qa.json, retain_qa.json (+ _icl)               [{question, answer}] (HF: forget-qa.json, retain2-qa.json)
 *   verbmem/forget.json                                           [{prompt, gt}]
 *   privleak/forget.json, retain.json, holdout.json               texts (HF: retain2.json)
 *
 * Any of these may also be JSON Lines or `.jsonl`. Parquet files (the HF loader's format) are not read: MUSE's
 * `load_data.py` turns them into the JSON files above.
 */

/** The sets Lethe reads from a MUSE folder, by role. */
export const MUSE_SETS = {
  'raw/forget': ['raw/forget'],
  // MUSE's unlearning baselines use retain1 as the retain set; retain2 is the evaluation copy.
  'raw/retain': ['raw/retain1', 'raw/retain', 'raw/retain2'],
  'raw/holdout': ['raw/holdout'],
  'knowmem/forget': ['knowmem/forget_qa', 'knowmem/forget-qa'],
  'knowmem/forget_icl': ['knowmem/forget_qa_icl', 'knowmem/forget-qa-icl'],
  'knowmem/retain': ['knowmem/retain_qa', 'knowmem/retain2_qa', 'knowmem/retain2-qa'],
  'knowmem/retain_icl': ['knowmem/retain_qa_icl', 'knowmem/retain2_qa_icl', 'knowmem/retain2-qa-icl'],
  'verbmem/forget': ['verbmem/forget'],
  'privleak/forget': ['privleak/forget'],
  'privleak/retain': ['privleak/retain', 'privleak/retain2'],
  'privleak/holdout': ['privleak/holdout'],
} as const;

export type MuseSet = keyof typeof MUSE_SETS;

const SUBSETS = ['raw', 'knowmem', 'verbmem', 'privleak'] as const;
const EXTENSIONS = ['.json', '.jsonl', '.txt'] as const;

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Whether `dir` is a MUSE corpus folder: it has at least one of raw/, knowmem/, verbmem/, privleak/. */
export function isMuseFolder(dir: string): boolean {
  return isDir(dir) && SUBSETS.some((s) => isDir(join(dir, s)));
}

/**
 * The file holding one of a MUSE folder's sets, or null when the folder has none. A set published only as Parquet
 * is an error that says how to get the JSON files.
 */
export function museFile(dir: string, set: MuseSet): string | null {
  for (const base of MUSE_SETS[set]) {
    for (const ext of EXTENSIONS) {
      const path = join(dir, `${base}${ext}`);
      if (existsSync(path)) return path;
    }
  }
  for (const base of MUSE_SETS[set]) {
    const [sub, name] = base.split('/') as [string, string];
    const folder = join(dir, sub);
    if (!isDir(folder)) continue;
    const parquet = readdirSync(folder).find((f) => f.startsWith(`${name}-`) && f.endsWith('.parquet'));
    if (parquet) {
      throw new DataError(join(folder, parquet), undefined, undefined,
        `Parquet is not read; write the JSON files with MUSE's load_data.py (or save the split as ${name}.json, a JSON array) in ${folder}`);
    }
  }
  return null;
}

/** Where `lethe unlearn --forget/--retain DIR` reads from a MUSE folder: the raw texts MUSE's own baselines unlearn on. */
export function museTrainingFile(dir: string, role: 'forget' | 'retain'): string {
  const set: MuseSet = role === 'forget' ? 'raw/forget' : 'raw/retain';
  const path = museFile(dir, set);
  if (path === null) {
    const names = MUSE_SETS[set].map((b) => `${b}.json`).join(', ');
    throw new DataError(dir, undefined, undefined, `a MUSE folder without the ${role} texts (looked for ${names}, also as .jsonl or .txt)`);
  }
  return path;
}
