/** Lethe's tensor engine: tensors, reverse-mode autodiff, ops, optimizers, and backend selection. */
export {
  Tensor, tensor, zeros, ones, full, scalar, randn, rand, parameter, type DType, type GradNode, type HostData,
} from './tensor.ts';
export { backward, noGrad, isGradEnabled } from './autograd.ts';
export { backend, useBackend, type BackendName } from './runtime.ts';
export { pooled, poolStats, clearPool, setPooling, transient, poolPhase, releaseEarly, type PoolStats } from './pool.ts';
export type { Backend, F32, I32 } from './backend.ts';
export { EngineError } from './errors.ts';
export { matmulPrecision, setMatmulPrecision, withMatmulPrecision, MATMUL_PRECISIONS, type MatmulPrecision } from './precision.ts';
export { Rng } from './random.ts';
export * from './ops/index.ts';
export { Optimizer, type OptimizerState } from './optim/optimizer.ts';
export { AdamW, type AdamWOptions } from './optim/adamw.ts';
export { SGD, type SGDOptions } from './optim/sgd.ts';
export { clipGradNorm } from './optim/clip.ts';
