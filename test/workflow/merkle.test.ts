import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { consistencyProof, inclusionProof, leafHash, rootOf, verifyConsistency, verifyInclusion } from '../../src/workflow/audit/merkle.ts';

// Certificate Transparency's reference test data (RFC 6962 implementations share it): 8 leaves and the roots of
// the trees of their first 1..8.
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => leafHash(Buffer.from(h, 'hex')));
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', 'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4', '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c', '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

describe('RFC 6962 Merkle tree', () => {
  test('roots equal Certificate Transparency\'s reference values; the empty tree is SHA-256 of nothing', () => {
    for (let n = 1; n <= 8; n++) assert.equal(rootOf(CT_LEAVES, 0, n).toString('hex'), CT_ROOTS[n - 1], `size ${n}`);
    assert.equal(rootOf([]).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  const leaves = Array.from({ length: 37 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));

  test('every inclusion proof of every tree up to 37 leaves verifies, and fails for another leaf, index, size or root', () => {
    for (let n = 1; n <= leaves.length; n++) {
      const root = rootOf(leaves, 0, n);
      for (let i = 0; i < n; i++) {
        const p = inclusionProof(leaves, i, n);
        assert.ok(verifyInclusion(leaves[i]!, i, n, p, root), `${i} of ${n}`);
        if (n > 1) {
          assert.ok(!verifyInclusion(leaves[(i + 1) % n]!, i, n, p, root));
          assert.ok(!verifyInclusion(leaves[i]!, (i + 1) % n, n, p, root));
        }
        if (n < leaves.length) {
          assert.ok(!verifyInclusion(leaves[i]!, i, n + 1, p, rootOf(leaves, 0, n + 1)), `as if in the tree of ${n + 1}`);
          assert.ok(!verifyInclusion(leaves[i]!, i, n, p, rootOf(leaves, 0, n + 1)), 'against another root');
        }
        if (p.length > 0) assert.ok(!verifyInclusion(leaves[i]!, i, n, p.slice(1), root));
      }
    }
  });

  test('every consistency proof between trees up to 37 leaves verifies; a tampered one or a forked tree fails', () => {
    const fork = leaves.map((l, i) => (i === 3 ? leafHash(Buffer.from('forged')) : l));
    for (let n = 1; n <= leaves.length; n++) {
      for (let m = 1; m <= n; m++) {
        const p = consistencyProof(leaves, m, n);
        const a = rootOf(leaves, 0, m);
        const b = rootOf(leaves, 0, n);
        assert.ok(verifyConsistency(m, n, p, a, b), `${m} → ${n}`);
        if (m < n) {
          assert.ok(!verifyConsistency(m, n, p, a, rootOf(leaves, 0, n - 1)), `${m} → ${n} against the root of ${n - 1}`);
          if (m > 3) assert.ok(!verifyConsistency(m, n, p, rootOf(fork, 0, m), b), `fork ${m} → ${n}`);
          if (p.length > 0) assert.ok(!verifyConsistency(m, n, p.slice(0, -1), a, b));
        }
      }
    }
  });
});
