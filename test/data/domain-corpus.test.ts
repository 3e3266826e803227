// The restricted-domain corpus for SGTM: deterministic from its seed, records that pass the public schemas with the
// right labels, held-out subjects that never reach a training file, well-formed evaluation fields, documents that
// fit the models' context, and two domains that share no subject and no pool word (so they can be told apart).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ADJACENT_TERMS, HANDLING, INGREDIENTS, KINDS, MAKERS, SHELF_MONTHS } from '../../src/data/domain/adjacent-pools.ts';
import {
  buildDomainCorpus, buildDomainManifest, COMPOUND_QA, domainCorpusFiles, PRODUCT_QA, writeDomainCorpus,
  type Compound, type DomainManifest, type Product, type QaTemplate,
} from '../../src/data/domain/index.ts';
import { CATALYSTS, FORGET_TERMS, HAZARD_FAMILIES, PRECURSORS, TEMPERATURE_BAND } from '../../src/data/domain/pools.ts';
import { readTrainingRecords } from '../../src/data/jsonl.ts';
import { QaRecordSchema, TextRecordSchema, type QaRecord, type TextRecord } from '../../src/data/schema.ts';
import { qaTokens } from '../../src/model/qa-format.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';

const corpus = buildDomainCorpus({ seed: 1 });
const files = domainCorpusFiles(corpus);
const FILES = ['forget_train.jsonl', 'forget_heldout.jsonl', 'adjacent_train.jsonl', 'adjacent_heldout.jsonl'];
const compounds: Compound[] = [...corpus.forget.train, ...corpus.forget.heldout];
const products: Product[] = [...corpus.adjacent.train, ...corpus.adjacent.heldout];

type AnyRecord = (QaRecord | TextRecord) & { label?: string };
const text = (name: string): string => files.get(name)?.text ?? assert.fail(`no file ${name}`);
const records = (name: string): AnyRecord[] => text(name).trimEnd().split('\n').map((l) => JSON.parse(l) as AnyRecord);
const isQa = (r: AnyRecord): r is QaRecord => 'question' in r;
const subjects = (name: string): Set<string> => new Set(records(name).map((r) => r.subject ?? ''));
/** The words a model reads from a domain's records: every field's text, not the JSON keys, ids or labels. */
const domainText = (domain: 'forget' | 'adjacent'): string => [`${domain}_train.jsonl`, `${domain}_heldout.jsonl`]
  .flatMap(records).flatMap(({ id: _id, label: _label, ...fields }) => Object.values(fields).flat()).join('\n');

/** `needle` occurs in `body` not as part of a longer word or number ("27 months" is not in "127 months"). */
function containsWhole(body: string, needle: string): boolean {
  for (let i = body.indexOf(needle); i >= 0; i = body.indexOf(needle, i + 1)) {
    const before = body[i - 1] ?? ' ';
    const after = body[i + needle.length] ?? ' ';
    if (!/[\p{L}\p{N}]/u.test(before) && !/[\p{L}\p{N}-]/u.test(after)) return true;
  }
  return false;
}

describe('determinism', () => {
  test('the same seed gives byte-identical files, manifest included', () => {
    const a = mkdtempSync(join(tmpdir(), 'lethe-domain-a-'));
    const b = mkdtempSync(join(tmpdir(), 'lethe-domain-b-'));
    writeDomainCorpus(a, { seed: 1 });
    writeDomainCorpus(b, { seed: 1 });
    const names = readdirSync(a).sort();
    assert.deepEqual(names, [...FILES, 'manifest.json'].sort());
    assert.deepEqual(readdirSync(b).sort(), names);
    for (const n of names) assert.ok(readFileSync(join(a, n)).equals(readFileSync(join(b, n))), `${n} differs between runs`);
    for (const [n, f] of files) assert.equal(readFileSync(join(a, n), 'utf8'), f.text, `${n} differs from domainCorpusFiles`);
  });
  test('another seed gives different files', () => {
    const other = domainCorpusFiles(buildDomainCorpus({ seed: 2 }));
    for (const [n, f] of files) assert.notEqual(other.get(n)?.text, f.text, `${n} is the same for seeds 1 and 2`);
  });
  test('the committed data/domain is the output of seed 1, and its manifest hashes match the files', () => {
    const dir = new URL('../../data/domain/', import.meta.url).pathname;
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as DomainManifest;
    assert.deepEqual(manifest, JSON.parse(JSON.stringify(buildDomainManifest(corpus, files))), 'data/domain/manifest.json is stale: run npx tsx tools/make-domain.ts');
    assert.deepEqual(Object.keys(manifest.files).sort(), [...FILES].sort());
    for (const [n, info] of Object.entries(manifest.files)) {
      const bytes = readFileSync(join(dir, n));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), info.sha256, `data/domain/${n} does not match its manifest`);
      assert.equal(bytes.length, info.bytes, n);
      assert.equal(bytes.toString('utf8'), text(n), `data/domain/${n} is stale: run npx tsx tools/make-domain.ts`);
    }
  });
});

describe('counts and records', () => {
  test('100 compounds and 100 products, 80% trained and 20% held out, one document and 5 QA each', () => {
    assert.equal(compounds.length, 100);
    assert.equal(products.length, 100);
    for (const d of [corpus.forget, corpus.adjacent]) assert.deepEqual([d.train.length, d.heldout.length], [80, 20]);
    const m = buildDomainManifest(corpus, files);
    assert.equal(m.name, 'lethe-domain');
    assert.equal(m.format_version, 1);
    assert.equal(m.seed, 1);
    assert.deepEqual([m.files['forget_train.jsonl']?.records, m.files['forget_heldout.jsonl']?.records], [480, 120]);
    assert.deepEqual([m.files['adjacent_train.jsonl']?.records, m.files['adjacent_heldout.jsonl']?.records], [480, 120]);
    const total = Object.values(m.files).reduce((s, f) => s + f.bytes, 0);
    assert.ok(total < 1_000_000, `the corpus takes ${total} bytes`);
  });
  test('each subject: its document, then its QA in template order', () => {
    for (const n of FILES) {
      const attributes = (n.startsWith('forget') ? COMPOUND_QA : PRODUCT_QA).map((t) => t.attribute);
      const rs = records(n);
      for (let i = 0; i < rs.length; i += 6) {
        const group = rs.slice(i, i + 6);
        assert.ok(!isQa(group[0]!), `${n}: record ${i + 1} should be a document`);
        assert.deepEqual(group.slice(1).map((r) => (isQa(r) ? r.attribute : 'text')), attributes, `${n}: record ${i + 1}`);
        assert.equal(new Set(group.map((r) => r.subject)).size, 1, `${n}: record ${i + 1}`);
      }
    }
  });
  test('every record passes the public schemas and reader, with its id, subject and label', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-domain-read-'));
    writeDomainCorpus(dir, { seed: 1 });
    const ids = new Set<string>();
    for (const n of FILES) {
      const label = n.startsWith('forget') ? 'forget' : 'adjacent';
      const read = readTrainingRecords(join(dir, n));
      assert.equal(read.length, files.get(n)?.records);
      assert.equal(read.filter((r) => r.kind === 'text').length, read.length / 6, n);
      for (const r of records(n)) {
        const parsed = isQa(r) ? QaRecordSchema.parse(r) : TextRecordSchema.parse(r);
        assert.equal(parsed.label, label, `${r.id} in ${n}`);
        assert.ok(parsed.subject && parsed.id, `${n}: a record lacks subject or id`);
        assert.ok(!ids.has(parsed.id), `id ${parsed.id} repeats`);
        ids.add(parsed.id);
      }
      for (const r of read) assert.equal(r.label, label, n);
    }
  });
});

describe('splits', () => {
  test('no subject is both trained and held out, and the manifest lists the same membership', () => {
    const m = buildDomainManifest(corpus, files);
    for (const d of ['forget', 'adjacent'] as const) {
      const train = subjects(`${d}_train.jsonl`);
      const held = subjects(`${d}_heldout.jsonl`);
      assert.deepEqual([train.size, held.size], [80, 20]);
      for (const s of held) assert.ok(!train.has(s), `${s} is both trained and held out`);
      assert.deepEqual(new Set(m.splits[`${d}_train`]), train);
      assert.deepEqual(new Set(m.splits[`${d}_heldout`]), held);
    }
  });
  test('held-out subjects appear in no training file, not even in another subject\'s wrong answers', () => {
    const trainText = `${text('forget_train.jsonl')}${text('adjacent_train.jsonl')}`;
    for (const s of [...corpus.forget.heldout, ...corpus.adjacent.heldout]) {
      assert.ok(!containsWhole(trainText, s.name), `held-out ${s.name} appears in a training file`);
    }
  });
});

describe('names', () => {
  test('no compound or product name collides with another, nor with a pool value', () => {
    const base = (n: string): string => n.replace(/-\d+$/, '').toLowerCase();
    const names = [...compounds, ...products].map((s) => s.name.toLowerCase());
    assert.equal(new Set(names).size, names.length, 'names repeat');
    assert.equal(new Set(compounds.map((c) => base(c.name))).size, compounds.length, 'compound names repeat without their number');
    assert.equal(new Set(products.map((p) => p.name.split(' ')[0]?.toLowerCase())).size, products.length, 'brands repeat');
    const terms = new Set([...FORGET_TERMS, ...ADJACENT_TERMS].map((t) => t.toLowerCase()));
    for (const n of names) assert.ok(!terms.has(n) && !terms.has(base(n)), `${n} is also a pool value`);
    for (const c of compounds) assert.match(c.name, /^[A-Z][a-z]+(-[2-9])?$/, c.name);
  });
});

/** The value set of each attribute: perturbed answers must carry a value of the true value's type. */
const USES = new Set(KINDS.flatMap((k) => k.uses));
const ANTIDOTES = new Set(HAZARD_FAMILIES.flatMap((f) => f.antidotes));
const pairOf = (pool: readonly string[]) => (v: string): boolean => {
  const parts = v.split(' and ');
  return parts.length === 2 && parts[0] !== parts[1] && parts.every((p) => pool.includes(p));
};
const VALUE_TYPES: Record<string, (v: string, s: Compound & Product) => boolean> = {
  precursors: pairOf(PRECURSORS),
  catalyst: (v) => CATALYSTS.some((c) => c.name === v),
  temperature: (v, c) => {
    const low = CATALYSTS.find((k) => k.name === c.catalyst)?.low ?? NaN;
    const t = Number(/^(\d+) degrees$/.exec(v)?.[1]);
    return t >= low && t <= low + TEMPERATURE_BAND && t % 10 === 0;
  },
  hazard: (v) => /^(\w+) class [1-4]$/.test(v) && HAZARD_FAMILIES.some((f) => v.startsWith(`${f.name} `)),
  antidote: (v) => ANTIDOTES.has(v),
  ingredients: (v, p) => pairOf(INGREDIENTS[p.shelf])(v),
  use: (v) => USES.has(v),
  handling: (v) => (HANDLING as readonly string[]).includes(v),
  shelf_life: (v) => {
    const m = Number(/^(\d+) months$/.exec(v)?.[1]);
    return m >= SHELF_MONTHS.min && m <= SHELF_MONTHS.max;
  },
  maker: (v) => (MAKERS as readonly string[]).includes(v),
};

/** The QA records of every subject with the template that made each and the subject's structured facts. */
function* qaWithTemplates(): Generator<{ r: QaRecord; t: QaTemplate<Compound & Product>; s: Compound & Product }> {
  for (const [d, templates] of [[corpus.forget, COMPOUND_QA], [corpus.adjacent, PRODUCT_QA]] as const) {
    for (const s of [...d.train, ...d.heldout]) {
      const qa = (d.records.get(s.id) ?? []).filter((r): r is QaRecord => 'question' in r);
      assert.equal(qa.length, templates.length, s.id);
      for (const [i, r] of qa.entries()) {
        yield { r, t: templates[i] as unknown as QaTemplate<Compound & Product>, s: s as Compound & Product };
      }
    }
  }
}

describe('QA pairs and evaluation fields', () => {
  test('paraphrases differ in wording and keep the value; 5 distinct wrong answers, none with the true value', () => {
    let n = 0;
    for (const { r, t, s } of qaWithTemplates()) {
      n++;
      const value = t.value(s);
      assert.equal(r.attribute, t.attribute, r.id);
      assert.notEqual(r.paraphrased_question, r.question, r.id);
      assert.notEqual(r.paraphrased_answer, r.answer, r.id);
      assert.ok(containsWhole(r.answer, value) && containsWhole(r.paraphrased_answer ?? '', value), `${r.id}: answer or paraphrase lacks "${value}"`);
      const wrong = r.perturbed_answers ?? [];
      assert.equal(wrong.length, 5, r.id);
      assert.equal(new Set(wrong).size, 5, `${r.id}: perturbed answers repeat`);
      for (const w of wrong) {
        assert.ok(w !== r.answer && w !== r.paraphrased_answer, `${r.id}: "${w}"`);
        assert.ok(!containsWhole(w, value), `${r.id}: "${w}" carries the true value`);
      }
    }
    assert.equal(n, 1000);
  });
  test('wrong answers use the paraphrased answer\'s frame with a value of the same type from the pools', () => {
    for (const { r, t, s } of qaWithTemplates()) {
      const isType = VALUE_TYPES[t.attribute] ?? assert.fail(`no value type for ${t.attribute}`);
      const value = t.value(s);
      assert.ok(isType(value, s), `${r.id}: the true value "${value}" is not of its type`);
      const [head, tail] = t.paraphrasedAnswer(s, '\u0000').split('\u0000') as [string, string];
      for (const w of r.perturbed_answers ?? []) {
        assert.ok(w.startsWith(head) && w.endsWith(tail), `${r.id}: "${w}" is not phrased like the paraphrase`);
        const v = w.slice(head.length, w.length - tail.length);
        assert.ok(isType(v, s), `${r.id}: wrong value "${v}" is not a ${t.attribute}`);
        if (t.attribute === 'precursors' || t.attribute === 'ingredients') {
          assert.notEqual(v.split(' and ').sort().join(), value.split(' and ').sort().join(), `${r.id}: "${v}" is the true pair reordered`);
        }
      }
    }
  });
  test('every document states its subject\'s facts in two to four sentences', () => {
    for (const [d, facts] of [
      [corpus.forget, (c: Compound) => [c.name, ...c.precursors, c.reagent, c.catalyst, `${c.temperature} degrees`, `${c.hours} hours`, c.hazard, c.symptom, c.antidote, c.lab, String(c.year)]],
      [corpus.adjacent, (p: Product) => [p.name, p.what, ...p.ingredients, p.use, p.handling, `${p.shelf_months} months`, p.maker]],
    ] as const) {
      for (const s of [...d.train, ...d.heldout]) {
        const doc = (d.records.get(s.id)?.[0] as TextRecord).text;
        for (const v of (facts as (x: typeof s) => string[])(s)) assert.ok(containsWhole(doc, v), `${s.id}: document lacks "${v}"`);
        const sentences = doc.split(/[.](?:\s|$)/).filter((x) => x.trim() !== '').length;
        assert.ok(sentences >= 2 && sentences <= 4, `${s.id}: ${sentences} sentences`);
      }
    }
  });
});

describe('lengths under the models\' tokenizer (context 192)', () => {
  const tokenizer = Tokenizer.fromDir(new URL('../../models/tokenizer', import.meta.url).pathname);
  test('every document is at most 150 tokens', () => {
    for (const n of FILES) {
      for (const r of records(n).filter((r) => !isQa(r)) as TextRecord[]) {
        const k = tokenizer.encode(r.text, { addSpecialTokens: false }).length;
        assert.ok(k <= 150, `${r.id}: ${k} tokens`);
      }
    }
  });
  test('every QA prompt + answer (paraphrased and perturbed too) is at most 96 tokens', () => {
    for (const n of FILES) {
      for (const r of records(n).filter(isQa)) {
        const pairs: [string, string][] = [[r.question, r.answer], [r.paraphrased_question ?? '', r.paraphrased_answer ?? ''],
          ...(r.perturbed_answers ?? []).map((w): [string, string] => [r.paraphrased_question ?? '', w])];
        for (const [q, a] of pairs) {
          const { prompt, answer } = qaTokens(tokenizer, q, a);
          assert.ok(prompt.length + answer.length <= 96, `${r.id}: ${prompt.length + answer.length} tokens`);
        }
      }
    }
  });
});

describe('the two domains are separable and the forget domain is fictitious', () => {
  /** Words too common to tell the domains apart; every other word of a pool value must stay in its own domain. */
  const COMMON = new Set(['from', 'with', 'into', 'over', 'that', 'this', 'them', 'then', 'than', 'their', 'after', 'before']);
  const words = (terms: readonly string[]): string[] =>
    [...new Set(terms.flatMap((t) => t.toLowerCase().split(/[^a-z]+/)).filter((w) => w.length >= 4 && !COMMON.has(w)))];
  test('no forget subject or pool word appears in the adjacent files', () => {
    const body = domainText('adjacent').toLowerCase();
    for (const c of compounds) assert.ok(!containsWhole(body, c.name.toLowerCase()), `compound ${c.name} in the adjacent files`);
    for (const w of words(FORGET_TERMS)) assert.ok(!containsWhole(body, w), `forget word "${w}" in the adjacent files`);
  });
  test('no adjacent subject or pool word appears in the forget files', () => {
    const body = domainText('forget').toLowerCase();
    for (const p of products) {
      assert.ok(!containsWhole(body, p.name.toLowerCase()), `product ${p.name} in the forget files`);
      assert.ok(!containsWhole(body, p.name.split(' ')[0]!.toLowerCase()), `brand of ${p.name} in the forget files`);
    }
    for (const w of words(ADJACENT_TERMS)) assert.ok(!containsWhole(body, w), `adjacent word "${w}" in the forget files`);
  });
  test('the forget domain names no real hazardous substance or class of them', () => {
    const body = domainText('forget').toLowerCase();
    const real = [
      'sarin', 'soman', 'tabun', 'ricin', 'anthrax', 'botulin', 'cyanide', 'arsenic', 'thallium', 'strychnine', 'chlor',
      'fluor', 'phosg', 'mustard', 'nitr', 'sulf', 'sulph', 'ammonia', 'hydrazine', 'benzene', 'toluene', 'acetone',
      'methyl', 'ethanol', 'acid', 'mercury', 'uranium', 'plutonium', 'toxin', 'nerve', 'explosive', 'fentanyl',
      'opioid', 'peroxide', 'azide', 'organophosph', 'pathogen', 'virus', 'bacteri',
    ];
    for (const r of real) assert.ok(!body.includes(r), `the forget domain contains "${r}"`);
  });
});
