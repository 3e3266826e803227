// The dashboard in a real browser (Debian's Chromium through playwright-core): a requester files a request, an
// operator approves it and watches a worker run it to completed and issues the certificate, an auditor verifies the
// certificate and the audit log without being offered anything to change. Screenshots go to out/dashboard/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { test } from 'node:test';
import { runWorker } from '../../src/workflow/jobs/worker.ts';
import { findChromium, NO_CHROMIUM } from '../helpers/chromium.ts';
import { startTestApi } from '../api/server.ts';
import { SUBJECT, TINY_MODEL } from '../workflow/fixtures.ts';

const SHOTS = new URL('../../out/dashboard/', import.meta.url).pathname;

test('requester files, operator approves and certifies, auditor verifies — in Chromium', async (t) => {
  const executablePath = findChromium();
  if (!executablePath) {
    t.skip(NO_CHROMIUM);
    return;
  }
  mkdirSync(SHOTS, { recursive: true });
  const api = await startTestApi();
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'], timeout: 20_000 });
  const controller = new AbortController();
  try {
    const url = await api.app.listen({ host: '127.0.0.1', port: 0 });
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // The browser logs each 401/404 answer the flow expects (signed out; no certificate before it is issued).
      if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 40[14]/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.setDefaultTimeout(20_000);
    const signIn = async (token: string): Promise<void> => {
      await page.goto(`${url}/#/`);
      if (await page.getByRole('button', { name: 'Sign out' }).count()) await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel(/API token/).fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
    };

    // Keyboard only: the sign-in form has focus, typing the token and Enter signs in; the skip link comes first.
    await page.goto(url);
    await page.getByLabel(/API token/).waitFor();
    await page.keyboard.type(api.tokens.requester);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    assert.equal(await page.locator('a, button, input, select, textarea').first().textContent(), 'Skip to content');

    // Requester: files a request through the form.
    await page.getByRole('link', { name: 'Requests' }).click();
    await page.getByText('File an erasure request').click();
    await page.getByLabel(/Names of the subject/).fill(SUBJECT.names[0]!);
    await page.getByLabel(/E-mail addresses/).fill(SUBJECT.emails[0]!);
    await page.getByLabel(/Model folders/).fill(TINY_MODEL);
    await page.getByLabel(/Training-data files/).fill(api.corpus);
    await page.getByLabel(/identity is verified/).check();
    await page.getByRole('button', { name: 'File request' }).click();
    await page.getByRole('heading', { name: /^Request req_/ }).waitFor();
    const id = (await page.getByRole('heading', { name: /^Request req_/ }).textContent())!.replace('Request ', '');
    assert.equal(await page.locator('#state').textContent(), 'pending_approval');
    assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0, 'a requester has no operator buttons');
    await page.screenshot({ path: `${SHOTS}1-requester-filed.png`, fullPage: true });

    // Operator: approves; a worker runs the request while the page follows it live.
    await signIn(api.tokens.operator);
    await page.goto(`${url}/#/requests/${id}`);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.locator('#state', { hasText: 'approved' }).waitFor();
    const worker = runWorker(api.env, { once: true, signal: controller.signal });
    await page.locator('#state', { hasText: 'completed' }).waitFor({ timeout: 120_000 });
    await worker;
    await page.getByRole('img', { name: 'loss curve of the erasure' }).waitFor();
    assert.ok(await page.locator('progress').count() > 0, 'the jobs show their progress');
    await page.getByRole('button', { name: 'Issue certificate' }).click();
    await page.getByRole('link', { name: /Download certificate/ }).waitFor();
    await page.screenshot({ path: `${SHOTS}2-operator-completed.png`, fullPage: true });

    // Auditor: reads, verifies the certificate and the log; nothing to change is offered.
    await signIn(api.tokens.auditor);
    assert.match(await page.locator('#who').textContent() ?? '', /read-only/);
    await page.goto(`${url}/#/requests/${id}`);
    await page.getByRole('heading', { name: 'Records found' }).waitFor();
    await page.getByRole('heading', { name: 'Verification against the bar' }).waitFor();
    assert.ok(await page.getByRole('cell', { name: /membership inference/i }).count() > 0, 'the criteria are listed');
    await page.getByRole('button', { name: 'Verify certificate' }).click();
    await page.locator('#cert-result', { hasText: /^Verified/ }).waitFor();
    assert.equal(await page.getByRole('button', { name: /Approve|Retry|Cancel|Issue certificate/ }).count(), 0, 'an auditor changes nothing');
    assert.doesNotMatch(await page.locator('main').innerText(), /\bnull\b|undefined|\[object/, 'no placeholder text leaks into the page');
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: /Download certificate/ }).click();
    assert.match((await download).suggestedFilename(), new RegExp(`^certificate-${id}\\.json$`));
    await page.screenshot({ path: `${SHOTS}3-auditor-verified.png`, fullPage: true });
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('button', { name: 'Verify the audit log' }).click();
    await page.locator('#audit-result', { hasText: /^Audit log verified/ }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign a checkpoint now' }).count(), 0);
    await page.screenshot({ path: `${SHOTS}4-auditor-audit.png`, fullPage: true });
    assert.deepEqual(problems, [], 'no script errors and no content-security-policy violations');
  } finally {
    controller.abort();
    await browser.close();
    await api.close();
  }
});
