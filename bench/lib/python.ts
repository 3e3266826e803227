/**
 * Finds the Python the PyTorch peers run under: `$LETHE_BENCH_PYTHON` when it is set and imports torch, else the
 * bench's own venv with the newest CPU torch (bench/lib/torch-venv.ts, created on first use), else — only when that
 * venv cannot be made — the first of `python3` and `/usr/bin/python3` that imports torch (the first `python3` on PATH
 * may be a different interpreter than the system one that has it), which is said on stderr. The answer is found
 * once per process.
 */
import { spawnSync } from 'node:child_process';
import { ensureTorchVenv } from './torch-venv.ts';

export type PythonLookup =
  | { ok: true; python: string; torch: string; source: 'LETHE_BENCH_PYTHON' | 'venv' | 'fallback' }
  | { ok: false; note: string };

/**
 * Variables removed from a peer's environment: tunings of OpenBLAS meant for our side (or the machine's default
 * Python) that would mis-tune, or crash, the BLAS a peer's torch loads. Removed in the peer's process only.
 */
const PEER_UNSET = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'];

/** The environment to spawn a peer with: ours, less the variables above. */
export function peerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of PEER_UNSET) delete env[name];
  return env;
}

/** The torch version `python` imports, or why it cannot. */
function torchVersion(python: string): { ok: true; torch: string } | { ok: false; why: string } {
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000, env: peerEnv() });
  if (r.status === 0) return { ok: true, torch: r.stdout.trim() };
  return { ok: false, why: r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit code ${r.status}`) };
}

let found: PythonLookup | null = null;

export function findTorchPython(): PythonLookup {
  return (found ??= lookup());
}

function lookup(): PythonLookup {
  const failures: string[] = [];
  const fromEnv = process.env['LETHE_BENCH_PYTHON'];
  if (fromEnv) {
    const v = torchVersion(fromEnv);
    if (v.ok) return { ok: true, python: fromEnv, torch: v.torch, source: 'LETHE_BENCH_PYTHON' };
    failures.push(`LETHE_BENCH_PYTHON=${fromEnv}: ${v.why}`);
  }
  const venv = ensureTorchVenv();
  if (venv.ok) return { ok: true, python: venv.python, torch: venv.torch, source: 'venv' };
  failures.push(venv.note);
  for (const python of [...new Set(['python3', '/usr/bin/python3'])]) {
    const v = torchVersion(python);
    if (v.ok) {
      process.stderr.write(`bench: warning: ${venv.note}; the peers fall back to ${python} with torch ${v.torch}, which may be far older than the newest\n`);
      return { ok: true, python, torch: v.torch, source: 'fallback' };
    }
    failures.push(`${python}: ${v.why}`);
  }
  return { ok: false, note: `no Python with torch found (${failures.join('; ')})` };
}

/** How a line names the peer's stack, e.g. "torch 2.13.0+cpu". */
export function torchLabel(version: string): string {
  return `torch ${version}`;
}
