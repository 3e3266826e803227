import { copyFileSync, linkSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Recreates the tree `from` at `to` with hard links to its files (a copy where the file system refuses a link: another
 * device, no link support). For immutable files only — checkpoints and weights that Lethe never rewrites in place
 * (every write is a new file renamed over the old name, which leaves the other name's content alone): the two trees
 * then share their bytes, and a SISA erasure that keeps seven of eight shards writes no gigabytes to do it.
 */
export function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (e.isDirectory()) linkTree(src, dst);
    else linkOrCopy(src, dst);
  }
}

/** A hard link to one immutable file, or a copy where the file system refuses the link. */
export function linkOrCopy(src: string, dst: string): void {
  mkdirSync(dirname(dst), { recursive: true });
  try {
    linkSync(src, dst);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw e;
    copyFileSync(src, dst);
  }
}
