import type { F32, I32 } from '../host.ts';

export function softmax(x: F32, out: F32, rows: number, n: number, log: boolean): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let m = -Infinity;
    for (let j = 0; j < n; j++) if (x[o + j]! > m) m = x[o + j]!;
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(x[o + j]! - m);
    if (log) {
      const lse = m + Math.log(s);
      for (let j = 0; j < n; j++) out[o + j] = x[o + j]! - lse;
    } else {
      for (let j = 0; j < n; j++) out[o + j] = Math.exp(x[o + j]! - m) / s;
    }
  }
}

export function softmaxBackward(y: F32, gy: F32, gx: F32, rows: number, n: number, log: boolean): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let s = 0;
    if (log) {
      // y = x − lse: gx = gy − softmax·Σgy
      for (let j = 0; j < n; j++) s += gy[o + j]!;
      for (let j = 0; j < n; j++) gx[o + j] = gy[o + j]! - Math.exp(y[o + j]!) * s;
    } else {
      // gx = y·(gy − Σ y·gy)
      for (let j = 0; j < n; j++) s += y[o + j]! * gy[o + j]!;
      for (let j = 0; j < n; j++) gx[o + j] = y[o + j]! * (gy[o + j]! - s);
    }
  }
}

export function layerNorm(x: F32, w: F32, b: F32, out: F32, mean: F32, rstd: F32, rows: number, n: number,
  eps: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let mu = 0;
    for (let j = 0; j < n; j++) mu += x[o + j]!;
    mu /= n;
    let v = 0;
    for (let j = 0; j < n; j++) v += (x[o + j]! - mu) ** 2;
    const rs = 1 / Math.sqrt(v / n + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let j = 0; j < n; j++) out[o + j] = (x[o + j]! - mu) * rs * w[j]! + b[j]!;
  }
}

export function layerNormBackward(x: F32, w: F32, mean: F32, rstd: F32, gy: F32, gx: F32, gw: F32, gb: F32,
  rows: number, n: number): void {
  const accW = new Float64Array(n);
  const accB = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const mu = mean[r]!;
    const rs = rstd[r]!;
    let sumG = 0;
    let sumGX = 0;
    for (let j = 0; j < n; j++) {
      const xhat = (x[o + j]! - mu) * rs;
      const g = gy[o + j]! * w[j]!;
      sumG += g;
      sumGX += g * xhat;
      accW[j]! += gy[o + j]! * xhat;
      accB[j]! += gy[o + j]!;
    }
    sumG /= n;
    sumGX /= n;
    for (let j = 0; j < n; j++) {
      const xhat = (x[o + j]! - mu) * rs;
      gx[o + j] = rs * (gy[o + j]! * w[j]! - sumG - xhat * sumGX);
    }
  }
  for (let j = 0; j < n; j++) {
    gw[j] = accW[j]!;
    gb[j] = accB[j]!;
  }
}

export function rmsNorm(x: F32, w: F32, out: F32, rstd: F32, rows: number, n: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let ss = 0;
    for (let j = 0; j < n; j++) ss += x[o + j]! * x[o + j]!;
    const rs = 1 / Math.sqrt(ss / n + eps);
    rstd[r] = rs;
    for (let j = 0; j < n; j++) out[o + j] = x[o + j]! * rs * w[j]!;
  }
}

export function rmsNormBackward(x: F32, w: F32, rstd: F32, gy: F32, gx: F32, gw: F32, rows: number,
  n: number): void {
  const accW = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const rs = rstd[r]!;
    let dot = 0;
    for (let j = 0; j < n; j++) {
      dot += gy[o + j]! * w[j]! * x[o + j]!;
      accW[j]! += gy[o + j]! * x[o + j]! * rs;
    }
    const c = (dot / n) * rs * rs;
    for (let j = 0; j < n; j++) gx[o + j] = rs * (gy[o + j]! * w[j]! - x[o + j]! * c);
  }
  for (let j = 0; j < n; j++) gw[j] = accW[j]!;
}

export function crossEntropy(logits: F32, targets: I32, losses: F32, lse: F32, rows: number, v: number,
  ignoreIndex: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * v;
    let m = -Infinity;
    for (let j = 0; j < v; j++) if (logits[o + j]! > m) m = logits[o + j]!;
    let s = 0;
    for (let j = 0; j < v; j++) s += Math.exp(logits[o + j]! - m);
    const l = m + Math.log(s);
    lse[r] = l;
    const t = targets[r]!;
    losses[r] = t === ignoreIndex ? 0 : l - logits[o + t]!;
  }
}

export function crossEntropyBackward(logits: F32, targets: I32, lse: F32, gLoss: F32, gx: F32, rows: number,
  v: number, ignoreIndex: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * v;
    const t = targets[r]!;
    if (t === ignoreIndex) {
      gx.fill(0, o, o + v);
      continue;
    }
    const g = gLoss[r]!;
    const l = lse[r]!;
    for (let j = 0; j < v; j++) gx[o + j] = g * Math.exp(logits[o + j]! - l);
    gx[o + t]! -= g;
  }
}

export function embedding(weight: F32, ids: I32, out: F32, d: number): void {
  for (let i = 0; i < ids.length; i++) out.set(weight.subarray(ids[i]! * d, ids[i]! * d + d), i * d);
}

export function embeddingBackward(ids: I32, gy: F32, gw: F32, d: number): void {
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i]! * d;
    for (let j = 0; j < d; j++) gw[row + j]! += gy[i * d + j]!;
  }
}

export function gather(x: F32, index: I32, out: F32, outer: number, n: number, m: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < m; k++) {
      for (let i = 0; i < inner; i++) {
        const at = (o * m + k) * inner + i;
        out[at] = x[(o * n + index[at]!) * inner + i]!;
      }
    }
  }
}

export function gatherBackward(index: I32, gy: F32, gx: F32, outer: number, n: number, m: number,
  inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < m; k++) {
      for (let i = 0; i < inner; i++) {
        const at = (o * m + k) * inner + i;
        gx[(o * n + index[at]!) * inner + i]! += gy[at]!;
      }
    }
  }
}

export function rope(x: F32, out: F32, bh: number, t: number, d: number, cos: F32, sin: F32,
  inverse: boolean): void {
  const half = d >> 1;
  const sign = inverse ? -1 : 1;
  for (let r = 0; r < bh; r++) {
    for (let p = 0; p < t; p++) {
      const o = (r * t + p) * d;
      const tab = p * half;
      for (let i = 0; i < half; i++) {
        const c = cos[tab + i]!;
        const s = sign * sin[tab + i]!;
        const x1 = x[o + i]!;
        const x2 = x[o + i + half]!;
        out[o + i] = x1 * c - x2 * s;
        out[o + i + half] = x2 * c + x1 * s;
      }
    }
  }
}
