import { concat, embedding, EngineError, reshape, Tensor, zeros } from '../../engine/index.ts';
import type { ForwardOptions } from './types.ts';

/**
 * Right-padded batches waste work: on the persons data about 30% of a batch's positions are padding, and every
 * projection, norm and MLP would compute them. With the row lengths known, the blocks run on the N real tokens
 * only ([N, D] instead of [B·T, D]); attention, the one op that mixes positions, still sees the padded [B, T]
 * layout, filled from the packed rows and read back.
 *
 * Padded positions are filled with a copy of packed row 0 rather than zeros: the values computed there are never
 * read (a real query attends only to earlier, real keys under right padding), so their gradient is exactly zero
 * and adds nothing when scattered back to row 0. This avoids a copy per layer.
 */
export class TokenPacking {
  readonly B: number;
  readonly T: number;
  /** Real tokens in all. */
  readonly N: number;
  /** i32 [N]: the flat padded position b·T + t of each real token, in order. */
  private readonly realPositions: Tensor;
  /** i32 [B·T]: the packed row of each padded position (padding: row 0, see above). */
  private readonly paddedRows: Tensor;
  /** i32 [B·T]: the packed row of each padded position, padding pointing at an extra zero row N. */
  private readonly paddedRowsZero: Int32Array;
  /** Packed row of each flat padded position, −1 for padding. */
  private readonly rowOf: Int32Array;

  constructor(B: number, T: number, lengths: Int32Array) {
    if (lengths.length !== B) throw new EngineError('packing', `lengths has ${lengths.length} rows, the batch ${B}`);
    this.B = B;
    this.T = T;
    const rowOf = new Int32Array(B * T).fill(-1);
    const real: number[] = [];
    for (let b = 0; b < B; b++) {
      const n = lengths[b]!;
      if (!Number.isInteger(n) || n < 1 || n > T) throw new EngineError('packing', `row ${b}: length ${n} is outside 1…${T}`);
      for (let t = 0; t < n; t++) {
        rowOf[b * T + t] = real.length;
        real.push(b * T + t);
      }
    }
    this.N = real.length;
    this.rowOf = rowOf;
    this.realPositions = new Tensor(Int32Array.from(real), [this.N]);
    this.paddedRows = new Tensor(rowOf.map((r) => Math.max(r, 0)), [B * T]);
    this.paddedRowsZero = rowOf.map((r) => (r < 0 ? this.N : r));
  }

  /** i32 [N] of the given padded ids [B, T] (or positions), real tokens only. */
  packIds(ids: Int32Array): Int32Array {
    const pos = this.realPositions.i32('packing');
    return Int32Array.from(pos, (p) => ids[p]!);
  }

  /** [B, T, D] or [B·T, D] → the real rows [N, D]. */
  pack(x: Tensor): Tensor {
    const D = x.shape[x.rank - 1]!;
    return embedding(reshape(x, [this.B * this.T, D]), this.realPositions);
  }

  /** [N, D] → [B, T, D] for attention; padded positions hold a copy of row 0 (never read). */
  unpack(x: Tensor): Tensor {
    const D = x.shape[x.rank - 1]!;
    return reshape(embedding(x, this.paddedRows), [this.B, this.T, D]);
  }

  /** [N, D] → [B, T, D] with zeros at padded positions: for what callers read (hidden states, full logits). */
  unpackZero(x: Tensor): Tensor {
    return reshape(placeRows(x, this.paddedRowsZero), [this.B, this.T, x.shape[x.rank - 1]!]);
  }

  /** The packed rows of flat padded positions; each must be a real token. */
  rowsAt(positions: Int32Array): Int32Array {
    return Int32Array.from(positions, (p, i) => {
      const r = p >= 0 && p < this.rowOf.length ? this.rowOf[p]! : -1;
      if (r < 0) throw new EngineError('packing', `logit position ${p} (entry ${i}) is padding or outside the batch [${this.B}, ${this.T}]`);
      return r;
    });
  }
}

/** Rows `rows` of x [R, D] → [K, D] (differentiable: the backward scatter-adds). */
export function takeRows(x: Tensor, rows: Int32Array): Tensor {
  const D = x.shape[x.rank - 1]!;
  return embedding(reshape(x, [x.size / D, D]), new Tensor(rows, [rows.length]));
}

/**
 * Rows of x [K, D] placed at new positions: output row i is x[at[i]], or zeros where at[i] = K (differentiable; the
 * backward gathers the rows back). The zero row is appended to x, so one gather does it.
 */
export function placeRows(x: Tensor, at: Int32Array): Tensor {
  const D = x.shape[x.rank - 1]!;
  return takeRows(concat([reshape(x, [x.size / D, D]), zeros([1, D])], 0), at);
}

/** The packing a forward pass asked for with `lengths`, or null; refuses the options it cannot combine with. */
export function packingFor(arch: string, B: number, T: number, options: ForwardOptions): TokenPacking | null {
  if (!options.lengths) return null;
  // Left padding (keyStart) may only lie in the cached prefix: a row cannot be padded on both sides.
  const past = options.cache?.length ?? 0;
  if (options.keyStart && (past === 0 || options.keyStart.some((s) => s > past))) {
    throw new EngineError(arch, 'lengths (right padding) cannot be combined with keyStart (left padding) beyond the cached prefix');
  }
  // The padded positions' keys and values are copies of other rows: nothing may attend to them later.
  options.cache?.sealAfterThisPass('a packed (lengths) pass wrote it, and its padded positions hold no real keys');
  return new TokenPacking(B, T, options.lengths);
}

/** The final normed states ([N, D] packed or [B, T, D]) through the head, at the positions the options ask for. */
export function logitsAt(arch: string, y: Tensor, head: (y: Tensor) => Tensor, packing: TokenPacking | null, B: number, T: number,
  options: ForwardOptions): Tensor {
  const positions = options.logitPositions;
  if (positions) {
    if (packing) return head(takeRows(y, packing.rowsAt(positions)));
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i]!;
      if (!Number.isInteger(p) || p < 0 || p >= B * T) throw new EngineError(arch, `logit position ${p} (entry ${i}) is outside the batch [${B}, ${T}]`);
    }
    return head(takeRows(y, positions));
  }
  return packing ? packing.unpackZero(head(y)) : head(y);
}
