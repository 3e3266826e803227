// Seeded fuzzing of every untrusted file kind (safetensors, config.json, tokenizer.json + tokenizer_config.json,
// JSONL): each case is a mutated real file, loaded by Lethe in a child process and compared with an independent
// reader. Every case must end in a clean Lethe error naming the file, or in a load equal to the independent parse;
// never a crash, a hang, a corrupt file accepted or a valid one refused. tools/fuzz.ts runs longer campaigns of
// the same cases; a failure here reproduces there with `--seed 20251130` and the case's kind and index.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCampaign, type CampaignReport } from './campaign.ts';
import { KINDS } from './cases.ts';

const SEED = 20251130;
// 500 per kind keeps the suite within its 5 minutes; `npx tsx tools/fuzz.ts --cases 10000 --seed 1` runs longer campaigns.
const CASES_PER_KIND = 500;

describe('fuzz: untrusted files', { concurrency: 2 }, () => {
  for (const kind of KINDS) {
    test(`${kind}: ${CASES_PER_KIND} mutations end in a clean error or an equal load`, async () => {
      const r: CampaignReport = await runCampaign({ kind, seed: SEED, count: CASES_PER_KIND, caseTimeoutMs: 10_000 });
      const shown = r.failures.slice(0, 5).map((f) => `${f.result} #${f.index} (${f.what}): ${f.detail}`).join('\n');
      assert.equal(r.cases, CASES_PER_KIND);
      assert.equal(r.counts['clean-error'] + r.counts['accepted-equal'], r.cases, `${r.failures.length} bad outcomes:\n${shown}`);
      // Both branches of the oracle ran: some mutations were harmless, some were caught.
      assert.ok(r.counts['accepted-equal'] > 0 && r.counts['clean-error'] > 0, JSON.stringify(r.counts));
    });
  }
});
