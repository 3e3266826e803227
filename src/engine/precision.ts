/**
 * The precision of matrix products (matmul and linear, forward and backward): 'f32', or 'bf16' — operands
 * rounded to bfloat16, products summed in f32, results f32 — which is what PyTorch's CPU autocast to bfloat16
 * does to a matmul's inputs. Parameters, gradients and optimizer state stay f32 (the master weights), and every
 * other op (norms, softmax, attention, losses) runs in f32, so 'bf16' is mixed-precision training.
 *
 * An op reads the setting when it runs forward and its backward uses the same, whenever backward is called.
 * Where the CPU has AVX512-BF16 the native GEMM multiplies bf16 in hardware (twice the products per
 * instruction); elsewhere it rounds the operands and runs the f32 kernel, so results agree across machines up
 * to the order of f32 sums, but only AVX512-BF16 makes it faster.
 */
export type MatmulPrecision = 'f32' | 'bf16';

export const MATMUL_PRECISIONS: readonly MatmulPrecision[] = ['f32', 'bf16'];

let current: MatmulPrecision = 'f32';

export function matmulPrecision(): MatmulPrecision {
  return current;
}

/** Sets the precision for the ops that follow; returns the previous one (to restore). */
export function setMatmulPrecision(p: MatmulPrecision): MatmulPrecision {
  if (!MATMUL_PRECISIONS.includes(p)) throw new RangeError(`matmul precision must be "f32" or "bf16", got "${String(p)}"`);
  const previous = current;
  current = p;
  return previous;
}

/** Runs fn with the given precision, restoring the previous one afterwards (also when fn throws or rejects). */
export function withMatmulPrecision<T>(p: MatmulPrecision, fn: () => T): T {
  const previous = setMatmulPrecision(p);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    current = previous;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => { current = previous; }) as T;
  }
  current = previous;
  return result;
}
