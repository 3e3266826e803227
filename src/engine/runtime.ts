import type { Backend } from './backend.ts';
import { asBackend } from './backends/host.ts';
import { loadNativeBackend } from './backends/native.ts';
import { tsBackend } from './backends/ts/index.ts';

export type BackendName = 'ts' | 'native';

let active: Backend | null = null;

/**
 * The backend ops run on. Chosen once: `LETHE_BACKEND=ts|native` forces one; otherwise the native addon if it
 * loads, else the TypeScript backend with a one-time notice on stderr.
 */
export function backend(): Backend {
  if (!active) active = selectBackend(process.env['LETHE_BACKEND']);
  return active;
}

/** Switches backend for everything that follows (tests use this to run the same checks on both). */
export function useBackend(name: BackendName): Backend {
  active = asBackend(name === 'ts' ? tsBackend : loadNativeBackend());
  return active;
}

function selectBackend(requested: string | undefined): Backend {
  if (requested === 'ts') return asBackend(tsBackend);
  if (requested === 'native') return asBackend(loadNativeBackend());
  if (requested !== undefined && requested !== '') {
    throw new Error(`LETHE_BACKEND must be "ts" or "native", got "${requested}"`);
  }
  try {
    return asBackend(loadNativeBackend());
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    process.stderr.write(`lethe: native backend unavailable (${reason}); using the slower TypeScript backend\n`);
    return asBackend(tsBackend);
  }
}
