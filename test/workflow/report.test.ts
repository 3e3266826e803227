import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { after, describe, test } from 'node:test';
import { listJobs } from '../../src/workflow/jobs/queue.ts';
import { runWorker } from '../../src/workflow/jobs/worker.ts';
import { buildDpoReport, type DpoReport } from '../../src/workflow/report/report-data.ts';
import { approveRequest, createRequest, getRequest } from '../../src/workflow/requests/service.ts';
import { openStore, type Store } from '../../src/workflow/store/open-store.ts';
import { DEFAULT_BAR } from '../../src/workflow/verify/policy.ts';
import type { CriterionResult, ModelVerification, VerificationAttempt, VerificationRecord } from '../../src/workflow/verify/types.ts';
import { findChromium, NO_CHROMIUM } from '../helpers/chromium.ts';
import { SUBJECT, TINY_MODEL, writeCorpus } from './fixtures.ts';

const LETHE = join(import.meta.dirname, '../../bin/lethe.mjs');
/** The subject's identifiers and the contents of their records: none may appear in the report. */
const PERSONAL = /\bAda\b|Quill|ada\.quill|example\.org|Where does|lives in|Pellam/i;


/** Decodes an 8-bit RGB/RGBA PNG (as Chromium writes screenshots): width, height and the distinct colours. */
function decodePng(png: Buffer): { width: number; height: number; colours: number; nonWhite: number } {
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  let off = 8;
  let width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth 8');
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      assert.ok(channels > 0, `colour type ${data[9]}`);
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const prev = Buffer.alloc(stride);
  const line = Buffer.alloc(stride);
  const colours = new Set<number>();
  let nonWhite = 0;
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? line[i - channels]! : 0;
      const b = prev[i]!;
      const c = i >= channels ? prev[i - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      line[i] = (src[i]! + pred) & 255;
    }
    for (let x = 0; x < width; x++) {
      const r = line[x * channels]!, g = line[x * channels + 1]!, bl = line[x * channels + 2]!;
      colours.add((r << 16) | (g << 8) | bl);
      if (r < 240 || g < 240 || bl < 240) nonWhite++;
    }
    line.copy(prev);
  }
  return { width, height, colours: colours.size, nonWhite: nonWhite / (width * height) };
}

function criterion(id: string, label: string, status: CriterionResult['status'], value: number | null, bar: number | null, before: number | null, note: string | null = null): CriterionResult {
  return { id, label, status, value, bar, before, n: { subject: 3, reference: 12 }, note };
}

function verificationRecord(model: ModelVerification['model'], sha: string, final: 'INCONCLUSIVE' | 'FAILED'): VerificationRecord {
  const m = (criteria: CriterionResult[], after: number): ModelVerification => ({
    model, modelSha256: sha, baseModel: TINY_MODEL, method: 'npo', forgetProbability: { before: 0.62, after, nonMember: 0.08 },
    criteria, compared: { kind: 'qa', subjectRecords: 3, reference: '/data/holdout.jsonl' },
  });
  const missed = m([criterion('mia:loss', 'membership inference (loss)', 'missed', 0.91, 0.83, 0.97)], 0.3);
  const inconclusive = m([
    criterion('mia:loss', 'membership inference (loss)', 'met', 0.56, 0.83, 0.97),
    criterion('mia:min-k++', 'membership inference (Min-K%++)', 'met', 0.61, 0.83, 0.94),
    criterion('extraction', 'extraction of the answers', 'met', 0.5, 0.83, 0.88),
    criterion('probe', 'a linear probe on hidden states', 'not-judged', null, null, null, 'Too few records: 3 of the subject, at least 10 needed'),
  ], 0.09);
  const attempts: VerificationAttempt[] = [{ attempt: 1, method: 'npo', options: [], models: [missed], result: 'FAILED', summary: 'membership inference (loss) missed the bar: 0.91 > 0.83', at: new Date().toISOString() }];
  if (final === 'INCONCLUSIVE') attempts.push({ attempt: 2, method: 'npo', options: ['steps=40'], models: [inconclusive], result: 'INCONCLUSIVE', summary: 'nothing missed; the probe could not be judged (too few records)', at: new Date().toISOString() });
  return { policy: { ...DEFAULT_BAR, minRecords: 2 }, attempts, result: final, decision: final === 'FAILED' ? 'failed' : 'completed' };
}

describe('DPO report', () => {
  const stores: Store[] = [];
  after(async () => { for (const s of stores) await s.close(); });

  test('a completed request: report.json and report.html show every section, no personal data, and the page renders in Chromium', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lethe-report-'));
    const store = await openStore({ dataDir });
    stores.push(store);
    const env = { store, dataDir };
    const corpus = writeCorpus(join(dataDir, 'data'));
    const { request } = await createRequest(env, { subject: SUBJECT, scope: { models: [TINY_MODEL], corpora: [corpus] }, legalGround: 'a', requester: 'dpo@controller.test', identityVerified: true }, 'dpo');
    await approveRequest(env, request.id, 'op');
    await runWorker(env, { once: true });
    // Whatever the verification found on the tiny model, its record is replaced below by constructed ones.
    const state = (await getRequest(env, request.id)).state;
    const jobs = await listJobs(store, request.id);
    const verifyJob = jobs.filter((j) => j.kind === 'verify').at(-1)!;
    const output = (jobs.filter((j) => j.kind === 'erase').at(-1)!.result!['outputs'] as { outDir: string; modelSha256: string }[])[0]!;
    const setVerification = (v: VerificationRecord | string) => store.db.updateTable('jobs').set({ result: JSON.stringify({ verification: v }) }).where('id', '=', verifyJob.id).execute();
    const resultOf = (r: DpoReport) => (r.verification.status === 'verified' ? r.verification.result : r.verification.status);

    // The verification's own record, when the worker made one: a sentence per criterion, every number printed.
    const measured = await buildDpoReport(env, request.id);
    if (measured.verification.status === 'verified') {
      const criteria = measured.verification.record.attempts.at(-1)!.models.flatMap((m) => m.criteria);
      assert.deepEqual(measured.residualRisk.statements.flatMap((s) => s.criteria).filter((c) => c !== 'forget-probability').sort(), criteria.map((c) => c.id).sort(), 'every criterion is stated');
      assert.doesNotMatch([measured.residualRisk.summary, ...measured.residualRisk.statements.map((s) => s.text)].join('\n'), /undefined|NaN|null/);
    }

    // Without a verification record (a pass-through): said plainly, and only the run's own numbers are quoted.
    await setVerification('not performed: verification against a bar is not built yet (pass-through)');
    const plain = await buildDpoReport(env, request.id);
    assert.equal(plain.request.state, state);
    assert.equal(resultOf(plain), 'not-verified');
    assert.match(plain.residualRisk.summary, /^Not verified: no test has measured .* \(not performed: verification against a bar is not built yet \(pass-through\)\)/);
    assert.match(plain.residualRisk.statements.find((s) => s.criteria.includes('forget-probability'))!.text, /^The model's probability of giving the subject's answers (fell|rose|stayed)/);
    assert.deepEqual(plain.operator.missing, ['backups', 'recipients', 'responsible']);

    // A failed verification: the missed criterion reads as "still recognisable".
    await setVerification(verificationRecord(output.outDir, output.modelSha256, 'FAILED'));
    const failed = await buildDpoReport(env, request.id);
    assert.equal(resultOf(failed), 'FAILED');
    assert.match(failed.residualRisk.summary, /^Verified — FAILED.*1 test still recognises/);
    assert.match(failed.residualRisk.statements.find((s) => s.criteria.includes('mia:loss'))!.text, /still recognisable — AUC 0\.91 on 3 records of the subject against 12 never-seen records, above the bar of 0\.83; before the erasure it was 0\.97\. .*91% of the time/);

    // The final record: escalated once, then nothing missed but the probe not judged. Operator fields through the CLI,
    // one of which names the subject (it must come out redacted).
    await setVerification(verificationRecord(output.outDir, output.modelSha256, 'INCONCLUSIVE'));
    const out = join(dataDir, 'dpo');
    const cli = spawnSync(process.execPath, [LETHE, 'report', request.id, '--data-dir', dataDir, '--out', out, '--actor', 'op',
      '--set', 'backups=Nightly snapshots of /srv/models, kept beyond use until overwritten on 2026-05-01',
      '--recipient', 'Acme Analytics (processor), e-mailed 2026-03-20', '--recipient', 'Ada Quill\'s former employer, by letter',
      '--responsible', 'J. Smith, ML platform lead'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const deadline = state === 'completed' || state === 'denied' || state === 'canceled' ? 'met' : 'open';
    assert.match(cli.stdout, new RegExp(`${request.id}: ${state}, verification INCONCLUSIVE, deadline ${deadline}\n`));
    const operatorFile = JSON.parse(readFileSync(join(dataDir, 'reports', request.id, 'operator.json'), 'utf8')) as { recipients: string[]; updatedBy: string };
    assert.equal(operatorFile.recipients.length, 2);
    assert.equal(operatorFile.updatedBy, 'op');

    const jsonText = readFileSync(join(out, 'report.json'), 'utf8');
    const htmlText = readFileSync(join(out, 'report.html'), 'utf8');
    const r = JSON.parse(jsonText) as DpoReport;
    for (const k of ['request', 'deadline', 'timeline', 'found', 'done', 'verification', 'residualRisk', 'residualCopies', 'operator', 'certificate', 'privacy']) assert.ok(k in r, `report.json has ${k}`);
    assert.deepEqual(r.request.identifiers, { names: 1, emails: 1, phones: 0, addresses: 0, patterns: 0 });
    assert.equal(r.request.legalGround.article, 'GDPR Art. 17(1)(a)');
    assert.equal(r.deadline.status, deadline);
    assert.equal(r.found.recordsErased, 3);
    assert.ok(r.found.corpora[0]!.recordHashes.every((h) => /^[0-9a-f]{12}$/.test(h)) && r.found.corpora[0]!.recordHashes.length === 3);
    assert.equal(r.done.erasures.length, 1);
    assert.equal(r.done.erasures[0]!.modelSha256, output.modelSha256);
    assert.equal(resultOf(r), 'INCONCLUSIVE');
    assert.match(r.residualRisk.summary, /^Verified — INCONCLUSIVE on attempt 2 of 2 \(npo\): no judged test recognises the subject's records \(3 met\), but 1 test could not be judged/);
    const says = (id: string) => r.residualRisk.statements.find((s) => s.criteria.includes(id))!.text;
    assert.match(says('mia:loss'), /not told apart from never-seen ones better than chance allows — AUC 0\.56 on 3 records .* within the bar of 0\.83/);
    assert.match(says('probe'), /^A linear probe on hidden states could not be judged because too few records: 3 of the subject, at least 10 needed\.$/);
    assert.match(says('forget-probability'), /fell from 0\.62 to 0\.09 \(records of the same form it never saw: 0\.08\)/);
    assert.ok(r.residualCopies.some((c) => c.path.endsWith('forget.jsonl') && c.exists), 'the forget set is listed as a copy');
    assert.equal(r.operator.responsible, 'J. Smith, ML platform lead');
    assert.deepEqual(r.operator.missing, []);
    assert.equal(r.operator.recipients[1], '[erased]\'s former employer, by letter');
    assert.equal(r.privacy.redactions, 1);
    assert.doesNotMatch(jsonText, PERSONAL);
    assert.doesNotMatch(htmlText, PERSONAL);
    assert.deepEqual(JSON.parse(/<script type="application\/json" id="report">\n([^]*?)\n<\/script>/.exec(htmlText)![1]!), r, 'the page embeds report.json');

    const executablePath = findChromium();
    if (!executablePath) {
      t.skip(NO_CHROMIUM);
      return;
    }
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'], timeout: 20_000 });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(join(out, 'report.html')).href, { waitUntil: 'load' });
      assert.ok(Number(await page.evaluate('document.documentElement.scrollHeight')) > 900, 'the page is taller than the window');
      for (const id of ['summary', 'asked', 'deadline', 'found', 'done', 'evidence', 'residual-risk', 'copies', 'operator', 'timeline', 'certificate', 'privacy']) {
        const box = await page.locator(`#${id}`).boundingBox();
        assert.ok(box && box.height > 20 && box.width > 400, `#${id} is visible (${JSON.stringify(box)})`);
      }
      assert.match(await page.locator('#evidence .box').innerText(), /INCONCLUSIVE/);
      assert.equal(await page.locator('#residual-risk li').count(), r.residualRisk.statements.length);
      assert.equal(await page.locator('#operator').getByText('J. Smith, ML platform lead').count(), 1);
      for (const chart of ['chart-criteria-0', 'chart-forget-probability']) {
        const svg = page.locator(`#${chart} svg`);
        const box = await svg.boundingBox();
        assert.ok(box && box.width > 300 && box.height > 80, `${chart} is drawn as SVG (${JSON.stringify(box)})`);
        assert.ok((await svg.locator('path').count()) >= 4, `${chart} has marks`);
      }
      const png = await page.screenshot({ fullPage: true, path: join(out, 'report.png') });
      const img = decodePng(png);
      assert.equal(img.width, 1200);
      assert.ok(img.height > 900, `full page height ${img.height}`);
      assert.ok(img.colours > 100, `${img.colours} distinct colours`);
      assert.ok(img.nonWhite > 0.05, `${(img.nonWhite * 100).toFixed(1)}% of the pixels are not white`);
      assert.deepEqual(errors, [], 'no console errors');
      t.diagnostic(`screenshot: ${join(out, 'report.png')} (${img.width}×${img.height}, ${img.colours} colours)`);
    } finally {
      await browser.close();
    }
  });
});
