// Issue 11: what `unlearn` writes is whole or absent, never overlaps its inputs, and describes the weights written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadModel } from '../../src/model/checkpoint.ts';
import { crashAt } from '../helpers/faults.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { GuardSample } from '../../src/unlearn/checks.ts';
import { tokenizeItems } from '../../src/unlearn/data.ts';
import { runUnlearning, unlearn, writeUnlearned, type UnlearnRecord, type UnlearnRequest } from '../../src/unlearn/run.ts';
import { FORGET_RECORDS, RETAIN_RECORDS, TINY, writeRecordFiles } from './fixtures.ts';

const { dir, forget, retain } = writeRecordFiles('lethe-unlearn-out-');
const request = (outDir: string, over: Partial<UnlearnRequest> = {}): UnlearnRequest =>
  ({ modelDir: TINY, forgetPath: forget, retainPath: retain, method: 'grad-diff', options: ['steps=2', 'batchSize=2'], outDir, ...over });

/** A written unlearning folder is complete: every file there, the model loads, unlearn.json parses. */
function assertComplete(out: string): UnlearnRecord {
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'unlearn.json']) assert.ok(existsSync(join(out, f)), `${out}/${f}`);
  loadModel(out);
  return JSON.parse(readFileSync(join(out, 'unlearn.json'), 'utf8')) as UnlearnRecord;
}

const snapshotOf = (d: string): Float32Array => loadModel(d).model.params.flat;

describe('unlearn output is whole or absent (issue 11 item 6)', () => {
  // The run itself writes nothing, so the crashes are injected into the write of one finished run (writeUnlearned is
  // the write half of unlearn()).
  const inputs = [{ path: TINY, what: 'model' }];
  test('a crash injected before every create/write/fsync/rename/remove leaves --out absent, or complete', (t) => {
    const result = runUnlearning(request(''));
    let points = 0;
    for (let k = 1; ; k++) {
      const out = join(dir, `crash-${k}`);
      const crashed = crashAt(k, () => writeUnlearned(result, out, { inputs }));
      if (existsSync(out)) assertComplete(out);
      // What a crash leaves besides is hidden and Lethe's (removed by the next run, see the SIGKILL test).
      assert.ok(readdirSync(dir).filter((n) => n.includes(`crash-${k}.`)).every((n) => n.startsWith(`.crash-${k}.lethe-`)));
      if (!crashed) break;
      points++;
    }
    assert.ok(points >= 15, `${points} injection points`);
    t.diagnostic(`${points} injection points, each left --out absent or complete`);
  });

  test('with --force, a crash at any point leaves the old folder or the new one, never a mix', () => {
    const out = join(dir, 'forced');
    const first = runUnlearning(request('', { options: ['steps=1', 'batchSize=2'] }));
    const second = runUnlearning(request('', { options: ['steps=2', 'batchSize=2'] }));
    writeUnlearned(first, out, { inputs });
    const old = snapshotOf(out);
    for (let k = 1; ; k++) {
      const crashed = crashAt(k, () => writeUnlearned(second, out, { force: true, inputs }));
      if (!existsSync(out)) {
        // Killed between moving the old folder aside and the new one in: the next run puts the old one back.
        assert.equal(readdirSync(dir).filter((n) => n.startsWith('.forced.lethe-replaced-')).length, 1);
        // The next run puts it back before anything else (and so refuses to overwrite it without --force).
        assert.throws(() => writeUnlearned(second, out, { inputs }), /forced: already exists/);
      }
      const record = assertComplete(out);
      assert.equal(record.options['steps'] === 1, snapshotOf(out).every((v, i) => v === old[i]), 'weights and unlearn.json come from the same run');
      if (!crashed) break;
      if (record.options['steps'] === 2) writeUnlearned(first, out, { force: true, inputs });
    }
  });

  test('a real SIGKILL mid-write leaves --out absent or complete, and the next run clears the dead temp folder', () => {
    const lethe = new URL('../../bin/lethe.mjs', import.meta.url).pathname;
    for (const k of [20]) {
      const out = join(dir, `killed-${k}`);
      const args = ['unlearn', '--model', TINY, '--forget', forget, '--retain', retain, '--method', 'grad-diff', '--opt', 'steps=1', '--out', out];
      const r = spawnSync(process.execPath, [lethe, ...args], { encoding: 'utf8', env: { ...process.env, LETHE_FAULT_KILL_AT: String(k) } });
      assert.equal(r.signal, 'SIGKILL', r.stderr);
      if (existsSync(out)) assertComplete(out);
      const again = spawnSync(process.execPath, [lethe, ...args, ...(existsSync(out) ? ['--force'] : [])], { encoding: 'utf8' });
      assert.equal(again.status, 0, again.stderr);
      assertComplete(out);
      assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith(`.killed-${k}.lethe-partial`)), [], 'the dead run\'s temp folder is gone');
    }
  });
});

describe('unlearn never overwrites what it did not make (issue 11 item 5)', () => {
  test('a symlinked --out that points at the source model is refused, and the model is untouched', () => {
    const model = join(dir, 'model-copy');
    cpSync(TINY, model, { recursive: true });
    const before = readFileSync(join(model, 'model.safetensors'));
    const link = join(dir, 'link-to-model');
    symlinkSync(model, link);
    assert.throws(() => unlearn(request(link, { modelDir: model })), /link-to-model: is a symbolic link/);
    const inside = join(dir, 'via-parent-link');
    symlinkSync(dir, inside);
    assert.throws(() => unlearn(request(join(inside, 'model-copy'), { modelDir: model, force: true })), /is the model .*model-copy/);
    assert.throws(() => unlearn(request(join(model, 'sub'), { modelDir: model })), /lies inside the model/);
    assert.deepEqual(readFileSync(join(model, 'model.safetensors')), before);
  });

  test('an existing --out is refused without --force; --force replaces it whole', () => {
    const out = join(dir, 'existing');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const elsewhere = join(dir, 'elsewhere.json');
    writeFileSync(elsewhere, 'someone else\'s file');
    symlinkSync(elsewhere, join(out, 'tokenizer.json'));
    assert.throws(() => unlearn(request(out)), /existing: already exists; pass --force to replace it/);
    assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'mine');
    unlearn(request(out, { force: true }));
    assertComplete(out);
    assert.ok(!existsSync(join(out, 'notes.txt')), 'nothing of the old folder is mixed in');
    assert.equal(readFileSync(elsewhere, 'utf8'), 'someone else\'s file', 'a link in the old --out was not written through');
  });

  test('a symlink in the source model folder is refused, not followed into the output', () => {
    const model = join(dir, 'model-with-link');
    cpSync(TINY, model, { recursive: true });
    const secret = join(dir, 'secret.txt');
    writeFileSync(secret, 'not a tokenizer file');
    symlinkSync(secret, join(model, 'merges.txt'));
    const out = join(dir, 'from-linked');
    assert.throws(() => unlearn(request(out, { modelDir: model })), /merges\.txt: is a symbolic link; Lethe does not follow links/);
    assert.ok(!existsSync(out));
  });
});

describe('guards and summaries describe the weights written (issue 11 item 2)', () => {
  test('gradient ascent at lr 10 without a retain set is stopped by the utility guard on self-generated text, and nothing is written', () => {
    const out = join(dir, 'ga-lr10');
    const req = request(out, { method: 'grad-ascent', retainPath: undefined, options: ['lr=10', 'steps=20', 'checkEvery=5', 'batchSize=2'] });
    assert.throws(() => unlearn(req), /the run changed no weight \(utility-guard at step 5: the utility NLL rose past its bound; rolled back to the last good check\).*nothing was written \(pass --allow-noop/);
    assert.ok(!existsSync(out));
    const record = unlearn({ ...req, allowNoop: true });
    assert.equal(record.result.utility.source, 'self-generated');
    assert.equal(record.result.changedTensors, 0);
    assert.deepEqual(snapshotOf(out), snapshotOf(TINY));
  });

  test('after a roll-back, the summary and unlearn.json report the rolled-back weights, as the written model scores them', () => {
    const out = join(dir, 'ga-rollback');
    // The retain set only feeds gradient ascent's guard: it trips at step 3, and the weights of step 2 are written.
    const record = unlearn(request(out, { method: 'grad-ascent', options: ['lr=5e-4', 'steps=12', 'checkEvery=1', 'batchSize=2', 'maxRetainLossRise=0.3'] }));
    assert.equal(record.stopReason, 'retain-guard');
    assert.equal(record.checks.length, 4);
    const rejected = record.checks.at(-1)!;
    // Score the folder as written, independently of the run.
    const { model } = loadModel(out);
    const tok = Tokenizer.fromDir(out);
    const L = model.config.maxPositions;
    const sample = new GuardSample({ forget: tokenizeItems(FORGET_RECORDS, tok, L), retain: tokenizeItems(RETAIN_RECORDS, tok, L), padId: tok.padId ?? tok.eosId ?? 0 }, 64);
    const written = sample.check(model, 0);
    assert.equal(record.result.after.forgetProb, written.forgetProb);
    assert.equal(record.result.after.retainLoss, written.retainLoss);
    assert.notEqual(record.result.after.forgetProb, rejected.forgetProb, 'the rejected check is not what was written');
    assert.ok(Math.abs(record.result.after.forgetProb - record.checks[2]!.forgetProb) < 1e-6, 'the written weights are the last good check');
  });
});

describe('records longer than the context (issue 12 item 5)', () => {
  test('are cut to fit, said in the log and counted in unlearn.json, never silently', () => {
    const long = join(dir, 'long.jsonl');
    const words = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    writeFileSync(long, [
      JSON.stringify({ text: `A very long text: ${words}.` }),
      JSON.stringify({ subject: 'Ann Vale', question: `After ${words}, where was Ann Vale born?`, answer: 'Ann Vale was born in Tarrow.' }),
      JSON.stringify({ subject: 'Ann Vale', question: 'Born where?', answer: 'Tarrow.' }),
    ].join('\n') + '\n');
    const messages: string[] = [];
    const result = runUnlearning(request('', { forgetPath: long, options: ['steps=1', 'batchSize=2'] }), { onMessage: (m) => messages.push(m) });
    assert.equal(result.record.data.forget.records, 3);
    assert.equal(result.record.data.forget.truncated, 2);
    assert.ok(messages.includes('forget: 2 record(s) are longer than the model\'s context of 64 tokens and were cut to fit (the prompt\'s start, the answer\'s end)'), messages.join('\n'));
  });
});
