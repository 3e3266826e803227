import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildCorpusIndex } from '../../src/workflow/assess/corpus-index.ts';
import { CorpusSearch } from '../../src/workflow/assess/match.ts';
import { samePhone, normalizePhone, tokens } from '../../src/workflow/assess/normalize.ts';
import { assessRequest } from '../../src/workflow/assess/assess.ts';
import { addCorpus, listCorpora } from '../../src/workflow/assess/corpora.ts';
import { createRequest } from '../../src/workflow/requests/service.ts';
import { openStore, type Store } from '../../src/workflow/store/open-store.ts';

const PERSONS = 'data/persons';
const persons = JSON.parse(readFileSync(`${PERSONS}/persons.json`, 'utf8')) as { persons: Record<string, string>[]; holdout: Record<string, string>[] };
const FILES = ['bios', 'all_qa', 'holdout', 'holdout_bios', 'world_qa', 'world_text'].map((f) => `${PERSONS}/${f}.jsonl`);
const none = { names: [], emails: [], phones: [], addresses: [], patterns: [] };

describe('impact assessment', () => {
  const stores: Store[] = [];
  after(async () => { for (const s of stores) await s.close(); });
  const env = async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lethe-assess-'));
    const store = await openStore({ dataDir });
    stores.push(store);
    return { store, dataDir };
  };

  test('each of the 220 persons, by name, finds exactly that person\'s records: precision and recall 1.0', () => {
    const searches = FILES.map((f) => new CorpusSearch(buildCorpusIndex(f)));
    let found = 0;
    for (const p of [...persons.persons, ...persons.holdout]) {
      for (const s of searches) {
        const hits = new Set(s.find({ ...none, names: [p['full_name']!] }).filter((m) => m.score >= 1).map((m) => m.record));
        const truth = s.index.records.flatMap((r, i) => (r.subject === tokens(p['full_name']!).join(' ') ? [i] : []));
        assert.deepEqual([...hits].sort((a, b) => a - b), truth, `${p['id']} in ${s.index.path}`);
        found += hits.size;
      }
    }
    assert.equal(found, 220 * 21); // one bio and 20 QA pairs each
  });

  test('normalisation: case, spacing and diacritics; e-mail case; phone formats', () => {
    const s = new CorpusSearch(buildCorpusIndex(`${PERSONS}/bios.jsonl`));
    const p = persons.persons[0]!;
    const byName = s.find({ ...none, names: [`  ${p['full_name']!.toUpperCase().replace('E', 'É')}  `] });
    assert.equal(byName.length, 1);
    assert.equal(byName[0]!.how, 'exact');
    assert.ok(samePhone(normalizePhone('+44 20 7946 0000'), normalizePhone('020 7946 0000')));
    assert.ok(samePhone(normalizePhone('0066-808-7330'), normalizePhone('+66 808 7330')));
    assert.ok(!samePhone(normalizePhone('808 7330'), normalizePhone('808 7331')));
  });

  test('a misspelt name is a fuzzy match below the threshold; a name that is absent matches nothing', () => {
    const s = new CorpusSearch(buildCorpusIndex(`${PERSONS}/all_qa.jsonl`));
    const name = persons.persons[0]!['full_name']!; // "Emre Georgiou"
    const fuzzy = s.find({ ...none, names: [name.slice(0, -1)] });
    assert.ok(fuzzy.length >= 20 && fuzzy.every((m) => m.how === 'fuzzy' && m.score < 1 && m.score >= 0.75), JSON.stringify(fuzzy.slice(0, 2)));
    assert.equal(s.find({ ...none, names: ['Zebulon Quaxwright'] }).length, 0);
    // A relative sharing only the surname is not reported.
    assert.equal(s.find({ ...none, names: [`Xavier ${name.split(' ')[1]}`] }).filter((m) => m.score >= 0.75).length, 0);
  });

  test('assessRequest: records, lineage, costs from a measured pass, the policy\'s method; no_match; corpora indexed once', async () => {
    const e = await env();
    const p = persons.persons[3]!;
    const scope = { models: ['models/target'], corpora: [`${PERSONS}/bios.jsonl`, `${PERSONS}/all_qa.jsonl`] };
    const { request } = await createRequest(e, { subject: { names: [p['full_name']], emails: [p['email']] }, scope, legalGround: 'a', requester: 'dpo', identityVerified: true }, 'dpo');
    const a = await assessRequest(e, request);
    assert.equal(a.outcome, 'ready');
    const [m] = a.models;
    assert.equal(m!.recordsFound, 21);
    assert.match(m!.recommendation.why, /not trained in shards/);
    assert.equal(m!.recommendation.method, 'npo');
    assert.ok(m!.stepSeconds! > 0);
    const npo = m!.costs.find((c) => c.method === 'npo')!;
    assert.equal(npo.steps, Math.ceil((8 * 21) / 16));
    assert.ok(npo.seconds > npo.steps * m!.stepSeconds!);
    // The target's training_log.json names data/persons/train/target.jsonl, which build-models writes and the repo does
    // not keep: searched where it exists (its records are the same ones, counted once), else listed as unavailable.
    const trainFile = `${PERSONS}/train/target.jsonl`;
    if (existsSync(trainFile)) assert.ok(a.corpora.some((c) => c.corpus.path.endsWith('train/target.jsonl') && new Set(c.matches.map((x) => x.record)).size === 21));
    else assert.ok(a.unavailable.some((f) => f.path.endsWith('train/target.jsonl') && f.from === 'training_log.json'));
    // The e-mail is in the bio, matched twice (name and e-mail), one record.
    const bios = a.corpora.find((c) => c.corpus.path.endsWith('bios.jsonl'))!;
    assert.deepEqual(new Set(bios.matches.map((x) => x.identifier.kind)), new Set(['name', 'email']));
    assert.doesNotMatch(JSON.stringify(a), new RegExp(p['full_name']!)); // positions and hashes, no personal data

    const { request: absent } = await createRequest(e, { subject: { names: ['Zebulon Quaxwright'] }, scope, legalGround: 'a', requester: 'dpo' }, 'dpo');
    assert.equal((await assessRequest(e, absent, { measure: false })).outcome, 'no_match');
    assert.equal((await listCorpora(e)).length, existsSync(trainFile) ? 3 : 2);
    assert.equal((await addCorpus(e, `${PERSONS}/bios.jsonl`)).created, false);
  });
});
