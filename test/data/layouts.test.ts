// Data as published (issue 12 items 4 and 5): TOFU as JSON arrays and as Hugging Face JSON Lines, told apart by
// content; MUSE corpus folders; plain text; --field renaming. Errors name the file, the line, the item and the field.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { arrayItemLines, parseJsonValues, parseTextDocuments } from '../../src/data/documents.ts';
import { applyFieldMap, parseFieldMap } from '../../src/data/fields.ts';
import { DataError, readRecords, readTrainingRecords } from '../../src/data/jsonl.ts';
import { isMuseFolder, museFile, museTrainingFile } from '../../src/data/muse.ts';
import { rejectsData } from '../helpers/data-errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'lethe-layouts-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}
const MUSE = new URL('../fixtures/data/muse-mini', import.meta.url).pathname;
const TOFU_JSONL = new URL('../fixtures/data/tofu-jsonl', import.meta.url).pathname;
const TOFU = new URL('../../../shared/data/tofu/', import.meta.url).pathname;

const rejects = rejectsData;

const values = (content: string): [unknown, number, number | null][] => parseJsonValues(content, 'x.json', (l) => [l.value, l.line, l.item]);

describe('JSON layouts, told apart by content', () => {
  test('JSON Lines, one array per line, one array on one line, and a pretty-printed array give the same records', () => {
    const a = { question: 'q1?', answer: 'a1' };
    const b = { question: 'q2?', answer: 'a2' };
    const rows = (c: string): unknown[] => values(c).map(([v]) => v);
    assert.deepEqual(rows(`${JSON.stringify(a)}\n${JSON.stringify(b)}\n`), [a, b]);
    assert.deepEqual(rows(`${JSON.stringify([a])}\n${JSON.stringify([b])}`), [a, b]);
    assert.deepEqual(rows(JSON.stringify([a, b])), [a, b]);
    assert.deepEqual(rows(JSON.stringify([a, b], null, 2)), [a, b]);
    // Where each starts: the line, and the item for values inside an array.
    assert.deepEqual(values(JSON.stringify([a, b], null, 2)).map(([, line, item]) => [line, item]), [[2, 0], [6, 1]]);
    assert.deepEqual(values(`\n${JSON.stringify(a)}\n\n${JSON.stringify([a, b])}`).map(([, line, item]) => [line, item]), [[2, null], [4, 0], [4, 1]]);
  });
  test('item start lines skip brackets and commas inside strings', () => {
    assert.deepEqual(arrayItemLines('[\n "a,[b]",\n\n {"x": "]"}, 3\n]'), [2, 4, 4]);
  });
  test('a syntax error in a pretty-printed document names its line', () => {
    assert.throws(() => values('[\n  {"question": "q", "answer": "a"},\n  {"question": "q2", answer: "b"}\n]'), (e: unknown) => {
      assert.ok(e instanceof DataError && e.line === 3 && /^x\.json:3: not valid JSON \(.+\)$/.test(e.message), String(e));
      return true;
    });
  });
  test('plain text: documents separated by blank lines, inner line breaks kept, with their first line', () => {
    const docs = parseTextDocuments('\uFEFFFirst line\r\nsame doc\r\n\r\n  \nSecond doc.\n\n\n', 'a.txt', (l) => [l.value, l.line]);
    assert.deepEqual(docs, [['First line\nsame doc', 1], ['Second doc.', 5]]);
    assert.throws(() => parseTextDocuments('\n \n', 'e.txt', (l) => l), /e\.txt: the file has no records/);
  });
});

describe('readTrainingRecords: every layout a user brings', () => {
  test('a pretty-printed JSON array of QA records (was: "not valid JSON" on line 1)', () => {
    const path = file('pretty.json', JSON.stringify([{ question: 'q1?', answer: 'a1' }, { question: 'q2?', answer: 'a2' }], null, 2));
    assert.deepEqual(readTrainingRecords(path).map((r) => r.kind === 'qa' && r.answer), ['a1', 'a2']);
    const bad = file('pretty-bad.json', JSON.stringify([{ question: 'q1?', answer: 'a1' }, { question: 'q2?' }], null, 2));
    rejects(() => readTrainingRecords(bad), 'pretty-bad.json:6: item 2 of the array: field "answer" is missing', 6, 'answer');
  });
  test('a .txt file: one text record per blank-line-separated document', () => {
    const path = file('notes.txt', 'Ada Lind lives in Corvina.\nShe keeps bees.\n\nBo Marr sails.\n');
    assert.deepEqual(readTrainingRecords(path), [{ kind: 'text', text: 'Ada Lind lives in Corvina.\nShe keeps bees.' }, { kind: 'text', text: 'Bo Marr sails.' }]);
  });
  test('a JSON array of strings (MUSE raw/ and privleak/ texts) is text records; an empty string is named', () => {
    const path = file('raw.json', JSON.stringify(['First article.', 'Second article.']));
    assert.deepEqual(readTrainingRecords(path), [{ kind: 'text', text: 'First article.' }, { kind: 'text', text: 'Second article.' }]);
    rejects(() => readTrainingRecords(file('raw-empty.json', '["a", ""]')), 'raw-empty.json:1: item 2 of the array: the text is empty', 1);
    // A string standing alone on a JSON Lines line is still refused (a record is an object).
    rejects(() => readTrainingRecords(file('bare.jsonl', '{"text": "a"}\n"b"')), 'bare.jsonl:2: expected a JSON object or an array of them, got a string', 2);
  });
  test('a MUSE verbmem file is refused for training with a hint', () => {
    rejects(() => readTrainingRecords(join(MUSE, 'verbmem/forget.json')), `${join(MUSE, 'verbmem/forget.json')}:1: item 1 of the array: expected a QA record (fields "question" and "answer") or a text record (field "text") (a MUSE verbmem record is for evaluation: unlearn on the raw/ texts)`, 1);
  });
  test('a MUSE folder: raw forget texts for the forget role, raw retain1 (.txt) for the retain role', () => {
    assert.ok(isMuseFolder(MUSE));
    const forget = readTrainingRecords(MUSE, { role: 'forget' });
    assert.deepEqual(forget.map((r) => r.kind === 'text' && r.text), ['The harbour at Pellam froze in 1931.', 'Mayor Ada Marr opened the Tarrow mill.', 'Umber won the river cup twice.']);
    const retain = readTrainingRecords(MUSE, { role: 'retain' });
    assert.deepEqual(retain.map((r) => r.kind === 'text' && r.text), ['Kestrel Point is the capital of Arvenland.\nIts port ships wool and tin.', 'The Fenwick line runs north to Carrow.', 'Carrow has a glass museum.']);
    assert.equal(museTrainingFile(MUSE, 'retain'), join(MUSE, 'raw/retain1.txt'));
    // knowmem QA read as QA records, the JSON Lines retain file included.
    assert.deepEqual(readTrainingRecords(join(MUSE, 'knowmem/retain_qa.json')).map((r) => r.kind), ['qa', 'qa']);
    rejects(() => readTrainingRecords(MUSE), `${MUSE}: a MUSE folder: give the file to read, e.g. raw/forget.json`);
    rejects(() => readTrainingRecords(dir), `${dir}: is a folder: give a data file (JSON Lines, JSON or .txt) or a MUSE corpus folder (raw/, knowmem/, verbmem/, privleak/)`);
  });
  test('MUSE names: Hugging Face\'s spellings are found, Parquet-only sets say how to get JSON', () => {
    const hf = join(dir, 'hf-muse');
    file('hf-muse/knowmem/forget-qa.json', '[{"question": "q?", "answer": "a"}]');
    file('hf-muse/privleak/retain2.json', '["x"]');
    file('hf-muse/raw/forget-00000-of-00001.parquet', 'PAR1');
    assert.equal(museFile(hf, 'knowmem/forget'), join(hf, 'knowmem/forget-qa.json'));
    assert.equal(museFile(hf, 'privleak/retain'), join(hf, 'privleak/retain2.json'));
    assert.equal(museFile(hf, 'verbmem/forget'), null);
    assert.throws(() => readTrainingRecords(hf, { role: 'forget' }), /forget-00000-of-00001\.parquet: Parquet is not read; write the JSON files with MUSE's load_data\.py/);
  });
});

describe('--field: the file\'s names read as Lethe\'s', () => {
  test('parsing: comma-separated or repeated; unknown, malformed and conflicting maps are refused', () => {
    assert.deepEqual(parseFieldMap(['question=q,answer=a', 'text = body']), { question: 'q', answer: 'a', text: 'body' });
    assert.throws(() => parseFieldMap(['questoin=q']), /--field "questoin=q": "questoin" is not one of Lethe's fields \(question, answer, /);
    assert.throws(() => parseFieldMap(['question']), /--field "question": expected lethe_name=file_name/);
    assert.throws(() => parseFieldMap(['question=q', 'question=x']), /--field maps "question" twice \(from "q" and "x"\)/);
    assert.throws(() => parseFieldMap(['question=q,answer=q']), /--field reads "q" as both "question" and "answer"/);
    assert.deepEqual(applyFieldMap({ q: 'Q', a: 'A', keep: 1 }, { question: 'q', answer: 'a' }), { question: 'Q', answer: 'A', keep: 1 });
  });
  test('renamed QA and text records read; a missing or bad field is named as the file spells it', () => {
    const fields = parseFieldMap(['question=prompt_text,answer=completion']);
    const path = file('renamed.jsonl', '{"prompt_text": "Where?", "completion": "There."}\n{"body": "free text"}');
    assert.deepEqual(readTrainingRecords(path, { fields: { ...fields, text: 'body' } }).map((r) => r.kind), ['qa', 'text']);
    const missing = file('renamed-missing.jsonl', '{"prompt_text": "Where?", "completion": "There."}\n{"prompt_text": "When?"}');
    rejects(() => readTrainingRecords(missing, { fields }), 'renamed-missing.jsonl:2: field "completion" (read as "answer", --field answer=completion) is missing', 2, 'completion');
    const typed = file('renamed-typed.json', JSON.stringify([{ prompt_text: 'Where?', completion: 7 }]));
    rejects(() => readTrainingRecords(typed, { fields }), 'renamed-typed.json:1: item 1 of the array: field "completion" (read as "answer", --field answer=completion) must be a string, got a number', 1, 'completion');
    // readRecords (the evaluation readers' base) applies the same map.
    const Qa = z.looseObject({ question: z.string().min(1), answer: z.string().min(1) });
    const qaOnly = file('renamed-qa.json', JSON.stringify([{ prompt_text: 'Where?', completion: 'There.' }]));
    assert.deepEqual(readRecords(qaOnly, Qa, { fields }).map((r) => [r.question, r.answer]), [['Where?', 'There.']]);
  });
});

describe('TOFU in both published layouts', () => {
  test('the JSON Lines fixture reads to the same records as the shared JSON arrays', { skip: !existsSync(TOFU) && 'no TOFU folder beside the repository' }, () => {
    for (const name of ['forget01_perturbed.json', 'retain_perturbed.json', 'holdout01.json', 'world_facts_perturbed.json', 'forget01.json']) {
      const jsonl = readTrainingRecords(join(TOFU_JSONL, name));
      const arrays = readTrainingRecords(join(TOFU, name)).slice(0, jsonl.length);
      assert.equal(jsonl.length, 3, name);
      assert.deepEqual(jsonl, arrays, name);
    }
  });
});
