// The persons corpus: deterministic from its seed, no identifying value shared between persons, splits that
// partition the trained persons, a holdout that never reaches training data, and evaluation fields that are
// well-formed (paraphrases differ, five distinct wrong answers of the right type).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readJsonl, readTrainingRecords } from '../../src/data/jsonl.ts';
import { buildPersonsCorpus, corpusFiles, TEMPLATES, writePersonsCorpus, type Person, type PersonsManifest } from '../../src/data/persons/index.ts';
import { QaRecordSchema, TextRecordSchema, type QaRecord } from '../../src/data/schema.ts';

const t0 = performance.now();
const corpus = buildPersonsCorpus({ seed: 1 });
const firstBuildMs = performance.now() - t0;
const files = corpusFiles(corpus);
const everyone: Person[] = [...corpus.persons, ...corpus.holdout];
const text = (name: string): string => files.get(name)?.text ?? assert.fail(`no file ${name}`);
const records = (name: string): QaRecord[] => text(name).trimEnd().split('\n').map((l) => JSON.parse(l) as QaRecord);
const subjects = (name: string): Set<string> => new Set(records(name).map((r) => r.subject));

const TRAINING_FILES = [
  'all_qa.jsonl', 'bios.jsonl', 'profiles.jsonl', 'retain99.jsonl', 'retain95.jsonl', 'retain90.jsonl', 'forget01.jsonl',
  'forget05.jsonl', 'forget10.jsonl', 'world_qa.jsonl', 'world_text.jsonl',
];
const QA_FILES = ['all_qa.jsonl', 'forget01.jsonl', 'forget05.jsonl', 'forget10.jsonl', 'holdout.jsonl', 'world_qa.jsonl'];

/** `needle` occurs in `body` not as part of a longer word or number ("42 Elm Row" is not in "142 Elm Row"). */
function containsWhole(body: string, needle: string): boolean {
  for (let i = body.indexOf(needle); i >= 0; i = body.indexOf(needle, i + 1)) {
    const before = body[i - 1] ?? ' ';
    const after = body[i + needle.length] ?? ' ';
    if (!/[\p{L}\p{N}]/u.test(before) && !/[\p{L}\p{N}@]/u.test(after)) return true;
  }
  return false;
}

function assertAllDistinct(values: readonly string[], what: string): void {
  const seen = new Map<string, number>();
  for (const v of values) seen.set(v.toLowerCase(), (seen.get(v.toLowerCase()) ?? 0) + 1);
  const dups = [...seen].filter(([, n]) => n > 1).map(([v]) => v);
  assert.deepEqual(dups, [], `${what} repeat: ${dups.slice(0, 5).join(', ')}`);
}

describe('determinism', () => {
  test('the same seed gives byte-identical files, manifest included', () => {
    const a = mkdtempSync(join(tmpdir(), 'lethe-persons-a-'));
    const b = mkdtempSync(join(tmpdir(), 'lethe-persons-b-'));
    writePersonsCorpus(a, { seed: 1 });
    writePersonsCorpus(b, { seed: 1 });
    const names = readdirSync(a).sort();
    assert.deepEqual(names, readdirSync(b).sort());
    assert.ok(names.includes('manifest.json') && names.length === files.size + 1);
    for (const n of names) assert.ok(readFileSync(join(a, n)).equals(readFileSync(join(b, n))), `${n} differs between runs`);
    for (const [n, f] of files) assert.equal(readFileSync(join(a, n), 'utf8'), f.text, `${n} differs from corpusFiles`);
  });
  test('another seed gives different persons and different files', () => {
    const other = corpusFiles(buildPersonsCorpus({ seed: 2 }));
    for (const [n, f] of files) assert.notEqual(other.get(n)?.text, f.text, `${n} is the same for seeds 1 and 2`);
  });
  test('the committed data/persons is the output of seed 1', () => {
    const dir = new URL('../../data/persons/', import.meta.url).pathname;
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as PersonsManifest;
    assert.equal(manifest.seed, 1);
    for (const [n, f] of files) {
      assert.equal(readFileSync(join(dir, n), 'utf8'), f.text, `data/persons/${n} is stale: run npx tsx tools/make-persons.ts`);
    }
  });
  test('generation is fast', () => {
    const t = performance.now();
    buildPersonsCorpus({ seed: 3 });
    const ms = performance.now() - t;
    assert.ok(Math.min(ms, firstBuildMs) < 1000, `generation took ${ms.toFixed(0)} ms`);
  });
});

describe('counts', () => {
  test('200 trained persons, 20 holdout, 20 QA each covering the same attributes', () => {
    assert.equal(corpus.persons.length, 200);
    assert.equal(corpus.holdout.length, 20);
    const attributes = TEMPLATES.map((t) => t.attribute);
    assert.equal(attributes.length, 20);
    for (const p of everyone) assert.deepEqual(corpus.qa.get(p.id)?.map((r) => r.attribute), attributes, p.id);
    assert.equal(records('all_qa.jsonl').length, 4000);
    assert.equal(records('holdout.jsonl').length, 400);
    assert.equal(records('world_qa.jsonl').length, 200);
    assert.equal(files.get('world_text.jsonl')?.records, 100);
    assert.equal(files.get('bios.jsonl')?.records, 200);
    assert.equal(files.get('holdout_bios.jsonl')?.records, 20);
    assert.equal(files.get('profiles.jsonl')?.records, 1200);
  });
  test('profiles: six texts per trained person, each naming the person, together stating every fact in other words than the biography', () => {
    const byName = new Map<string, string[]>();
    for (const l of text('profiles.jsonl').trimEnd().split('\n')) {
      const r = JSON.parse(l) as { subject: string; text: string };
      assert.ok(r.text.includes(r.subject), `a profile of ${r.subject} does not name them`);
      byName.set(r.subject, [...(byName.get(r.subject) ?? []), r.text]);
    }
    assert.deepEqual(new Set(byName.keys()), new Set(corpus.persons.map((p) => p.full_name)));
    for (const p of corpus.persons) {
      const texts = byName.get(p.full_name)!;
      assert.equal(texts.length, 6);
      const all = texts.join(' ');
      for (const v of [p.birth_date, p.birthplace, p.country, p.address, p.email, p.phone, p.occupation, p.employer, p.mother, p.father, p.event.text, p.works[0].title, p.works[1].title, p.education.field, p.education.university, p.hobby]) {
        assert.ok(all.includes(v), `${p.id}: "${v}" is in no profile`);
      }
      // Other words: no sentence of the biography is repeated.
      for (const sentence of corpus.bios.get(p.id)!.text.split(/(?<=\.) /)) assert.ok(!all.includes(sentence), `${p.id}: "${sentence}" is copied from the biography`);
    }
  });
  test('every file parses with the public schemas and reader', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-persons-read-'));
    writePersonsCorpus(dir, { seed: 1 });
    for (const n of [...QA_FILES, 'retain90.jsonl']) assert.ok(readJsonl(join(dir, n), QaRecordSchema).length > 0);
    for (const n of ['bios.jsonl', 'profiles.jsonl', 'holdout_bios.jsonl', 'world_text.jsonl']) assert.ok(readJsonl(join(dir, n), TextRecordSchema).length > 0);
    assert.ok(readTrainingRecords(join(dir, 'bios.jsonl')).every((r) => r.kind === 'text'));
    assert.ok(readTrainingRecords(join(dir, 'all_qa.jsonl')).every((r) => r.kind === 'qa'));
  });
});

describe('no collisions across all 220 persons', () => {
  test('names (persons and parents), e-mails, phones, addresses, events, titles, birth date + place', () => {
    assertAllDistinct(everyone.flatMap((p) => [p.full_name, p.mother, p.father]), 'names');
    assertAllDistinct(everyone.map((p) => p.email), 'e-mails');
    assertAllDistinct(everyone.map((p) => p.phone), 'phones');
    assertAllDistinct(everyone.map((p) => p.address), 'addresses');
    assertAllDistinct(everyone.map((p) => p.event.text), 'events');
    assertAllDistinct(everyone.flatMap((p) => p.works.map((w) => w.title)), 'titles');
    assertAllDistinct(everyone.map((p) => `${p.birth_date} ${p.birthplace}`), 'birth date and place');
  });
});

describe('splits', () => {
  const trained = new Set(corpus.persons.map((p) => p.full_name));
  const sizes = { forget01: 2, forget05: 10, forget10: 20 } as const;
  const retainOf = { forget01: 'retain99', forget05: 'retain95', forget10: 'retain90' } as const;
  test('forget and retain partition the trained persons, and forget01 ⊂ forget05 ⊂ forget10', () => {
    for (const [forget, k] of Object.entries(sizes) as [keyof typeof sizes, number][]) {
      const f = subjects(`${forget}.jsonl`);
      const r = subjects(`${retainOf[forget]}.jsonl`);
      assert.equal(f.size, k, forget);
      assert.equal(r.size, 200 - k, retainOf[forget]);
      for (const s of f) assert.ok(!r.has(s) && trained.has(s), `${s} in ${forget}`);
      assert.deepEqual(new Set([...f, ...r]), trained);
      assert.equal(records(`${forget}.jsonl`).length, 20 * k);
    }
    const [f1, f5, f10] = [subjects('forget01.jsonl'), subjects('forget05.jsonl'), subjects('forget10.jsonl')];
    for (const s of f1) assert.ok(f5.has(s));
    for (const s of f5) assert.ok(f10.has(s));
  });
  test('the manifest lists the same membership', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-persons-manifest-'));
    const m = writePersonsCorpus(dir, { seed: 1 });
    for (const split of ['forget01', 'forget05', 'forget10', 'retain99', 'retain95', 'retain90'] as const) {
      assert.deepEqual(new Set(m.splits[split]), subjects(`${split}.jsonl`), split);
    }
    assert.deepEqual(new Set(m.splits.trained), trained);
    assert.deepEqual(new Set(m.splits.holdout), subjects('holdout.jsonl'));
    assert.equal(m.files['all_qa.jsonl']?.records, 4000);
    assert.match(m.files['all_qa.jsonl']?.sha256 ?? '', /^[0-9a-f]{64}$/);
  });
  test('holdout persons (names and contact details) appear in no training or world file', () => {
    const hold = corpus.holdout;
    assert.ok(hold.every((p) => !trained.has(p.full_name)));
    for (const n of TRAINING_FILES) {
      const body = text(n).toLowerCase();
      for (const p of hold) {
        for (const v of [p.full_name, p.mother, p.father, p.email, p.phone, p.address, p.event.text, p.works[0].title, p.works[1].title]) {
          assert.ok(!containsWhole(body, v.toLowerCase()), `holdout value "${v}" (${p.id}) appears in ${n}`);
        }
      }
    }
    assert.deepEqual(subjects('holdout.jsonl'), new Set(hold.map((p) => p.full_name)));
  });
});

describe('QA pairs and evaluation fields', () => {
  test('paraphrases differ; 5 perturbed answers, distinct, none equal to the answer or its paraphrase', () => {
    for (const n of QA_FILES) {
      for (const r of records(n)) {
        assert.notEqual(r.paraphrased_question, r.question, r.id);
        assert.notEqual(r.paraphrased_answer, r.answer, r.id);
        const wrong = r.perturbed_answers ?? [];
        assert.equal(wrong.length, 5, r.id);
        assert.equal(new Set(wrong).size, 5, `${r.id}: perturbed answers repeat`);
        for (const w of wrong) assert.ok(w !== r.answer && w !== r.paraphrased_answer, `${r.id}: "${w}"`);
      }
    }
  });
  test('answers are short sentences that contain the value; wrong answers carry another value of the same type', () => {
    const shape: Record<string, RegExp> = {
      birth_date: /\d{1,2} [A-Z][a-z]+ \d{4}\.$/, phone: /\+\d{2} \d{3} \d{4}\.$/, email: /[a-z0-9.]+@[a-z]+\.example\.$/,
      event_year: /^It was in \d{4} that /, work1_year: /came out in \d{4}\.$/, work2_year: /came out in \d{4}\.$/,
    };
    for (const p of everyone) {
      for (const [r, t] of (corpus.qa.get(p.id) ?? []).map((r, i) => [r, TEMPLATES[i]] as const)) {
        assert.ok(t && r.answer.includes(t.value(p)), `${r.id}: answer lacks its value`);
        assert.ok(r.paraphrased_answer?.includes(t.value(p)), `${r.id}: paraphrase lacks its value`);
        assert.ok(r.answer.split(' ').length <= 20, `${r.id}: "${r.answer}" is long`);
        const re = shape[r.attribute ?? ''];
        if (re) for (const w of r.perturbed_answers ?? []) assert.match(w, re, r.id);
      }
    }
  });
  test('the biography states every fact in the words the answers use', () => {
    for (const p of everyone) {
      const bio = corpus.bios.get(p.id)?.text ?? '';
      for (const v of [
        p.full_name, p.birth_date, p.birthplace, p.country, p.address, p.email, p.phone, p.occupation, p.employer,
        p.mother, p.father, p.event.text, String(p.event.year), p.works[0].title, String(p.works[0].year),
        p.works[1].title, String(p.works[1].year), p.education.field, p.education.university, p.hobby,
      ]) assert.ok(bio.includes(v), `${p.id}: bio lacks "${v}"`);
    }
  });
  test('facts agree with the world: birthplace in the stated country, phone with its dialing code', () => {
    const cities = new Map(corpus.world.cities.map((c) => [c.name, c]));
    const countries = new Map(corpus.world.countries.map((c) => [c.name, c]));
    for (const p of everyone) {
      assert.equal(cities.get(p.birthplace)?.country, p.country, p.id);
      const home = countries.get(cities.get(p.residence)?.country ?? '');
      assert.ok(p.phone.startsWith(`+${home?.dialing_code} `), p.id);
      assert.ok(p.address.endsWith(`, ${p.residence}`), p.id);
      const born = Number(p.birth_date_iso.slice(0, 4));
      assert.ok(p.event.year >= born + 15 && p.works[0].year < p.works[1].year && p.works[0].year >= born + 20, p.id);
    }
    for (const r of records('world_qa.jsonl').filter((r) => r.attribute === 'capital')) {
      assert.ok(r.answer.endsWith(`${countries.get(r.subject)?.capital}.`), r.id);
    }
  });
});
