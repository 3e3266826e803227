import { z } from 'zod';
import { DataError } from '../data/errors.ts';
import { readRecords } from '../data/jsonl.ts';
import { isMuseFolder, museFile, type MuseSet } from '../data/muse.ts';
import { TextRecordSchema } from '../data/schema.ts';
import type { EvalReadOptions } from './datasets.ts';

/** A knowmem question and its gold answer (MUSE: knowmem/forget_qa.json, retain_qa.json and their _icl examples). */
export interface MuseQa {
  question: string;
  answer: string;
}

/** A verbmem item: an excerpt of a forget document and its true continuation (MUSE: verbmem/forget.json). */
export interface MuseVerbatim {
  prompt: string;
  gt: string;
}

/** What `lethe eval` reads from a MUSE folder (see src/data/muse.ts for the layout); a set the folder lacks is empty. */
export interface MuseSets {
  format: 'muse';
  verbmem: MuseVerbatim[];
  knowmem: { forget: MuseQa[]; retain: MuseQa[]; forgetIcl: MuseQa[]; retainIcl: MuseQa[] };
  /** Texts for the membership-inference attack behind PrivLeak: forget (members) and holdout (non-members). */
  privleak: { forget: string[]; holdout: string[] };
  /** The file each set came from, by set name. */
  sources: Record<string, string>;
}

const text = z.string().min(1);
const QaSchema = z.looseObject({ question: text, answer: text });
const VerbatimSchema = z.looseObject({ prompt: text, gt: text });

/**
 * Reads a MUSE corpus folder as published (MUSE's load_data.py layout or the Hugging Face repository's JSON files;
 * each file a JSON array or JSON Lines, texts also as .txt). PrivLeak's texts come from privleak/, else from raw/
 * forget and holdout. Errors name the file, line, item and field; a folder with nothing to score is an error.
 */
export function loadMuseSets(dir: string, options: EvalReadOptions = {}): MuseSets {
  if (!isMuseFolder(dir)) throw new DataError(dir, undefined, undefined, 'not a MUSE folder (no raw/, knowmem/, verbmem/ or privleak/)');
  const sources: Record<string, string> = {};
  const read = <S extends z.ZodType>(name: string, set: MuseSet, schema: S, strings = false): z.infer<S>[] => {
    const path = museFile(dir, set);
    if (path === null) return [];
    sources[name] = path;
    return readRecords(path, schema, { fields: options.fields, ...(strings ? { strings: 'text' as const } : {}) });
  };
  const texts = (name: string, set: MuseSet): string[] => read(name, set, TextRecordSchema, true).map((r) => r.text);
  const qa = (name: string, set: MuseSet): MuseQa[] => read(name, set, QaSchema).map((r) => ({ question: r.question, answer: r.answer }));

  const verbmem = read('verbmem', 'verbmem/forget', VerbatimSchema).map((r) => ({ prompt: r.prompt, gt: r.gt }));
  const knowmem = {
    forget: qa('knowmem_forget', 'knowmem/forget'), retain: qa('knowmem_retain', 'knowmem/retain'),
    forgetIcl: qa('knowmem_forget_icl', 'knowmem/forget_icl'), retainIcl: qa('knowmem_retain_icl', 'knowmem/retain_icl'),
  };
  let forget = texts('privleak_forget', 'privleak/forget');
  let holdout = texts('privleak_holdout', 'privleak/holdout');
  if (forget.length === 0 && holdout.length === 0) {
    forget = texts('privleak_forget', 'raw/forget');
    holdout = texts('privleak_holdout', 'raw/holdout');
  }
  if ((forget.length === 0) !== (holdout.length === 0)) {
    const missing = forget.length === 0 ? 'forget' : 'holdout';
    throw new DataError(dir, undefined, undefined, `has privleak ${missing === 'forget' ? 'holdout' : 'forget'} texts but no ${missing} texts (privleak/${missing}.json or raw/${missing}.json): PrivLeak needs both`);
  }
  if (verbmem.length === 0 && knowmem.forget.length === 0 && knowmem.retain.length === 0 && forget.length === 0) {
    throw new DataError(dir, undefined, undefined, 'a MUSE folder with nothing to score: no verbmem/forget.json, knowmem/forget_qa.json, knowmem/retain_qa.json or privleak (or raw) forget and holdout texts');
  }
  return { format: 'muse', verbmem, knowmem, privleak: { forget, holdout }, sources };
}
