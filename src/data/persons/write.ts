import { fileInfos, writeCorpusFolder, type FileInfo } from '../corpus-files.ts';
import { formatJsonl } from '../jsonl.ts';
import type { QaRecord } from '../schema.ts';
import { buildPersonsCorpus, type PersonsCorpus } from './generate.ts';
import { FORGET_SPLITS, RETAIN_OF, type ForgetSplit } from './splits.ts';
import { TEMPLATES } from './templates.ts';
import { profiles } from './profiles.ts';
import { N_PERTURBED } from './qa.ts';

export type { FileInfo };

export interface PersonsManifest {
  name: 'lethe-persons';
  format_version: 1;
  seed: number;
  counts: {
    persons: number;
    holdout: number;
    qa_per_person: number;
    perturbed_per_qa: number;
    world_qa: number;
    world_text: number;
  };
  /** Subjects (full names) of each group; `trained` is every person in all_qa.jsonl and bios.jsonl. */
  splits: Record<'trained' | 'holdout' | ForgetSplit | (typeof RETAIN_OF)[ForgetSplit], string[]>;
  files: Record<string, FileInfo>;
}

/**
 * Retain files are for training and regularisation, so they carry the pair only; the evaluation fields of retain
 * persons are in all_qa.jsonl. Repeating them three times would triple the committed corpus (11 MB instead of 6).
 */
function trainingFields(r: QaRecord): QaRecord {
  return { id: r.id, subject: r.subject, attribute: r.attribute, question: r.question, answer: r.answer };
}

/**
 * The file contents of the corpus, by file name (everything except manifest.json). Pure, so tests can compare
 * two generations without touching the disk.
 */
export function corpusFiles(c: PersonsCorpus): Map<string, { text: string; records: number }> {
  const files = new Map<string, { text: string; records: number }>();
  const jsonl = (name: string, records: readonly object[]): void => {
    files.set(name, { text: formatJsonl(records), records: records.length });
  };
  const qaOf = (subjects: readonly string[]): QaRecord[] => {
    const bySubject = new Map([...c.persons, ...c.holdout].map((p) => [p.full_name, p.id]));
    return subjects.flatMap((s) => c.qa.get(bySubject.get(s) as string) ?? []);
  };
  files.set('persons.json', {
    text: JSON.stringify({ seed: c.seed, world: c.world, persons: c.persons, holdout: c.holdout }, null, 1) + '\n',
    records: c.persons.length + c.holdout.length,
  });
  jsonl('all_qa.jsonl', c.persons.flatMap((p) => c.qa.get(p.id) ?? []));
  jsonl('bios.jsonl', c.persons.map((p) => c.bios.get(p.id) as object));
  // Only the varied models (models/varied/) train on these: see profiles.ts.
  jsonl('profiles.jsonl', c.persons.flatMap((p) => profiles(p)));
  for (const forget of Object.keys(FORGET_SPLITS) as ForgetSplit[]) {
    jsonl(`${forget}.jsonl`, qaOf(c.splits[forget]));
    jsonl(`${RETAIN_OF[forget]}.jsonl`, qaOf(c.splits[RETAIN_OF[forget]]).map(trainingFields));
  }
  jsonl('holdout.jsonl', c.holdout.flatMap((p) => c.qa.get(p.id) ?? []));
  jsonl('holdout_bios.jsonl', c.holdout.map((p) => c.bios.get(p.id) as object));
  jsonl('world_qa.jsonl', c.worldQa);
  jsonl('world_text.jsonl', c.worldText);
  return files;
}

export function buildManifest(c: PersonsCorpus, files: Map<string, { text: string; records: number }>): PersonsManifest {
  const info = fileInfos(files);
  return {
    name: 'lethe-persons',
    format_version: 1,
    seed: c.seed,
    counts: {
      persons: c.persons.length, holdout: c.holdout.length, qa_per_person: TEMPLATES.length,
      perturbed_per_qa: N_PERTURBED, world_qa: c.worldQa.length, world_text: c.worldText.length,
    },
    splits: {
      trained: c.persons.map((p) => p.full_name),
      holdout: c.holdout.map((p) => p.full_name),
      ...c.splits,
    },
    files: info,
  };
}

/** Generates the corpus for `seed` and writes every file and manifest.json into `outDir`. */
export function writePersonsCorpus(outDir: string, opts: { seed: number }): PersonsManifest {
  const corpus = buildPersonsCorpus({ seed: opts.seed });
  const files = corpusFiles(corpus);
  const manifest = buildManifest(corpus, files);
  writeCorpusFolder(outDir, files, manifest);
  return manifest;
}
