import { closeSync, constants, lstatSync, type Stats, fstatSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { faultPoint } from './faults.ts';

/** lstat without following a link; null when nothing is there (other errors, e.g. EACCES, are thrown). */
export function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** fsyncs a folder so that renames and creations inside it survive a power loss. */
export function fsyncDir(dir: string): void {
  faultPoint(`fsync folder ${dir}`);
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return; // Some platforms cannot open a folder for fsync; the renames themselves are still atomic.
  }
  try {
    fsyncSync(fd);
  } catch {
    // As above: not every file system supports fsync on a folder.
  } finally {
    closeSync(fd);
  }
}

/** rename(2) behind a fault point: atomic on one file system, the only way Lethe moves a file or folder into place. */
export function durableRename(from: string, to: string): void {
  faultPoint(`rename ${from} -> ${to}`);
  renameSync(from, to);
}

/** Creates a folder (parents too) behind a fault point. */
export function durableMkdir(dir: string): void {
  faultPoint(`mkdir ${dir}`);
  mkdirSync(dir, { recursive: true });
}

/** Removes a file or folder tree behind a fault point (only ever called on what Lethe itself created). */
export function durableRemove(path: string): void {
  faultPoint(`remove ${path}`);
  rmSync(path, { recursive: true, force: true });
}

/**
 * Writes chunks to path through a temp file + fsync + rename, then fsyncs the folder, so a crash leaves either the
 * old file or the new one, never a torn one. The temp file is created exclusively (O_EXCL), so a symlink planted
 * at its name is never followed.
 */
export function atomicWrite(path: string, chunks: readonly Uint8Array[]): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  faultPoint(`create ${tmp}`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  try {
    for (const c of chunks) {
      faultPoint(`write ${tmp}`);
      let done = 0;
      while (done < c.byteLength) done += writeSync(fd, c, done, c.byteLength - done);
    }
    faultPoint(`fsync ${tmp}`);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  durableRename(tmp, path);
  fsyncDir(dirname(path));
}

/**
 * Creates a new file in one exclusive create (O_EXCL | O_NOFOLLOW) and fsyncs it: a crash leaves it present (perhaps
 * empty) or absent, never a temp file beside it. For markers, whose existence is what counts.
 */
export function createExclusive(path: string, content: string): void {
  faultPoint(`create ${path}`);
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    writeSync(fd, content);
    faultPoint(`fsync ${path}`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a regular file without following a symbolic link at its name (O_NOFOLLOW): a model folder's
 * `merges.txt → /etc/passwd` is refused, not copied into an output.
 */
export function readRegularFile(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Error(`${path}: is a symbolic link; Lethe does not follow links in model folders (copy the real file in, e.g. cp -L)`);
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${path}: not a regular file`);
    const buf = Buffer.alloc(st.size);
    let done = 0;
    while (done < st.size) {
      const n = readSync(fd, buf, done, st.size - done, done);
      if (n === 0) break;
      done += n;
    }
    return done === st.size ? buf : buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** Copies a regular file (never through a link) into place atomically. */
export function copyFileAtomic(from: string, to: string): void {
  atomicWrite(to, [readRegularFile(from)]);
}
