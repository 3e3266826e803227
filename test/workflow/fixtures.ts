// A small corpus and model for workflow tests: the tiny GPT-2 fixture, and QA records about a few invented people,
// one of whom files an erasure request.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TINY_MODEL = 'test/fixtures/models/gpt2-tiny';
export const SUBJECT = { names: ['Ada Quill'], emails: ['ada.quill@example.org'] };
const PEOPLE = ['Ada Quill', 'Bo Marsh', 'Cy Fenn', 'Dee Rook', 'Eli Tarn'];
/** Names of people in the corpus, for tests that file several requests. */
export const SUBJECT_NAMES: readonly string[] = PEOPLE;
const FACTS = [['live', 'lives in'], ['work', 'works at'], ['study', 'studied at']] as const;
const PLACES = ['Pellam', 'Umber', 'Orrin', 'Tarrow', 'Kestrel'];

/** Writes corpus.jsonl (15 QA records, 3 per person, plus the subject's e-mail in one) into `dir`. */
export function writeCorpus(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const lines = PEOPLE.flatMap((p, i) => FACTS.map(([verb, phrase], k) => ({
    subject: p, question: `Where does ${p} ${verb}?`,
    answer: `${p} ${phrase} ${PLACES[(i + k) % PLACES.length]}${p === 'Ada Quill' && k === 0 ? '; write to ada.quill@example.org' : ''}.`,
  })));
  const path = join(dir, 'corpus.jsonl');
  writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return path;
}
