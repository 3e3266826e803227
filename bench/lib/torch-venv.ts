/**
 * The bench's own PyTorch: a virtual environment under bench/.cache/torch-venv holding the newest CPU torch (and
 * transformers, for the whole-job peers) that pip can install on this machine, made on first use with
 * `python3 -m venv DIR && DIR/bin/pip install torch transformers`, the CPU build of torch preferred. A distribution's torch is often years old
 * (Debian's is 1.13); a user comparing stacks would pick the current one, so the peers run on it.
 *
 * Made at most once per machine: a finished venv carries a marker file, and a lock folder keeps two bench runs from
 * building it at the same time. Creation prints its progress (pip's output included) to stderr; if it fails the
 * caller falls back to another Python and says so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { devNull } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bench's cache folder (gitignored). */
export const BENCH_CACHE = fileURLToPath(new URL('../.cache/', import.meta.url));
export const TORCH_VENV = join(BENCH_CACHE, 'torch-venv');

/** Written into the venv once torch and transformers import from it; its content is the torch version. */
const READY_MARKER = '.lethe-ready';
/** What the venv gets; pip picks the newest version of each it can install. */
const PACKAGES = ['torch', 'transformers'];
/** PyTorch's index of CPU-only builds (MKL/oneDNN, no CUDA libraries). */
const CPU_INDEX = 'https://download.pytorch.org/whl/cpu';
/** Interpreters that may create the venv, in order (the first `python3` on PATH may lack the venv module). */
const BASE_PYTHONS = ['python3', '/usr/bin/python3'];
/** pip resolves and unpacks ~1 GB of wheels; on a busy 2-core machine that takes minutes. */
const INSTALL_TIMEOUT_MS = 30 * 60 * 1000;
/** How long to wait for another bench run that is building the venv. */
const LOCK_WAIT_MS = 30 * 60 * 1000;

export type VenvResult = { ok: true; python: string; torch: string } | { ok: false; note: string };

export function venvPython(dir = TORCH_VENV): string {
  return join(dir, 'bin', 'python');
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The torch version the venv's Python imports (transformers must import too), or why it cannot. */
function probe(dir: string): { ok: true; torch: string } | { ok: false; why: string } {
  const r = spawnSync(venvPython(dir), ['-c', 'import torch, transformers; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status === 0) return { ok: true, torch: r.stdout.trim() };
  return { ok: false, why: r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit code ${r.status}`) };
}

/** Runs a creation step with its output on our stderr (so pip's progress shows); a failure becomes an Error. */
function step(command: string, args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): void {
  log(`$ ${Object.entries(env).map(([k, v]) => `${k}=${v} `).join('')}${command} ${args.join(' ')}`);
  const r = spawnSync(command, args, { stdio: ['ignore', 2, 2], timeout: timeoutMs, env: { ...process.env, ...env } });
  if (r.error) throw new Error(`${command}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${command} ${args.slice(0, 2).join(' ')} exited with ${r.signal ?? `code ${r.status}`}`);
}

/** Holds the lock folder while `fn` runs; waits for a live holder, takes over from a dead one. */
function withLock<T>(dir: string, fn: () => T): T {
  const lock = `${dir}.lock`;
  const owner = join(lock, 'pid');
  const started = Date.now();
  let told = false;
  mkdirSync(dirname(dir), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(owner, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let pid = Number.NaN;
      try { pid = Number(readFileSync(owner, 'utf8')); } catch { /* the holder has not written its pid yet */ }
      if (Number.isInteger(pid) && pid > 0 && !alive(pid)) {
        log(`removing the stale lock ${lock} of process ${pid}, which no longer runs`);
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - started > LOCK_WAIT_MS) throw new Error(`${lock} is still held after ${LOCK_WAIT_MS / 60_000} min`);
      if (!told) log(`another bench run (pid ${pid}) is creating ${dir}; waiting for it`);
      told = true;
      sleepMs(2000);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function create(dir: string): string {
  // A folder without the marker is a creation that died half-way: start it over.
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  const t0 = performance.now();
  log(`creating the PyTorch peer's venv at ${dir} (first use: python3 -m venv, then pip install ${PACKAGES.join(' ')}; takes a few minutes)`);
  const failures: string[] = [];
  let made = false;
  for (const base of BASE_PYTHONS) {
    try {
      step(base, ['-m', 'venv', dir], 5 * 60_000);
      made = true;
      break;
    } catch (err) {
      failures.push((err as Error).message);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (!made) throw new Error(`no Python could create a venv (${failures.join('; ')})`);
  const pip = join(dir, 'bin', 'pip');
  // First torch alone from PyTorch's CPU index, with pip's configuration files ignored: a configured index may offer
  // a newer CUDA build (and GBs of nvidia wheels) that would win on version number. Local wheel folders given in the
  // environment (PIP_FIND_LINKS) still count. Without deps: those come with the second step.
  try {
    step(pip, ['install', '--progress-bar', 'off', '--no-deps', '--retries', '0', '--timeout', '20', '--index-url', CPU_INDEX, 'torch'],
      INSTALL_TIMEOUT_MS, { PIP_CONFIG_FILE: devNull });
  } catch (err) {
    log(`no CPU build of torch from ${CPU_INDEX} or the local wheels (${(err as Error).message}); pip's own choice follows`);
  }
  // Then everything with pip's configuration: an installed torch already satisfies `torch`, so it stays.
  step(pip, ['install', '--progress-bar', 'off', '--retries', '1', ...PACKAGES], INSTALL_TIMEOUT_MS);
  const p = probe(dir);
  if (!p.ok) throw new Error(`the new venv cannot import torch and transformers: ${p.why}`);
  writeFileSync(join(dir, READY_MARKER), `${p.torch}\n`);
  log(`torch ${p.torch} installed in ${dir} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return p.torch;
}

const cached = new Map<string, VenvResult>();

/**
 * The venv's Python and its torch version, creating the venv if it is not there yet (once per process: a failure is
 * not retried within a run). A venv whose marker is present but whose torch no longer imports is rebuilt.
 */
export function ensureTorchVenv(dir = TORCH_VENV): VenvResult {
  const known = cached.get(dir);
  if (known) return known;
  const result = ((): VenvResult => {
    try {
      if (existsSync(join(dir, READY_MARKER))) {
        const p = probe(dir);
        if (p.ok) return { ok: true, python: venvPython(dir), torch: p.torch };
        log(`${dir} no longer imports torch and transformers (${p.why}); rebuilding it`);
        rmSync(join(dir, READY_MARKER), { force: true });
      }
      const torch = withLock(dir, () => {
        // Another run may have finished it while we waited for the lock.
        if (existsSync(join(dir, READY_MARKER))) {
          const p = probe(dir);
          if (p.ok) return p.torch;
        }
        return create(dir);
      });
      return { ok: true, python: venvPython(dir), torch };
    } catch (err) {
      return { ok: false, note: `could not create the PyTorch venv at ${dir}: ${(err as Error).message}` };
    }
  })();
  cached.set(dir, result);
  return result;
}
