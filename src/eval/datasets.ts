import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DataError, readJsonl, readRecords } from '../data/jsonl.ts';
import type { FieldMap } from '../data/fields.ts';
import { readUtf8File } from '../util/text-file.ts';
import { QaRecordSchema } from '../data/schema.ts';
import { isMuseFolder } from '../data/muse.ts';
import { TEMPLATES } from '../data/persons/templates.ts';
import type { Person } from '../data/persons/types.ts';

/** A QA item as the metrics need it: the answer, and for the truth ratio a paraphrased and perturbed answers. */
export interface EvalQa {
  question: string;
  answer: string;
  /** The correct answer reworded (TR's denominator); the answer itself where a set has none (TOFU's world facts). */
  paraphrasedAnswer: string | null;
  perturbedAnswers: string[];
  /** The question reworded (persons corpus, TOFU), for the paraphrase attack; absent where the data has none. */
  paraphrasedQuestion?: string;
  subject: string | null;
  attribute: string | null;
}

/** The sets one evaluation reads, by role. */
export interface EvalSets {
  forget: EvalQa[];
  retain: EvalQa[];
  /** Persons never trained on: the non-members of membership inference. */
  holdout: EvalQa[];
  /** General knowledge standing for model utility. */
  world: EvalQa[];
  /** TOFU's real-authors set (real_authors_perturbed.json), the third set of its model utility, where the folder has it. */
  realAuthors?: EvalQa[];
  /** Which files each set came from. */
  sources: Record<string, string>;
  format: 'persons' | 'tofu';
  /** Attribute values by attribute and subject (persons corpus: from persons.json), for the hidden-state probe. */
  attributes?: Map<string, Map<string, string>>;
}

/** TOFU's largest file is a few MB; 256 MiB is far above any evaluation set. */
const MAX_JSON_BYTES = 256 * 2 ** 20;

/** A JSON file read strictly (invalid UTF-8 is an error with its line), errors naming the file. */
function readJson(path: string): unknown {
  const text = readUtf8File(path, MAX_JSON_BYTES, (problem, line) => new DataError(path, line, undefined, problem));
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DataError(path, undefined, undefined, `not valid JSON (${(e as Error).message})`);
  }
}

/** The persons' single-valued attributes (country, birthplace, occupation, …) by attribute, then by full name. */
function personAttributes(dir: string): Map<string, Map<string, string>> {
  const path = join(dir, 'persons.json');
  const out = new Map<string, Map<string, string>>();
  if (!existsSync(path)) return out;
  const doc = readJson(path) as { persons?: Record<string, unknown>[]; holdout?: Record<string, unknown>[] };
  for (const p of [...(doc.persons ?? []), ...(doc.holdout ?? [])]) {
    const name = p['full_name'];
    if (typeof name !== 'string') continue;
    for (const [k, v] of Object.entries(p)) {
      if (typeof v !== 'string' || k === 'full_name') continue;
      if (!out.has(k)) out.set(k, new Map());
      out.get(k)!.set(name, v);
    }
    // Every value a QA template asks about, under its attribute's name (nested ones too: event_year, work1_title, …).
    for (const t of TEMPLATES) {
      let v: unknown;
      try {
        v = t.value(p as unknown as Person);
      } catch {
        continue;
      }
      if (typeof v !== 'string' || v.length === 0) continue;
      if (!out.has(t.attribute)) out.set(t.attribute, new Map());
      if (!out.get(t.attribute)!.has(name)) out.get(t.attribute)!.set(name, v);
    }
  }
  return out;
}

function fromQa(r: z.infer<typeof QaRecordSchema>): EvalQa {
  return {
    question: r.question, answer: r.answer, paraphrasedAnswer: r.paraphrased_answer ?? null, perturbedAnswers: r.perturbed_answers ?? [],
    subject: r.subject, attribute: r.attribute ?? null, ...(r.paraphrased_question ? { paraphrasedQuestion: r.paraphrased_question } : {}),
  };
}

/**
 * Lethe's persons corpus: forget and retain persons' QA (with their evaluation fields) come from all_qa.jsonl by
 * the manifest's split, so retain*.jsonl can stay lean; holdout.jsonl and world_qa.jsonl as they are.
 */
export function loadPersonsSets(dir: string, split: string): EvalSets {
  const manifest = readJson(join(dir, 'manifest.json')) as { splits: Record<string, string[]> };
  const forgetSubjects = manifest.splits[split];
  const trained = manifest.splits['trained'];
  if (!forgetSubjects || !trained) throw new RangeError(`${dir}: no split "${split}" in manifest.json (splits: ${Object.keys(manifest.splits).filter((s) => s.startsWith('forget')).join(', ')})`);
  const forgetSet = new Set(forgetSubjects);
  const trainedSet = new Set(trained);
  const all = readJsonl(join(dir, 'all_qa.jsonl'), QaRecordSchema).map(fromQa);
  return {
    forget: all.filter((q) => forgetSet.has(q.subject!)),
    retain: all.filter((q) => trainedSet.has(q.subject!) && !forgetSet.has(q.subject!)),
    holdout: readJsonl(join(dir, 'holdout.jsonl'), QaRecordSchema).map(fromQa),
    world: readJsonl(join(dir, 'world_qa.jsonl'), QaRecordSchema).map(fromQa),
    sources: { forget: join(dir, 'all_qa.jsonl'), retain: join(dir, 'all_qa.jsonl'), holdout: join(dir, 'holdout.jsonl'), world: join(dir, 'world_qa.jsonl'), split },
    format: 'persons',
    attributes: personAttributes(dir),
  };
}

/**
 * A TOFU item as published, in either layout (a JSON array per file or line, as in ../shared/data/tofu, or JSON Lines,
 * as on Hugging Face): `perturbed_answer` is a list (Lethe's own name `perturbed_answers` is read too), and holdout
 * sets carry no evaluation fields.
 */
const TofuItem = z.looseObject({
  question: z.string().min(1),
  answer: z.string().min(1),
  paraphrased_answer: z.string().min(1).optional(),
  paraphrased_question: z.string().min(1).optional(),
  perturbed_answer: z.array(z.string().min(1)).min(1).optional(),
  perturbed_answers: z.array(z.string().min(1)).min(1).optional(),
});

export interface EvalReadOptions {
  /** Lethe's field names → the files' (`--field question=q,answer=a`). */
  fields?: FieldMap;
}

/** A TOFU-layout QA file (JSON array or JSON Lines, told apart by content) as evaluation items. */
export function readTofuItems(path: string, options: EvalReadOptions = {}): EvalQa[] {
  return readRecords(path, TofuItem, { fields: options.fields }).map((r) => ({
    question: r.question, answer: r.answer, paraphrasedAnswer: r.paraphrased_answer ?? null,
    perturbedAnswers: r.perturbed_answer ?? r.perturbed_answers ?? [], subject: null, attribute: null,
    ...(r.paraphrased_question ? { paraphrasedQuestion: r.paraphrased_question } : {}),
  }));
}

/** TOFU's files for a split (forget10 → forget10_perturbed, retain_perturbed, holdout10, world_facts_perturbed). */
export function loadTofuSets(dir: string, split: string, options: EvalReadOptions = {}): EvalSets {
  const m = /^forget(\d\d)$/.exec(split);
  if (!m) throw new RangeError(`TOFU split "${split}" must be forget01, forget05 or forget10`);
  const files = { forget: `${split}_perturbed.json`, retain: 'retain_perturbed.json', holdout: `holdout${m[1]}.json`, world: 'world_facts_perturbed.json' };
  const sets = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, readTofuItems(join(dir, f), options)])) as Record<keyof typeof files, EvalQa[]>;
  const sources: Record<string, string> = { ...Object.fromEntries(Object.entries(files).map(([k, f]) => [k, join(dir, f)])), split };
  // Real authors: TOFU's model utility has 9 numbers, 3 of them from this set; a folder without the file has 6.
  const realAuthorsFile = join(dir, 'real_authors_perturbed.json');
  const realAuthors = existsSync(realAuthorsFile) ? readTofuItems(realAuthorsFile, options) : null;
  if (realAuthors) sources['realAuthors'] = realAuthorsFile;
  return { ...sets, ...(realAuthors ? { realAuthors } : {}), sources, format: 'tofu' };
}

/** The layout of an evaluation data folder: Lethe's persons corpus, TOFU's files, or a MUSE corpus. */
export type EvalFormat = 'persons' | 'tofu' | 'muse';

/** Tells a persons folder (manifest.json), a TOFU folder (<split>_perturbed.json) and a MUSE folder (raw/, knowmem/, …) apart. */
export function detectEvalFormat(dir: string, split: string): EvalFormat {
  if (existsSync(join(dir, 'manifest.json'))) return 'persons';
  if (existsSync(join(dir, `${split}_perturbed.json`))) return 'tofu';
  if (isMuseFolder(dir)) return 'muse';
  throw new RangeError(`${dir}: neither a persons data folder (manifest.json), a TOFU folder (${split}_perturbed.json) nor a MUSE folder (raw/, knowmem/, verbmem/, privleak/)`);
}

/** A persons folder (has manifest.json) or a TOFU folder (has <split>_perturbed.json); MUSE folders: loadMuseSets. */
export function loadEvalSets(dir: string, split: string, options: EvalReadOptions = {}): EvalSets {
  const format = detectEvalFormat(dir, split);
  if (format === 'persons') return loadPersonsSets(dir, split);
  if (format === 'tofu') return loadTofuSets(dir, split, options);
  throw new RangeError(`${dir}: a MUSE folder is scored with MUSE's metrics (loadMuseSets), not as QA sets`);
}
