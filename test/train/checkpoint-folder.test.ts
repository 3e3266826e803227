// The checkpoint folder protocol on hand-made folders: recovery picks the newest complete one of DIR.partial, DIR,
// DIR.old in every combination, also when recovery itself is interrupted at any step; folders that are not Lethe's
// are refused untouched.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { crashAt } from '../helpers/faults.ts';
import { folderState, inspectCheckpoint, MARKER, recoverCheckpoint, removeCheckpointFolder, STATE_FILE } from '../../src/train/checkpoint-folder.ts';

type Kind = 'absent' | 'incomplete' | 'complete';
const KINDS: Kind[] = ['absent', 'incomplete', 'complete'];
const LETHE_STATE = (step: number) => JSON.stringify({ step, position: { epoch: 0, offset: 0 }, losses: [], fingerprint: 'ab'.repeat(32) });

/** A checkpoint folder as the protocol leaves it; `step` tells which one recovery kept. */
function make(path: string, kind: Kind, step: number): void {
  if (kind === 'absent') return;
  mkdirSync(path);
  writeFileSync(join(path, MARKER), '');
  writeFileSync(join(path, 'model.safetensors'), `weights of step ${step}`);
  if (kind === 'complete') writeFileSync(join(path, STATE_FILE), LETHE_STATE(step));
}

function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

describe('checkpoint recovery', () => {
  // Steps: .old holds 1, the folder 2, .partial 3 — their order of age in the swap.
  for (const partial of KINDS) for (const current of KINDS) for (const old of KINDS) {
    test(`.partial ${partial}, folder ${current}, .old ${old}`, () => {
      const expected = partial === 'complete' ? 3 : current === 'complete' ? 2 : old === 'complete' ? 1 : null;
      const setup = (): string => {
        const root = mkdtempSync(join(tmpdir(), 'lethe-ckpt-'));
        const dir = join(root, 'ck');
        make(`${dir}.partial`, partial, 3);
        make(dir, current, 2);
        make(`${dir}.old`, old, 1);
        return dir;
      };
      const check = (dir: string, what: string): void => {
        assert.deepEqual(inspectCheckpoint(dir), { dir: 'complete', partial: 'absent', old: 'absent' }, what);
        assert.equal(JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')).step, expected, what);
        assert.equal(readFileSync(join(dir, 'model.safetensors'), 'utf8'), `weights of step ${expected}`, what);
      };
      const dir = setup();
      const root = join(dir, '..');
      if (expected === null) {
        const before = listing(root);
        assert.equal(recoverCheckpoint(dir), false);
        assert.deepEqual(listing(root), before, 'nothing touched when there is nothing to recover');
        return;
      }
      assert.equal(recoverCheckpoint(dir), true);
      check(dir, 'recovered');
      // A crash at each step of the recovery itself: the next recovery still finds the same checkpoint.
      for (let k = 1; ; k++) {
        const again = setup();
        const crashed = crashAt(k, () => recoverCheckpoint(again));
        assert.equal(recoverCheckpoint(again), true, `crash at ${k}`);
        check(again, `crash at ${k}`);
        rmSync(join(again, '..'), { recursive: true });
        if (!crashed) break;
      }
      rmSync(root, { recursive: true });
    });
  }
});

describe('folders that are not Lethe\'s', () => {
  const foreign: [string, (path: string) => void][] = [
    ['a folder with a file of the user', (p) => { mkdirSync(p); writeFileSync(join(p, 'notes.txt'), 'mine'); }],
    ['a Hugging Face Trainer checkpoint', (p) => { mkdirSync(p); writeFileSync(join(p, STATE_FILE), '{"global_step": 500, "log_history": []}'); }],
    ['a file', (p) => writeFileSync(p, 'mine')],
    ['a symbolic link to a folder', (p) => { mkdirSync(`${p}-target`); symlinkSync(`${p}-target`, p); }],
  ];
  for (const [what, plant] of foreign) {
    for (const suffix of ['', '.old', '.partial']) {
      test(`${what} at ck${suffix} is refused and left as it was`, () => {
        const root = mkdtempSync(join(tmpdir(), 'lethe-ckpt-'));
        const dir = join(root, 'ck');
        plant(`${dir}${suffix}`);
        const before = listing(root);
        const pattern = new RegExp(`ck${suffix.replace('.', '\\.')}: (is a symbolic link|exists and is not)`);
        assert.throws(() => inspectCheckpoint(dir), pattern);
        assert.throws(() => recoverCheckpoint(dir), pattern);
        assert.throws(() => removeCheckpointFolder(`${dir}${suffix}`), pattern);
        assert.deepEqual(listing(root), before);
        rmSync(root, { recursive: true });
      });
    }
  }

  test('an empty folder holds nothing to lose: it counts as an incomplete checkpoint', () => {
    const root = mkdtempSync(join(tmpdir(), 'lethe-ckpt-'));
    mkdirSync(join(root, 'ck'));
    assert.equal(folderState(join(root, 'ck')), 'incomplete');
    removeCheckpointFolder(join(root, 'ck'));
    assert.deepEqual(readdirSync(root), []);
    rmSync(root, { recursive: true });
  });

  test('a checkpoint of an earlier Lethe (no marker) is complete, and marked before it is taken apart', () => {
    const root = mkdtempSync(join(tmpdir(), 'lethe-ckpt-'));
    const dir = join(root, 'ck');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.safetensors'), 'w');
    writeFileSync(join(dir, STATE_FILE), LETHE_STATE(7));
    assert.equal(folderState(dir), 'complete');
    // Interrupted after its state file went: still Lethe's (marked), no longer complete.
    assert.ok(crashAt(4, () => removeCheckpointFolder(dir)));
    assert.equal(folderState(dir), 'incomplete');
    removeCheckpointFolder(dir);
    assert.deepEqual(readdirSync(root), []);
    rmSync(root, { recursive: true });
  });
});
