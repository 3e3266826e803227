// `lethe serve` and `lethe token` as a user runs them: the first start makes the signing key and prints an admin
// token once; the API answers with it; tokens made and revoked on the command line work (or stop working) at once.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { firstStart } from '../../src/cli/service-commands.ts';
import { listTokens } from '../../src/workflow/access/tokens.ts';
import { openStore } from '../../src/workflow/store/open-store.ts';

const LETHE = new URL('../../bin/lethe.mjs', import.meta.url).pathname;

function lethe(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [LETHE, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `lethe serve` on a free port; resolves once it prints its URL. */
async function serve(dir: string) {
  const server = spawn(process.execPath, [LETHE, 'serve', '--data-dir', dir, '--port', '0', '--no-worker'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const state = { out: '' };
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 30 s:\n${state.out}`)), 30_000);
    server.stdout.on('data', (b: Buffer) => {
      state.out += b.toString();
      const m = /Lethe API on (http:\/\/\S+)/.exec(state.out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  return { url, out: state.out, stop: async (): Promise<number | null> => (server.kill('SIGTERM'), exited) };
}

test('lethe serve: first admin token once, the API answers with it, tokens from the CLI work until revoked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-serve-'));
  const first = await serve(dir);
  const { url, out } = first;
  try {
    const admin = /^(lethe_\S+)$/m.exec(out)?.[1];
    assert.ok(admin, `an admin token is printed on first start:\n${out}`);
    assert.match(out, /signing key made/);
    const get = (path: string, token?: string) => fetch(`${url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    assert.equal((await get('/api/health')).status, 200);
    assert.equal((await get('/api/tokens')).status, 401);
    assert.equal((await get('/api/tokens', admin)).status, 200);

    const made = lethe(['token', 'create', '--data-dir', dir, '--role', 'auditor', '--name', 'the auditor']);
    assert.equal(made.status, 0, made.stderr);
    const auditor = made.stdout.split('\n')[0]!;
    assert.equal((await get('/api/audit/verify', auditor)).status, 200);
    assert.equal((await get('/api/tokens', auditor)).status, 403);
    const id = /^lethe_([a-z0-9]{12})_/.exec(auditor)![1]!;
    const listed = lethe(['token', 'list', '--data-dir', dir]).stdout;
    assert.match(listed, new RegExp(`${id}\\s+auditor\\s+active`));
    // The secret is everything after lethe_<id>_ (base64url: it may hold "_" itself).
    const secretOf = (token: string): string => token.slice('lethe_'.length + 12 + 1);
    assert.equal(secretOf(auditor).length, 43);
    assert.ok(!listed.includes(secretOf(auditor)) && !listed.includes(secretOf(admin!)), 'secrets are never listed');
    assert.equal(lethe(['token', 'revoke', id, '--data-dir', dir]).status, 0);
    assert.equal((await get('/api/audit/verify', auditor)).status, 401);
  } finally {
    assert.equal(await first.stop(), 0, 'SIGTERM stops the server cleanly');
  }
});

test('a later start keeps the key and, with tokens in the store, makes no new admin token', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-first-start-'));
  const store = await openStore({ dataDir: dir });
  try {
    const env = { store, dataDir: dir };
    const once = await firstStart(env, join(dir, 'keys'));
    assert.ok(once.keyMade && once.adminToken);
    const key = readFileSync(join(dir, 'keys', 'lethe-ed25519.key'));
    assert.deepEqual(await firstStart(env, join(dir, 'keys')), { keyMade: null, adminToken: null });
    assert.deepEqual(readFileSync(join(dir, 'keys', 'lethe-ed25519.key')), key);
    assert.equal((await listTokens(env)).length, 1);
  } finally {
    await store.close();
  }
});
