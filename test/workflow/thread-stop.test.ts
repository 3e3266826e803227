// A job's thread stops when its lease is lost: a worker paused past its lease (or cut off) must not go on writing
// files after another worker took the job over (issue 21). runClaimed aborts the claim's signal when a heartbeat
// finds the lease lost; runInThread terminates the thread on that signal.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runInThread } from '../../src/workflow/jobs/thread.ts';
import { TINY_MODEL, writeCorpus } from './fixtures.ts';

describe('a job thread and its lease', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-thread-stop-'));
  const forgetPath = writeCorpus(join(dir, 'data'));
  const args = (outDir: string) => ({
    modelDir: TINY_MODEL, forgetPath, retainPath: null, method: 'grad-ascent', options: ['steps=100000'], outDir,
    checkpointDir: join(dir, `checkpoint-${outDir.length}`), checkpointEvery: 1_000_000,
  });

  test('aborting the signal mid-run terminates the thread at once: rejected, nothing written', async () => {
    const outDir = join(dir, 'out-aborted');
    const stop = new AbortController();
    let steps = 0;
    const run = runInThread('erase', args(outDir), () => {
      steps++;
      if (steps === 3) stop.abort();
    }, stop.signal);
    const t = performance.now();
    await assert.rejects(run, /lease is lost/);
    assert.ok(steps >= 3, 'the thread was running when stopped');
    assert.ok(performance.now() - t < 100_000, 'a 100,000-step run did not run to its end');
    // The thread is gone: no step is reported after the rejection, and its output never appears.
    const seen = steps;
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(steps <= seen + 1, `${steps - seen} progress events after the stop`);
    assert.equal(existsSync(join(outDir, 'unlearn.json')), false);
  });

  test('a signal aborted before the start runs nothing', async () => {
    const stop = new AbortController();
    stop.abort();
    await assert.rejects(runInThread('erase', args(join(dir, 'out-never')), undefined, stop.signal), /not started/);
    assert.equal(existsSync(join(dir, 'out-never')), false);
  });
});
