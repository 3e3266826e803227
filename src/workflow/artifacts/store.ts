import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { atomicWrite, durableRename, fsyncDir, lstatOrNull } from '../../model/io/atomic-file.ts';
import { hashFile } from '../../train/sisa/digest.ts';
import { dataDirOf } from '../defaults.ts';

/**
 * Content-addressed artifacts (unlearned model folders, ensembles) in one folder every worker sees — the data
 * directory's `artifacts/`, or a shared path (NFS) named by `$LETHE_ARTIFACTS` (docs/deploy.md):
 *
 *   ROOT/sha256/ab/abcd…/          one artifact, never changed once in place; its name is its digest
 *   ROOT/sha256/ab/abcd…/SHA256SUMS  `sha256sum` lines of every other file, by path in byte order; digest = its SHA-256
 *   ROOT/REQUEST/0-target           a relative link to the artifact a request's erasure produced (for people and tools)
 *   ROOT/tmp/                       folders being written; never read
 *
 * A put copies (or moves) into tmp/, fsyncs and renames into place: rename is atomic within one file system (NFS
 * included, on one server), so a reader sees the whole folder or nothing. The same content put twice, or by two
 * workers at once, is one artifact. A read recomputes the digest and names the file that is missing, extra or altered.
 */

export const SUMS = 'SHA256SUMS';

/** Temp folders older than this are a crashed put's remains and are removed by the next put. */
const STALE_TMP_MS = 24 * 3600_000;

const HEX64 = /^[0-9a-f]{64}$/;

export interface Artifact {
  sha256: string;
  path: string;
}

/** The artifact root: `$LETHE_ARTIFACTS`, else `<dataDir>/artifacts`. */
export function artifactRoot(o: { dataDir?: string } = {}): string {
  const env = process.env['LETHE_ARTIFACTS'];
  return env ? resolve(env) : join(dataDirOf(o), 'artifacts');
}

export const artifactPath = (root: string, sha256: string): string => join(root, 'sha256', sha256.slice(0, 2), sha256);

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Every regular file under dir by its `/`-separated relative path (SHA256SUMS at the top excepted); a link or device is refused. */
function listFiles(dir: string, what: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile()) { if (r !== SUMS) out.push(r); }
      else throw new Error(`${what}: ${r} is not a regular file or folder (links are not stored; copy the real file in)`);
    }
  };
  walk('');
  return out.sort(byteOrder);
}

const fileSha256 = (path: string): string => {
  const h = createHash('sha256');
  hashFile(h, path);
  return h.digest('hex');
};

/** The folder's SHA256SUMS text (as `sha256sum` writes it: `HASH  PATH`, one line a file, paths in byte order). */
export function sumsOf(dir: string): string {
  return listFiles(dir, dir).map((f) => {
    if (/[\n\\]/.test(f)) throw new Error(`${dir}: ${JSON.stringify(f)}: a file name with a newline or backslash cannot be stored`);
    return `${fileSha256(join(dir, f))}  ${f}\n`;
  }).join('');
}

/** The content digest of a folder: SHA-256 of its SHA256SUMS text. */
export const folderDigest = (dir: string): string => createHash('sha256').update(sumsOf(dir)).digest('hex');

function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const f of listFiles(from, from)) {
    const dst = join(to, f);
    mkdirSync(dirname(dst), { recursive: true, mode: 0o700 });
    copyFileSync(join(from, f), dst);
  }
}

/** fsyncs every file and folder of a tree, deepest first, so that the rename that publishes it publishes data. */
function fsyncTree(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (lstatSync(p).isDirectory()) fsyncTree(p);
    else {
      const fd = openSync(p, 'r');
      try { fsyncSync(fd); } finally { closeSync(fd); }
    }
  }
  fsyncDir(dir);
}

/** Removes temp folders left by puts that died (older than a day: a live put on another machine is never touched). */
function sweepTmp(tmp: string, now: number): void {
  for (const name of existsSync(tmp) ? readdirSync(tmp) : []) {
    const p = join(tmp, name);
    try {
      if (now - statSync(p).mtimeMs > STALE_TMP_MS) rmSync(p, { recursive: true, force: true });
    } catch { /* another worker removed it first */ }
  }
}

/**
 * Stores a folder by content: `{ sha256, path }` of the artifact, which is whole once this returns. With `move`, the
 * source is renamed in when it is on the root's file system (else copied) and is gone afterwards. Idempotent: content
 * already stored (by an earlier attempt or another worker, even at the same moment) is not written again.
 */
export function putFolder(root: string, srcDir: string, o: { move?: boolean } = {}): Artifact {
  if (!existsSync(srcDir) || !statSync(srcDir).isDirectory()) throw new Error(`${srcDir}: no folder to store as an artifact`);
  const tmpRoot = join(root, 'tmp');
  mkdirSync(tmpRoot, { recursive: true, mode: 0o700 });
  sweepTmp(tmpRoot, Date.now());
  const tmp = join(tmpRoot, `${hostname()}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}`);
  try {
    // Moved in (one rename, on the root's file system) the folder is hashed once; copied, it is hashed before (to
    // find content already stored) and after (to check what landed).
    let moved = false;
    if (o.move) {
      try {
        durableRename(srcDir, tmp);
        moved = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      }
    }
    let sums = moved ? sumsOf(tmp) : sumsOf(srcDir);
    const sha256 = createHash('sha256').update(sums).digest('hex');
    const path = artifactPath(root, sha256);
    if (!existsSync(join(path, SUMS))) {
      if (!moved) {
        copyTree(srcDir, tmp);
        sums = sumsOf(tmp);
        const got = createHash('sha256').update(sums).digest('hex');
        if (got !== sha256) throw new Error(`${srcDir}: changed while it was being stored as an artifact (digest ${sha256.slice(0, 12)}…, then ${got.slice(0, 12)}…); store it again`);
      }
      atomicWrite(join(tmp, SUMS), [Buffer.from(sums)]);
      fsyncTree(tmp);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      try {
        durableRename(tmp, path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        // Another put of the same content won the race: its folder is the artifact.
        if (!existsSync(join(path, SUMS))) throw new Error(`${path}: a folder without ${SUMS} is in the artifact's place (altered); move it away and store again`);
      }
      fsyncDir(dirname(path));
    }
    if (o.move) rmSync(srcDir, { recursive: true, force: true });
    return { sha256, path };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The path of artifact `sha256` after checking its content; a missing, extra or altered file is a one-line error. */
export function openFolder(root: string, sha256: string): string {
  if (!HEX64.test(sha256)) throw new Error(`artifact ${JSON.stringify(sha256)}: not a SHA-256 digest (64 lower-case hex digits)`);
  const path = artifactPath(root, sha256);
  const name = `artifact sha256:${sha256.slice(0, 12)}… (${path})`;
  if (!existsSync(path)) throw new Error(`${name}: not found; is ${root} the artifact folder every worker shares ($LETHE_ARTIFACTS)?`);
  const sumsPath = join(path, SUMS);
  if (!existsSync(sumsPath)) throw new Error(`${name}: ${SUMS} is missing; the artifact was altered — restore it from a backup or retry the request`);
  const sums = readFileSync(sumsPath);
  if (createHash('sha256').update(sums).digest('hex') !== sha256) throw new Error(`${name}: ${SUMS} was altered — restore the artifact from a backup or retry the request`);
  const expected = new Map(sums.toString('utf8').split('\n').filter(Boolean).map((l) => [l.slice(66), l.slice(0, 64)] as const));
  const present = listFiles(path, name);
  const extra = present.find((f) => !expected.has(f));
  if (extra !== undefined) throw new Error(`${name}: ${extra} was added after the artifact was stored — remove it, or restore the artifact from a backup`);
  for (const [f, h] of expected) {
    if (!present.includes(f)) throw new Error(`${name}: ${f} is missing — restore the artifact from a backup or retry the request`);
    if (fileSha256(join(path, f)) !== h) throw new Error(`${name}: ${f} was altered (SHA-256 differs from ${SUMS}) — restore the artifact from a backup or retry the request`);
  }
  return path;
}

/** Points `ROOT/<group>/<name>` at an artifact with a relative link (replaced in one rename), for people and tools to find it. */
export function linkArtifact(root: string, group: string, name: string, sha256: string): string {
  const dir = join(root, group);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const link = join(dir, name);
  const target = relative(dir, artifactPath(root, sha256));
  const old = lstatOrNull(link);
  if (old?.isSymbolicLink() && readlinkSync(link) === target) return link;
  if (old && !old.isSymbolicLink()) throw new Error(`${link}: a folder is already there (written by an older Lethe); move it away to link the artifact`);
  const tmp = join(dir, `.${basename(link)}.${process.pid}.${Date.now()}.tmp`);
  symlinkSync(target, tmp);
  durableRename(tmp, link);
  fsyncDir(dir);
  return link;
}

/** The digest `ROOT/<group>/<name>` links to, or null when there is no such link. */
export function linkedArtifact(root: string, group: string, name: string): string | null {
  const link = join(root, group, name);
  if (!lstatOrNull(link)?.isSymbolicLink()) return null;
  const sha = basename(readlinkSync(link));
  return HEX64.test(sha) ? sha : null;
}

/**
 * The folder of a job output: the artifact it names, checked against its digest, or — for outputs recorded by a
 * Lethe before content addressing — the folder it recorded.
 */
export function outputFolder(o: { dataDir?: string }, out: { outDir: string; artifact?: string }): string {
  return out.artifact ? openFolder(artifactRoot(o), out.artifact) : out.outDir;
}
