// The JSONL reader: valid files come back typed with extra fields kept, and every kind of bad input is rejected
// with a message that names the file, the 1-based line and the field.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatJsonl, parseJsonl, readJsonl, readTrainingRecords } from '../../src/data/jsonl.ts';
import { QaRecordSchema, TextRecordSchema } from '../../src/data/schema.ts';
import { rejectsData } from '../helpers/data-errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'lethe-jsonl-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
const qa = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ subject: 'Ada Lind', question: 'Where was Ada Lind born?', answer: 'Ada Lind was born in Corvina.', ...extra });

const rejects = rejectsData;

describe('readJsonl: valid input', () => {
  test('QA records come back typed, with unknown fields kept', () => {
    const path = file('ok.jsonl', [qa({ id: 'q1', source: 'crm', perturbed_answers: ['A.', 'B.'] }), qa()].join('\n'));
    const rows = readJsonl(path, QaRecordSchema);
    assert.equal(rows.length, 2);
    assert.equal(rows[0]?.answer, 'Ada Lind was born in Corvina.');
    assert.deepEqual(rows[0]?.perturbed_answers, ['A.', 'B.']);
    assert.equal(rows[0]?.['source'], 'crm');
  });
  test('a UTF-8 BOM, CRLF line ends and blank lines are tolerated; line numbers count blank lines', () => {
    const path = file('bom.jsonl', `\uFEFF${qa()}\r\n\r\n   \n${qa({ answer: '' })}\r\n`);
    rejects(() => readJsonl(path, QaRecordSchema), 'bom.jsonl:4: field "answer" is empty', 4, 'answer');
    const ok = file('bom-ok.jsonl', `\uFEFF${qa()}\r\n\n${qa()}\r\n`);
    assert.equal(readJsonl(ok, QaRecordSchema).length, 2);
  });
  test('formatJsonl output reads back to the same records', () => {
    const rows = [{ text: 'The river runs to the sea.', subject: 'Calder' }, { text: 'Ünïcödé – “quotes”' }];
    assert.deepEqual(parseJsonl(formatJsonl(rows), 'mem.jsonl', TextRecordSchema), rows);
  });
});

describe('readJsonl: errors name file, line and field', () => {
  test('a line that is not JSON', () => {
    const path = file('data.jsonl', `${qa()}\n${qa()}\n{"subject": "x", question}\n`);
    assert.throws(() => readJsonl(path, QaRecordSchema), /data\.jsonl:3: not valid JSON \(.+\)$/);
  });
  test('a missing field', () => {
    const lines = Array.from({ length: 6 }, () => qa());
    lines.push(JSON.stringify({ subject: 'Ada Lind', question: 'Where was Ada Lind born?' }));
    const path = file('forget.jsonl', lines.join('\n'));
    rejects(() => readJsonl(path, QaRecordSchema), 'forget.jsonl:7: field "answer" is missing', 7, 'answer');
  });
  test('a field of the wrong type, including inside a list', () => {
    const path = file('types.jsonl', qa({ question: 42 }));
    rejects(() => readJsonl(path, QaRecordSchema), 'types.jsonl:1: field "question" must be a string, got a number', 1, 'question');
    const nul = file('null.jsonl', qa({ subject: null }));
    rejects(() => readJsonl(nul, QaRecordSchema), 'null.jsonl:1: field "subject" must be a string, got null', 1, 'subject');
    const list = file('list.jsonl', `${qa()}\n${qa({ perturbed_answers: ['A.', 7] })}`);
    rejects(() => readJsonl(list, QaRecordSchema), 'list.jsonl:2: field "perturbed_answers[1]" must be a string, got a number', 2, 'perturbed_answers[1]');
    const notList = file('notlist.jsonl', qa({ perturbed_answers: 'A.' }));
    rejects(() => readJsonl(notList, QaRecordSchema), 'notlist.jsonl:1: field "perturbed_answers" must be a list, got a string', 1, 'perturbed_answers');
  });
  test('empty strings and empty lists', () => {
    const path = file('empty-field.jsonl', qa({ subject: '' }));
    rejects(() => readJsonl(path, QaRecordSchema), 'empty-field.jsonl:1: field "subject" is empty', 1, 'subject');
    const opt = file('empty-opt.jsonl', qa({ paraphrased_answer: '' }));
    rejects(() => readJsonl(opt, QaRecordSchema), 'empty-opt.jsonl:1: field "paraphrased_answer" is empty', 1, 'paraphrased_answer');
    const list = file('empty-list.jsonl', qa({ perturbed_answers: [] }));
    rejects(() => readJsonl(list, QaRecordSchema), 'empty-list.jsonl:1: field "perturbed_answers" is an empty list', 1, 'perturbed_answers');
    const text = file('empty-text.jsonl', JSON.stringify({ text: '' }));
    rejects(() => readJsonl(text, TextRecordSchema), 'empty-text.jsonl:1: field "text" is empty', 1, 'text');
  });
  test('an empty file, or one with only blank lines', () => {
    rejects(() => readJsonl(file('empty.jsonl', ''), QaRecordSchema), 'empty.jsonl: the file has no records');
    rejects(() => readJsonl(file('blank.jsonl', '\n  \n\r\n'), QaRecordSchema), 'blank.jsonl: the file has no records');
    rejects(() => readJsonl(file('bom-only.jsonl', '\uFEFF'), QaRecordSchema), 'bom-only.jsonl: the file has no records');
  });
  test('a line that is JSON but not an object', () => {
    const path = file('array.jsonl', `${qa()}\n["Where?", "There."]`);
    rejects(() => readJsonl(path, QaRecordSchema), 'array.jsonl:2: expected a JSON object, got an array', 2);
  });
  test('a file that cannot be read', () => {
    rejects(() => readJsonl(join(dir, 'missing.jsonl'), QaRecordSchema), 'missing.jsonl: cannot read the file (ENOENT)');
  });
  test('a line nested deeper than anything Lethe could write back is refused', () => {
    const path = file('deep.jsonl', `${qa()}\n${qa({ extra: 'X' }).replace('"X"', '['.repeat(100_000) + ']'.repeat(100_000))}`);
    rejects(() => readJsonl(path, QaRecordSchema), 'deep.jsonl:2: nested more than 64 levels deep', 2);
  });
  test('invalid UTF-8 is refused with the line of the first bad byte, not replaced by U+FFFD', () => {
    const path = join(dir, 'latin1.jsonl');
    // Line 2 holds "Zürich" saved as Latin-1: 0xfc is not UTF-8.
    writeFileSync(path, Buffer.concat([Buffer.from(`${qa()}\n{"subject": "Z`), Buffer.from([0xfc]), Buffer.from(`rich", "question": "q?", "answer": "a."}\n`)]));
    rejects(() => readJsonl(path, QaRecordSchema), 'latin1.jsonl:2: invalid UTF-8: byte 0xfc at column 15 (byte offset 116); save the file as UTF-8', 2);
    const truncated = join(dir, 'cut.jsonl');
    writeFileSync(truncated, Buffer.concat([Buffer.from(`${qa()}\n${qa()}\n{"text": "caf`), Buffer.from([0xc3])]));
    rejects(() => readTrainingRecords(truncated), 'cut.jsonl:3: invalid UTF-8: byte 0xc3 at column 14 (byte offset 217); save the file as UTF-8', 3);
  });
});

describe('readTrainingRecords', () => {
  test('accepts QA and text lines mixed, tags each with its kind and keeps the fields', () => {
    const path = file('train.jsonl', [qa({ id: 'q1' }), JSON.stringify({ text: 'Ada Lind lives in Corvina.', subject: 'Ada Lind', lang: 'en' })].join('\n'));
    const rows = readTrainingRecords(path);
    assert.deepEqual(rows.map((r) => r.kind), ['qa', 'text']);
    const [a, b] = rows;
    assert.ok(a?.kind === 'qa' && a.answer === 'Ada Lind was born in Corvina.' && a.id === 'q1');
    assert.ok(b?.kind === 'text' && b.text === 'Ada Lind lives in Corvina.' && b['lang'] === 'en');
  });
  test('a line of neither kind, and a QA line that lacks its answer, are named', () => {
    const neither = file('neither.jsonl', `${qa()}\n{"prompt": "x", "completion": "y"}`);
    rejects(() => readTrainingRecords(neither), 'neither.jsonl:2: expected a QA record (fields "question" and "answer") or a text record (field "text")', 2);
    const half = file('half.jsonl', `{"text": "ok"}\n{"subject": "s", "question": "q?"}`);
    rejects(() => readTrainingRecords(half), 'half.jsonl:2: field "answer" is missing', 2, 'answer');
    const badText = file('bad-text.jsonl', '{"text": 3}');
    rejects(() => readTrainingRecords(badText), 'bad-text.jsonl:1: field "text" must be a string, got a number', 1, 'text');
  });

  test('TOFU as published: QA without a subject, and lines that are arrays of records (issue 12 item 4)', () => {
    const batches = file('retain.json', `${JSON.stringify([{ question: 'q1?', answer: 'a1' }, { question: 'q2?', answer: 'a2' }])}\n${JSON.stringify([{ question: 'q3?', answer: 'a3' }])}\n`);
    const rows = readTrainingRecords(batches);
    assert.deepEqual(rows.map((r) => (r.kind === 'qa' ? [r.question, r.subject] : null)), [['q1?', undefined], ['q2?', undefined], ['q3?', undefined]]);
    const bad = file('bad-batch.json', JSON.stringify([{ question: 'q1?', answer: 'a1' }, { question: 'q2?' }]));
    rejects(() => readTrainingRecords(bad), 'bad-batch.json:1: item 2 of the array: field "answer" is missing', 1, 'answer');
    rejects(() => readTrainingRecords(file('nested.json', '[[{"text": "x"}]]')), 'nested.json:1: item 1 of the array: expected a JSON object or a string, got an array', 1);
    rejects(() => readTrainingRecords(file('empty-batch.json', '[]')), 'empty-batch.json: the file has no records');
  });

  const tofu = new URL('../../../shared/data/tofu/', import.meta.url).pathname;
  test('TOFU\'s own forget10.json, retain90.json and full.json read with the published counts', { skip: !existsSync(tofu) && 'no TOFU folder beside the repository' }, () => {
    for (const [name, n] of [['forget10.json', 400], ['retain90.json', 3600], ['full.json', 4000]] as const) {
      const rows = readTrainingRecords(join(tofu, name));
      assert.equal(rows.length, n, name);
      assert.ok(rows.every((r) => r.kind === 'qa'));
    }
  });
});
