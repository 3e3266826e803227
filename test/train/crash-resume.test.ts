// A crash before every create / write / fsync / rename / remove of a `lethe train` run (both checkpoint swaps and
// the final output folder), injected in-process: the output is absent or complete, and --resume continues from the
// newest checkpoint that was complete on disk and ends with the weights and losses of an uninterrupted run.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { crashAt, faultPointsOf } from '../helpers/faults.ts';
import { runTraining } from '../../src/train/run.ts';
import { QUIET, tinySpec, weightsOf, workDir } from './fixtures.ts';

test('a crash at any fault point: --resume continues from the newest complete checkpoint, same weights and losses', () => {
  const ref = workDir();
  const { labels, result: reference } = faultPointsOf(() => runTraining(tinySpec(ref.dir, ref.data), 'train', QUIET));
  const refWeights = weightsOf(join(ref.dir, 'out'));
  // A checkpoint is complete from the moment its trainer_state.json is renamed into `.partial` (saves at steps 2 and 4).
  const commits = labels.flatMap((l, i) => (/^rename .*\.partial[/\\]\.trainer_state\.json\.[^/\\]*\.tmp -> /.test(l) ? [i + 1] : []));
  assert.equal(commits.length, 2);

  let passed = 0;
  for (let k = 1; k <= labels.length; k++) {
    const { dir, data } = workDir();
    try {
      const spec = tinySpec(dir, data);
      assert.ok(crashAt(k, () => runTraining(spec, 'train', QUIET)), `k=${k}: no crash`);
      const out = join(dir, 'out');
      const outLeft = existsSync(out);
      if (outLeft) assert.ok(weightsOf(out).equals(refWeights), `k=${k}: the output left by the crash is not complete`);
      const expected = 2 * commits.filter((j) => j < k).length;
      let log;
      if (expected === 0) {
        assert.throws(() => runTraining({ ...spec, resume: true }, 'train', QUIET), /nothing to resume/, `k=${k}`);
        log = runTraining(spec, 'train', QUIET); // what was left (an incomplete .partial) does not stand in the way
      } else {
        log = runTraining({ ...spec, resume: true, force: outLeft }, 'train', QUIET);
        assert.equal(log.resumedFrom, expected, `k=${k} (${labels[k - 1]}): resumed from the wrong checkpoint`);
      }
      assert.deepEqual(log.losses, reference.losses, `k=${k}`);
      assert.ok(weightsOf(out).equals(refWeights), `k=${k} (${labels[k - 1]}): weights differ from the uninterrupted run`);
      assert.deepEqual(readdirSync(dir).filter((e) => e.startsWith('out.')), ['out.checkpoint'], `k=${k}: .old or .partial left behind`);
      passed++;
    } finally {
      rmSync(dir, { recursive: true });
    }
  }
  rmSync(ref.dir, { recursive: true });
  assert.equal(passed, labels.length);
  const kinds = new Map<string, number>();
  for (const l of labels) kinds.set(l.split(' ')[0]!, (kinds.get(l.split(' ')[0]!) ?? 0) + 1);
  process.stdout.write(`# crash injection: ${labels.length} fault points (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}), ${passed} resumed exactly\n`);
});
