import type { ReduceOp } from '../../backend.ts';
import type { F32, I32 } from '../host.ts';

/** Reduces x viewed as [outer, n, inner] over the middle axis. */
export function reduce(op: ReduceOp, x: F32, outer: number, n: number, inner: number, out: F32,
  argmax: I32 | null): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      const dst = o * inner + i;
      if (op === 'sum') {
        let s = 0;
        for (let k = 0; k < n; k++) s += x[base + k * inner]!;
        out[dst] = s;
      } else {
        let m = -Infinity;
        let am = 0;
        for (let k = 0; k < n; k++) {
          const v = x[base + k * inner]!;
          if (v > m || Number.isNaN(v)) {
            m = v;
            am = k;
            if (Number.isNaN(v)) break;
          }
        }
        if (op === 'max') {
          out[dst] = m;
          if (argmax) argmax[dst] = am;
        } else if (m === -Infinity || Number.isNaN(m)) {
          out[dst] = m;
        } else {
          let s = 0;
          for (let k = 0; k < n; k++) s += Math.exp(x[base + k * inner]! - m);
          out[dst] = m + Math.log(s);
        }
      }
    }
  }
}
