// The workflow commands as a user meets them: one-line errors that change nothing, JSON listings.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

const LETHE = new URL('../../bin/lethe.mjs', import.meta.url).pathname;
const lethe = (...args: string[]) => spawnSync(process.execPath, [LETHE, ...args], { encoding: 'utf8' });

describe('lethe request', () => {
  test('a file that is not JSON, then a request without identifiers: one line each, nothing filed; then a good one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-cli-wf-'));
    writeFileSync(join(dir, 'bad.json'), '{"subject": {"names": ["Secret Person"]');
    const bad = lethe('request', 'create', '--data-dir', dir, '--file', join(dir, 'bad.json'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^lethe: .*bad\.json: not valid JSON\n$/);
    assert.doesNotMatch(bad.stderr, /Secret/);
    const none = lethe('request', 'create', '--data-dir', dir, '--model', 'models/target', '--ground', 'a', '--requester', 'dpo', '--json');
    assert.equal(none.status, 1);
    assert.match(none.stderr, /^lethe: request: subject: give at least one identifier/);
    const ok = lethe('request', 'create', '--data-dir', dir, '--name', 'Secret Person', '--model', 'models/target', '--ground', 'a', '--requester', 'dpo', '--json');
    assert.equal(ok.status, 0, ok.stderr);
    const listed = JSON.parse(lethe('request', 'list', '--data-dir', dir, '--json').stdout) as { id: string; state: string }[];
    assert.deepEqual(listed.map((r) => r.state), ['identity_unverified']);
    const approve = lethe('request', 'approve', listed[0]!.id, '--data-dir', dir);
    assert.equal(approve.status, 1);
    assert.match(approve.stderr, /^lethe: request req_.*: the subject's identity is not verified; verify it before approving\n$/);
    assert.equal(lethe('request', 'show', 'req_nope', '--data-dir', dir).stderr, 'lethe: no request "req_nope"\n');
  });
});
