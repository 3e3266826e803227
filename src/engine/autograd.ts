import { EngineError, fmtShape } from './errors.ts';
import { releaseEarly } from './pool.ts';
import { backend } from './runtime.ts';
import { sameShape } from './shape.ts';
import { Tensor, type GradNode } from './tensor.ts';
import type { F32 } from './backend.ts';

let gradEnabled = true;
const checkNaN = process.env['LETHE_CHECK_NAN'] === '1';

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording a graph (inference, optimizer steps, evaluation). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Attaches an op's backward closure to its output when any input needs a gradient. Every op calls this, which
 * is also where `LETHE_CHECK_NAN=1` catches the first op that produces a non-finite value.
 */
export function record(out: Tensor, op: string, inputs: readonly Tensor[],
  backwardFn: GradNode['backward']): Tensor {
  if (checkNaN) assertFinite(op, out, inputs);
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward: backwardFn };
  }
  return out;
}

function assertFinite(op: string, out: Tensor, inputs: readonly Tensor[]): void {
  if (out.dtype !== 'f32' || !backend().hasNonFinite(out.storageF32(op))) return;
  const shapes = inputs.map((t) => fmtShape(t.shape)).join(', ');
  throw new EngineError(op, `produced a non-finite value (NaN or Inf) in output ${fmtShape(out.shape)} from inputs ${shapes}`);
}

/**
 * Back-propagates from `root` (a scalar unless `gradOut` is given) and accumulates into the `.grad` of every
 * leaf that requires a gradient. The graph is walked once and then released.
 */
export function backward(root: Tensor, gradOut?: Tensor): void {
  if (!root.requiresGrad) {
    throw new EngineError('backward', `the tensor ${fmtShape(root.shape)} does not require a gradient (no parameter was used to compute it, or it was computed under noGrad)`);
  }
  let seed: Tensor;
  if (gradOut) {
    if (!sameShape(gradOut.shape, root.shape)) {
      throw new EngineError('backward', `gradient shape ${fmtShape(gradOut.shape)} does not match output ${fmtShape(root.shape)}`);
    }
    seed = gradOut;
  } else {
    if (root.size !== 1) {
      throw new EngineError('backward', `output ${fmtShape(root.shape)} is not a scalar; pass the gradient of the output explicitly`);
    }
    seed = new Tensor(Float32Array.of(1), root.shape);
  }

  const order = topologicalOrder(root);
  // The caller's gradOut is theirs: its memory is never given back, wherever it is passed on to.
  const grads = new GradMap(gradOut ?? null);
  grads.set(root, seed);
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const node = t.node!;
      const g = grads.take(t);
      t.node = null;
      if (!g) continue;
      const inputGrads = node.backward(g);
      node.inputs.forEach((input, k) => {
        const ig = inputGrads[k];
        if (!ig || !input.requiresGrad) return;
        if (!sameShape(ig.shape, input.shape)) {
          throw new EngineError(node.op, `backward produced gradient ${fmtShape(ig.shape)} for input ${fmtShape(input.shape)}`);
        }
        if (checkNaN && backend().hasNonFinite(ig.storageF32(node.op))) {
          throw new EngineError(node.op, `backward produced a non-finite gradient for input ${k} ${fmtShape(input.shape)}`);
        }
        if (input.node) accumulateInto(grads, input, ig);
        // A gradient gradOutput installed was written in place: counted once (the mark is used up here).
        else if (!(ig === input.grad && writtenInPlace.delete(ig))) accumulateLeaf(input, ig);
      });
      // g has been passed on: unless an input's gradient is g itself or a view of it (add, reshape), nothing reads
      // it again, and inside a pooled scope its memory serves the next gradients.
      if (!grads.holds(g)) releaseEarly(g.data);
    }
  } finally {
    gradEnabled = prev;
  }
}

/** Pending gradients by tensor, counting how many entries use each piece of memory (views share it). */
class GradMap {
  private readonly byTensor = new Map<Tensor, Tensor>();
  private readonly uses = new Map<ArrayBufferLike, number>();

  constructor(private readonly pinned: Tensor | null) {}

  get(t: Tensor): Tensor | undefined {
    return this.byTensor.get(t);
  }

  set(t: Tensor, g: Tensor): void {
    const old = this.byTensor.get(t);
    if (old) this.drop(old);
    this.byTensor.set(t, g);
    this.uses.set(g.data.buffer, (this.uses.get(g.data.buffer) ?? 0) + 1);
  }

  /** The gradient for t, removed from the map. */
  take(t: Tensor): Tensor | undefined {
    const g = this.byTensor.get(t);
    if (g) {
      this.byTensor.delete(t);
      this.drop(g);
    }
    return g;
  }

  /** Whether a pending gradient (or the pinned gradOut) uses g's memory. */
  holds(g: Tensor): boolean {
    return this.uses.has(g.data.buffer) || (this.pinned !== null && this.pinned.data.buffer === g.data.buffer);
  }

  private drop(g: Tensor): void {
    const n = (this.uses.get(g.data.buffer) ?? 1) - 1;
    if (n > 0) this.uses.set(g.data.buffer, n);
    else this.uses.delete(g.data.buffer);
  }
}

/** Tensors with a node, inputs before outputs (iterative DFS so deep graphs do not overflow the stack). */
function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: Array<[Tensor, number]> = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, next] = top;
    const inputs = t.node?.inputs ?? [];
    if (next < inputs.length) {
      top[1] = next + 1;
      const child = inputs[next]!;
      if (child.node && child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      if (t.node) order.push(t);
    }
  }
  return order;
}

function accumulateInto(grads: GradMap, t: Tensor, g: Tensor): void {
  const existing = grads.get(t);
  if (!existing) {
    grads.set(t, g);
    return;
  }
  // One pass into a fresh (pooled) buffer: existing and g may be shared with other tensors, so neither is written.
  const be = backend();
  const n = existing.size;
  const sum = be.allocOutput(n);
  be.binary('add', existing.storageF32('backward'), [1], g.storageF32('backward'), [1], sum, [n]);
  grads.set(t, Tensor.fromStorage(sum, t.shape));
  if (!grads.holds(existing)) releaseEarly(existing.data);
}

/** Leaf gradients that gradOutput installed and an op's backward then wrote: `backward` must not add them again. */
const writtenInPlace = new WeakSet<Tensor>();

/** Installs the leaf's gradient storage (a fresh array when it keeps none) as its `.grad`; null when it may not. */
function installLeafGrad(input: Tensor): Tensor | null {
  if (input.node || !input.requiresGrad || input.grad) return null;
  input.grad = new Tensor(input.gradStorage ?? new Float32Array(input.size), input.shape);
  return input.grad;
}

/**
 * The memory an op's backward may add a leaf's gradient into directly, instead of returning it: the leaf's gradient
 * storage, zeroed (a fresh array when it has none) and installed as its `.grad`. Only for a leaf that takes a
 * gradient and has none yet — adding into an existing gradient would change the order of the float sums, and
 * so the bits, from the returned-gradient path — and not under LETHE_CHECK_NAN (which checks each returned
 * gradient). A scatter-add (embedding backward) then skips a [vocab, d] temporary and its copy.
 */
export function leafGradTarget(input: Tensor): F32 | null {
  if (checkNaN) return null;
  const grad = installLeafGrad(input);
  if (!grad) return null;
  if (input.gradStorage) input.gradStorage.fill(0);
  return grad.storageF32('backward');
}

/**
 * Where an op's backward writes the gradient of `input` when it writes every element (a GEMM with no accumulation,
 * a norm's row kernel): for a leaf that takes a gradient and has none yet, its own `.grad` — the gradient storage
 * a model parameter keeps (ParameterStore), installed unzeroed — so that `backward` finds the gradient already in
 * place instead of copying a temporary into it (as PyTorch hands a leaf the gradient buffer itself); otherwise an
 * ordinary op output. The backward returns the tensor either way (so LETHE_CHECK_NAN still checks it). A
 * backward that throws part-way leaves such a leaf with a partial `.grad`, as any failed step leaves its state.
 */
export function gradOutput(input: Tensor): Tensor {
  const grad = installLeafGrad(input);
  if (!grad) return Tensor.fromStorage(backend().allocOutput(input.size), input.shape);
  writtenInPlace.add(grad);
  return grad;
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (!leaf.grad) {
    // Always copy: the same gradient buffer may be handed to several inputs.
    const storage = leaf.gradStorage ?? new Float32Array(leaf.size);
    storage.set(g.f32('backward'));
    leaf.grad = new Tensor(storage, leaf.shape);
  } else {
    backend().axpy(1, g.storageF32('backward'), leaf.grad.storageF32('backward'));
  }
}
