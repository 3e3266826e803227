import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { linkOrCopy, linkTree } from '../../src/util/link-tree.ts';

test('linkTree recreates a tree with hard links; linkOrCopy makes the folders it needs; a replaced file leaves the other name alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-link-'));
  const from = join(dir, 'a');
  mkdirSync(join(from, 'x', 'y'), { recursive: true });
  writeFileSync(join(from, 'top.bin'), 'top');
  writeFileSync(join(from, 'x', 'y', 'deep.bin'), 'deep');
  linkTree(from, join(dir, 'b'));
  for (const f of ['top.bin', join('x', 'y', 'deep.bin')]) {
    assert.equal(readFileSync(join(dir, 'b', f), 'utf8'), readFileSync(join(from, f), 'utf8'));
    assert.equal(statSync(join(dir, 'b', f)).ino, statSync(join(from, f)).ino, `${f} is a link, not a copy`);
  }
  // The destination's folder does not exist yet (an untouched shard's data file in a fresh ensemble folder).
  linkOrCopy(join(from, 'top.bin'), join(dir, 'c', 'data', 'top.bin'));
  assert.equal(readFileSync(join(dir, 'c', 'data', 'top.bin'), 'utf8'), 'top');
  // Lethe replaces files by writing a new one and renaming it: the other name keeps the old bytes.
  writeFileSync(join(dir, 'new.bin'), 'changed');
  renameSync(join(dir, 'new.bin'), join(dir, 'b', 'top.bin'));
  assert.equal(readFileSync(join(dir, 'b', 'top.bin'), 'utf8'), 'changed');
  assert.equal(readFileSync(join(from, 'top.bin'), 'utf8'), 'top');
});
