import { backend, matmul, noGrad, randn, Rng } from '../engine/index.ts';

export interface EngineInfo {
  backend: string;
  threads: number;
  gemmGflops: number;
}

/** Which backend is active, with how many threads, and a quick 512³ GEMM throughput figure. */
export function engineInfo(): EngineInfo {
  const be = backend();
  const rng = new Rng(1);
  const n = 512;
  const a = randn([n, n], rng);
  const b = randn([n, n], rng);
  noGrad(() => matmul(a, b));
  const reps = be.name === 'ts' ? 1 : 10;
  const start = performance.now();
  for (let i = 0; i < reps; i++) noGrad(() => matmul(a, b));
  const seconds = (performance.now() - start) / 1000 / reps;
  return { backend: be.name, threads: be.threads, gemmGflops: (2 * n ** 3) / seconds / 1e9 };
}
