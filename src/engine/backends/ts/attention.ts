import type { F32, HostAttentionDims as AttentionDims } from '../host.ts';

/**
 * Causal attention, one query row at a time, keeping only the row's logsumexp for the backward (as flash
 * attention does), so memory stays O(T) per row instead of O(T²) per head.
 */
export function attention(q: F32, k: F32, v: F32, out: F32, lse: F32, dims: AttentionDims): void {
  const { B, H, Hkv, Tq, Tk, D, scale } = dims;
  const group = H / Hkv;
  const scores = new Float64Array(Tk);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvBase = (b * Hkv + Math.floor(h / group)) * Tk * D;
      const first = dims.keyStart ? dims.keyStart[b]! : 0;
      for (let i = 0; i < Tq; i++) {
        const qo = ((b * H + h) * Tq + i) * D;
        const last = Math.min(Tk - 1, i + Tk - Tq);
        if (last < first) {
          out.fill(0, qo, qo + D);
          lse[(b * H + h) * Tq + i] = -Infinity;
          continue;
        }
        let m = -Infinity;
        for (let j = first; j <= last; j++) {
          let s = 0;
          for (let c = 0; c < D; c++) s += q[qo + c]! * k[kvBase + j * D + c]!;
          s *= scale;
          scores[j] = s;
          if (s > m) m = s;
        }
        acc.fill(0);
        let l = 0;
        for (let j = first; j <= last; j++) {
          const p = Math.exp(scores[j]! - m);
          l += p;
          for (let c = 0; c < D; c++) acc[c]! += p * v[kvBase + j * D + c]!;
        }
        for (let c = 0; c < D; c++) out[qo + c] = acc[c]! / l;
        lse[(b * H + h) * Tq + i] = m + Math.log(l);
      }
    }
  }
}

export function attentionBackward(q: F32, k: F32, v: F32, out: F32, lse: F32, gout: F32, gq: F32, gk: F32,
  gv: F32, dims: AttentionDims): void {
  const { B, H, Hkv, Tq, Tk, D, scale } = dims;
  const group = H / Hkv;
  gq.fill(0);
  gk.fill(0);
  gv.fill(0);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kvBase = (b * Hkv + Math.floor(h / group)) * Tk * D;
      const first = dims.keyStart ? dims.keyStart[b]! : 0;
      for (let i = 0; i < Tq; i++) {
        const qo = ((b * H + h) * Tq + i) * D;
        const last = Math.min(Tk - 1, i + Tk - Tq);
        if (last < first) continue;
        const l = lse[(b * H + h) * Tq + i]!;
        // Δ = Σ_j p_j·(gout·v_j) = gout·out
        let delta = 0;
        for (let c = 0; c < D; c++) delta += gout[qo + c]! * out[qo + c]!;
        for (let j = first; j <= last; j++) {
          const ko = kvBase + j * D;
          let s = 0;
          let dp = 0;
          for (let c = 0; c < D; c++) {
            s += q[qo + c]! * k[ko + c]!;
            dp += gout[qo + c]! * v[ko + c]!;
          }
          const p = Math.exp(s * scale - l);
          const ds = p * (dp - delta) * scale;
          for (let c = 0; c < D; c++) {
            gq[qo + c]! += ds * k[ko + c]!;
            gk[ko + c]! += ds * q[qo + c]!;
            gv[ko + c]! += p * gout[qo + c]!;
          }
        }
      }
    }
  }
}
