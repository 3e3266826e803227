// Between two test files that share a process (scripts/run-tests.mjs groups the lighter files, which saves the
// ~1.3 s of CPU a Node process with tsx costs per file): the first file must not leave a scope open, and the
// engine's switches go back to what a fresh process has, so the next file runs as it would alone.
import assert from 'node:assert/strict';
import { backend, isGradEnabled, matmulPrecision, poolStats, setPooling, useBackend, type BackendName } from '../../src/engine/index.ts';
import { setNativeThreads } from '../../src/engine/backends/native.ts';

// What this process started with, read before any test file is imported.
const fresh = { backend: backend().name as BackendName, threads: backend().threads };
const freshPool = setPooling(poolStats().enabled);

/** Fails when `file` left grad mode off, bf16 matmuls on, or pooled buffers held; then restores the engine's switches. */
export function fileBoundary(file: string): void {
  assert.equal(isGradEnabled(), true, `${file} left gradient recording off (a noGrad scope not closed)`);
  assert.equal(matmulPrecision(), 'f32', `${file} left matmul precision at ${matmulPrecision()}`);
  assert.equal(poolStats().inUseBytes, 0, `${file} left ${poolStats().inUseBytes} bytes of pooled buffers handed out (a pooled scope not closed)`);
  useBackend(fresh.backend);
  if (fresh.backend === 'native') setNativeThreads(fresh.threads);
  setPooling(freshPool.on, { check: freshPool.check, budgetMb: freshPool.budgetMb });
}
