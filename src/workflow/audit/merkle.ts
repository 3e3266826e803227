import { createHash } from 'node:crypto';

/**
 * The Merkle tree of RFC 6962 / RFC 9162 §2.1, as Certificate Transparency logs use it: leaf hash
 * SHA-256(0x00 ‖ entry), node hash SHA-256(0x01 ‖ left ‖ right), the left subtree of n leaves holding the largest
 * power of two below n. Inclusion proofs (§2.1.3) and consistency proofs (§2.1.4), with the RFC's verification
 * algorithms, so a log can be checked by anyone holding a checkpoint.
 */
export type Hash = Buffer;

export function leafHash(entry: Uint8Array): Hash {
  return createHash('sha256').update(Buffer.from([0])).update(entry).digest();
}

export function nodeHash(left: Hash, right: Hash): Hash {
  return createHash('sha256').update(Buffer.from([1])).update(left).update(right).digest();
}

/** The largest power of two strictly below n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over leaf hashes [from, to). */
export function rootOf(leaves: readonly Hash[], from = 0, to = leaves.length): Hash {
  const n = to - from;
  if (n === 0) return createHash('sha256').digest();
  if (n === 1) return leaves[from]!;
  const k = split(n);
  return nodeHash(rootOf(leaves, from, from + k), rootOf(leaves, from + k, to));
}

/** PATH(m, D[n]): the audit path of leaf `index` in the tree of the first `size` leaves. */
export function inclusionProof(leaves: readonly Hash[], index: number, size = leaves.length): Hash[] {
  if (!(index >= 0 && index < size && size <= leaves.length)) throw new RangeError(`no leaf ${index} in a tree of ${size}`);
  const path = (m: number, from: number, to: number): Hash[] => {
    const n = to - from;
    if (n <= 1) return [];
    const k = split(n);
    return m < k ? [...path(m, from, from + k), rootOf(leaves, from + k, to)] : [...path(m - k, from + k, to), rootOf(leaves, from, from + k)];
  };
  return path(index, 0, size);
}

/** RFC 9162 §2.1.3.2: whether `proof` shows `leaf` at `index` in the tree of `size` leaves with `root`. */
export function verifyInclusion(leaf: Hash, index: number, size: number, proof: readonly Hash[], root: Hash): boolean {
  if (!(Number.isInteger(index) && Number.isInteger(size) && index >= 0 && index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (!(fn % 2 === 1 || fn === 0)) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/** PROOF(m, D[n]): that the tree of the first `first` leaves is a prefix of the tree of `second` leaves. */
export function consistencyProof(leaves: readonly Hash[], first: number, second = leaves.length): Hash[] {
  if (!(first >= 1 && first <= second && second <= leaves.length)) throw new RangeError(`no consistency proof from ${first} to ${second}`);
  const sub = (m: number, from: number, to: number, whole: boolean): Hash[] => {
    const n = to - from;
    if (m === n) return whole ? [] : [rootOf(leaves, from, to)];
    const k = split(n);
    return m <= k ? [...sub(m, from, from + k, whole), rootOf(leaves, from + k, to)] : [...sub(m - k, from + k, to, false), rootOf(leaves, from, from + k)];
  };
  return sub(first, 0, second, true);
}

/** RFC 9162 §2.1.4.2: whether `proof` shows the tree (first, firstRoot) is a prefix of (second, secondRoot). */
export function verifyConsistency(first: number, second: number, proof: readonly Hash[], firstRoot: Hash, secondRoot: Hash): boolean {
  if (!(Number.isInteger(first) && Number.isInteger(second) && first >= 1 && first <= second)) return false;
  if (first === second) return proof.length === 0 && firstRoot.equals(secondRoot);
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (!(fn % 2 === 1 || fn === 0)) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return fr.equals(firstRoot) && sr.equals(secondRoot) && sn === 0;
}
