/** The synthetic "persons" benchmark corpus (DESIGN.md §4): generation, splits and the files on disk. */
export { buildPersonsCorpus, type CorpusOptions, type PersonsCorpus } from './generate.ts';
export { FORGET_SPLITS, makeSplits, RETAIN_OF, type ForgetSplit, type RetainSplit, type SplitName, type Splits } from './splits.ts';
export { biography, TEMPLATES, type QaTemplate } from './templates.ts';
export type { City, Country, Gender, LifeEvent, Person, Work, World } from './types.ts';
export { buildManifest, corpusFiles, writePersonsCorpus, type FileInfo, type PersonsManifest } from './write.ts';
