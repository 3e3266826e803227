import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST, readManifest, shardDir } from './manifest.ts';

/** Feeds a file into a hash in 4 MiB reads: weights can be larger than a Buffer should be. */
export function hashFile(h: Hash, path: string): void {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/**
 * One SHA-256 naming an ensemble's weights and placements: ensemble.json, then every shard's *.safetensors in shard
 * and name order, each file preceded by its path in the folder and a newline. Checkpoints and data are left out:
 * they decide future erasures, not what the ensemble answers, and the manifest already fixes which records they hold.
 */
export function ensembleDigest(dir: string): string {
  const m = readManifest(dir);
  const h = createHash('sha256');
  h.update(`${MANIFEST}\n`);
  hashFile(h, join(dir, MANIFEST));
  for (let k = 0; k < m.shards; k++) {
    for (const f of readdirSync(shardDir(dir, k)).filter((x) => x.endsWith('.safetensors')).sort()) {
      h.update(`shards/shard-${k}/${f}\n`);
      hashFile(h, join(shardDir(dir, k), f));
    }
  }
  return h.digest('hex');
}
