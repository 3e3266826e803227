import { existsSync, readdirSync, realpathSync, renameSync, rmdirSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createExclusive, durableMkdir, durableRemove, durableRename, fsyncDir, lstatOrNull } from './atomic-file.ts';

export class OutputError extends Error {
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'OutputError';
  }
}

/** The real path a (possibly not yet existing) path would have: its nearest existing ancestor resolved through links. */
function realPathOf(path: string): string {
  const abs = resolve(path);
  const rest: string[] = [];
  let at = abs;
  while (!existsSync(at)) {
    const parent = dirname(at);
    if (parent === at) break;
    rest.unshift(basename(at));
    at = parent;
  }
  return join(realpathSync(at), ...rest);
}

function inside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/**
 * Refuses an output that is, contains or lies inside any input, compared by real path (so a symlinked `--out`
 * pointing at the source model is caught), and an output path that is itself a symbolic link.
 */
export function checkOutputAgainstInputs(out: string, inputs: readonly { path: string; what: string }[]): void {
  if (lstatOrNull(out)?.isSymbolicLink()) throw new OutputError(out, 'is a symbolic link; give the output folder\'s real path');
  const realOut = realPathOf(out);
  for (const input of inputs) {
    // An input that does not exist yet (a checkpoint folder to be made) is compared by the real path it would have.
    const realIn = realPathOf(input.path);
    if (inside(realOut, realIn) || inside(realIn, realOut)) {
      const how = realOut === realIn ? 'is' : inside(realOut, realIn) ? 'lies inside' : 'contains';
      throw new OutputError(out, `${how} the ${input.what} ${input.path}${realIn !== resolve(input.path) ? ` (${realIn})` : ''}; write the output somewhere else (the inputs stay as they are)`);
    }
  }
}

export interface WriteFolderOptions {
  /** Replace an existing folder at the target, whole. Without it an existing target is refused. */
  force?: boolean;
  /** Inputs the output must not be, contain or lie inside. */
  inputs?: readonly { path: string; what: string }[];
}

/**
 * Refuses an output folder that cannot be written — a link, an overlap with an input, something that is not a folder,
 * an existing folder without `force` — after putting back what a crashed forced replacement left aside. Commands call
 * it before their long work as well, so a run is not wasted on an output it may not write. Returns whether the target
 * exists.
 */
export function checkOutputFolder(target: string, inputs: readonly { path: string; what: string }[], force = false): boolean {
  checkOutputAgainstInputs(target, inputs);
  const parent = dirname(realPathOf(target));
  if (existsSync(parent)) recoverStaleFolders(parent, basename(resolve(target)));
  const st = lstatOrNull(target);
  if (st && !st.isDirectory()) throw new OutputError(target, 'exists and is not a folder');
  if (st && !force) throw new OutputError(target, 'already exists; pass --force to replace it (it is replaced whole)');
  return st !== null;
}

/** Marks a temp folder as Lethe's own, so a later run may remove it after a crash left it behind. */
const PARTIAL_MARKER = '.lethe-partial';
const PARTIAL_INFIX = '.lethe-partial-';
/** An existing target moved aside by a forced replacement, removed once the new folder is in place. */
const REPLACED_INFIX = '.lethe-replaced-';

/**
 * Builds a folder whole or not at all: `build` writes into a fresh sibling temp folder, which is fsynced and renamed
 * into place (replacing an existing target only with `force`). A crash leaves the target as it was (or, during a
 * forced replacement, absent) and never half-written. Nothing Lethe did not create is deleted.
 */
export function writeFolder(target: string, build: (dir: string) => void, options: WriteFolderOptions = {}): void {
  const exists = checkOutputFolder(target, options.inputs ?? [], options.force);
  const parent = dirname(realPathOf(target));
  const name = basename(resolve(target));
  durableMkdir(parent);
  const tmp = join(parent, `.${name}${PARTIAL_INFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  const final = join(parent, name);
  let old: string | null = null;
  durableMkdir(tmp);
  try {
    // The marker needs no atomicity, only to exist: a crash before it leaves an empty folder (removed by rmdir).
    createExclusive(join(tmp, PARTIAL_MARKER), `${target}\n`);
    build(tmp);
    fsyncDir(tmp);
    if (exists) {
      old = join(parent, `.${name}${REPLACED_INFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
      durableRename(final, old);
    }
    durableRename(tmp, final);
    fsyncDir(parent);
  } catch (err) {
    if (existsSync(tmp)) durableRemove(tmp);
    if (old && !existsSync(final)) renameSync(old, final); // the replacement failed: put the old folder back
    throw err;
  }
  // A crash from here on leaves the new folder complete (at worst with the marker file still in it).
  durableRemove(join(final, PARTIAL_MARKER));
  if (old) durableRemove(old);
}

/**
 * Folders that a crashed run (its pid no longer alive) left next to the same target: temp folders (recognised by
 * Lethe's marker, or empty) are removed; an old folder a forced replacement had moved aside is put back when the
 * crash came before the new one was in place (so nothing is lost), else removed (the user asked for it to go).
 */
function recoverStaleFolders(parent: string, name: string): void {
  for (const entry of readdirSync(parent)) {
    const kind = entry.startsWith(`.${name}${PARTIAL_INFIX}`) ? PARTIAL_INFIX : entry.startsWith(`.${name}${REPLACED_INFIX}`) ? REPLACED_INFIX : null;
    if (!kind) continue;
    const dir = join(parent, entry);
    const pid = Number(entry.slice(`.${name}${kind}`.length).split('-')[0]);
    // writeFolder is synchronous, so a folder of this very process is from a call that has already failed.
    if (pid !== process.pid && isAlive(pid)) continue;
    if (kind === REPLACED_INFIX) {
      if (existsSync(join(parent, name))) durableRemove(dir);
      else durableRename(dir, join(parent, name));
    } else if (existsSync(join(dir, PARTIAL_MARKER))) durableRemove(dir);
    else {
      try {
        rmdirSync(dir); // only an empty folder: one a crash left before its marker was written
      } catch {
        // Not empty and not marked: not provably ours, so it stays.
      }
    }
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
