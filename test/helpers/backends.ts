import { useBackend, type BackendName } from '../../src/engine/index.ts';

/**
 * The backends a suite runs on: `LETHE_BACKEND=ts` or `=native` restricts to one; otherwise both, and the
 * native addon must be built (a missing addon fails the suite instead of silently testing less).
 */
export function backendsUnderTest(): BackendName[] {
  const forced = process.env['LETHE_BACKEND'];
  if (forced === 'ts') return ['ts'];
  if (forced === 'native') return ['native'];
  return ['ts', 'native'];
}

/** Runs fn with the named backend active (it stays active: every test sets its backend explicitly). */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  useBackend(name);
  return fn();
}
