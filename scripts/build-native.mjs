#!/usr/bin/env node
// Builds the native addon (native/ → native/build/Release/lethe.node) from source with node-gyp; runs on
// `npm ci`. Without --strict, a failed build prints a warning and exits 0: the package still installs and the
// engine falls back to the TypeScript backend (and says so). `npm run build:native` uses --strict.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const strict = process.argv.includes('--strict');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (process.env.LETHE_SKIP_NATIVE === '1') {
  console.warn('lethe: LETHE_SKIP_NATIVE=1, not building the native addon');
  process.exit(0);
}

// npm exposes its bundled node-gyp to lifecycle scripts; outside npm, look next to the running node.
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((p) => p && existsSync(p));

if (candidates.length === 0) fail('node-gyp was not found (it ships with npm)');

// Build against the headers of the running node when they are installed next to it (<prefix>/include/node), so
// node-gyp never tries to download them; npm passes its own nodedir setting when it runs this script.
const args = [candidates[0], 'rebuild', '--directory', join(root, 'native')];
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

const started = Date.now();
const result = spawnSync(process.execPath, args, {
  stdio: 'inherit',
  env: process.env,
});
if (result.status !== 0) fail(`node-gyp exited with status ${result.status ?? result.signal}`);
console.log(`lethe: native addon built in ${((Date.now() - started) / 1000).toFixed(1)} s`);

function fail(reason) {
  const msg = `lethe: could not build the native addon: ${reason}`;
  if (strict) {
    console.error(msg);
    process.exit(1);
  }
  console.warn(`${msg}\nlethe: continuing; the engine will use the slower TypeScript backend`);
  process.exit(0);
}
