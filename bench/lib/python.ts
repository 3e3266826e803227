/**
 * Finds a Python that can `import torch`. The first `python3` on PATH may be a different interpreter (here a
 * pyenv one without torch) than the system one that has it, so candidates are tried in order.
 */
import { spawnSync } from 'node:child_process';

export type PythonLookup = { ok: true; python: string; torch: string } | { ok: false; note: string };

function candidates(): string[] {
  const fromEnv = process.env['LETHE_BENCH_PYTHON'];
  const list = [...(fromEnv ? [fromEnv] : []), 'python3', '/usr/bin/python3'];
  return [...new Set(list)];
}

export function findTorchPython(): PythonLookup {
  const failures: string[] = [];
  for (const python of candidates()) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { ok: true, python, torch: r.stdout.trim() };
    const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit code ${r.status}`);
    failures.push(`${python}: ${why}`);
  }
  return { ok: false, note: `no Python with torch found (${failures.join('; ')})` };
}
