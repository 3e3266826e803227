import { lstatSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createExclusive, durableMkdir, durableRemove, durableRename, fsyncDir, lstatOrNull } from '../model/io/atomic-file.ts';
import { faultPoint } from '../model/io/faults.ts';
import { OutputError } from '../model/io/output-folder.ts';

/**
 * The on-disk protocol of a resumable checkpoint `DIR`, so that a kill at any moment loses at most the checkpoint
 * being written and Lethe never deletes a folder it did not create.
 *
 * - A checkpoint is built in `DIR.partial`: mkdir, then the marker `.lethe-checkpoint` (ownership), then the weights
 *   and optimizer files, then `trainer_state.json` last. A folder is *complete* when it holds both the marker and
 *   the state file; the state file is also the first thing removed when a checkpoint folder is deleted, so a
 *   half-deleted folder never looks complete.
 * - The swap: remove `DIR.old`, rename `DIR` → `DIR.old`, rename `DIR.partial` → `DIR`, remove `DIR.old`.
 * - Recovery (before a resume) takes the first complete folder of `DIR.partial`, `DIR`, `DIR.old` — the newest, as
 *   the swap only ever makes them complete in that order of age — moves it to `DIR` and removes the other two.
 *   Every step of it leaves a complete copy of that checkpoint on disk, so a kill during recovery is recovered too.
 * - Lethe's own folders: those holding the marker, empty ones (nothing to lose; also what a kill between mkdir and
 *   the marker leaves), and those of earlier Lethe versions (a trainer_state.json with Lethe's fields). Anything
 *   else at `DIR`, `DIR.old` or `DIR.partial` (a symlink, a file, someone's folder) is refused, never touched.
 */
export const MARKER = '.lethe-checkpoint';
export const STATE_FILE = 'trainer_state.json';

export type FolderState = 'absent' | 'incomplete' | 'complete';

export interface CheckpointPaths {
  dir: string;
  partial: string;
  old: string;
}

/** The three paths, as the user spelled the folder (messages name them so) less trailing slashes: `ck/` → `ck.old`. */
export function checkpointPaths(dir: string): CheckpointPaths {
  const d = dir.replace(/[\\/]+$/, '') || dir;
  return { dir: d, partial: `${d}.partial`, old: `${d}.old` };
}

/** A trainer_state.json written before the marker existed: Lethe's own fields, not e.g. Hugging Face Trainer's. */
function isLegacyState(path: string): boolean {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    return typeof s['fingerprint'] === 'string' && /^[0-9a-f]{64}$/.test(s['fingerprint']) && typeof s['step'] === 'number'
      && typeof s['position'] === 'object' && s['position'] !== null && Array.isArray(s['losses']);
  } catch {
    return false;
  }
}

const REFUSE = 'Lethe never deletes or replaces a folder it did not create; give another --checkpoint folder, or move this one away';

/** What is at `path`: absent, or a Lethe checkpoint folder, complete or not. Anything else is refused. */
export function folderState(path: string): FolderState {
  const st = lstatOrNull(path);
  if (!st) return 'absent';
  if (st.isSymbolicLink()) throw new OutputError(path, `is a symbolic link, not a training checkpoint folder; ${REFUSE}`);
  if (!st.isDirectory()) throw new OutputError(path, `exists and is not a training checkpoint folder; ${REFUSE}`);
  const entries = readdirSync(path);
  if (entries.length === 0) return 'incomplete';
  const hasState = entries.includes(STATE_FILE) && lstatSync(join(path, STATE_FILE)).isFile();
  if (entries.includes(MARKER)) return hasState ? 'complete' : 'incomplete';
  if (hasState && isLegacyState(join(path, STATE_FILE))) return 'complete';
  throw new OutputError(path, `exists and is not a Lethe training checkpoint (no ${MARKER} marker); ${REFUSE}`);
}

/** The state of all three folders; throws (touching nothing) if any of them is not Lethe's. */
export function inspectCheckpoint(dir: string): Record<keyof CheckpointPaths, FolderState> {
  const p = checkpointPaths(dir);
  return { dir: folderState(p.dir), partial: folderState(p.partial), old: folderState(p.old) };
}

/** Creates the ownership marker with one exclusive create, so a kill leaves it present (maybe empty) or absent, never a temp file. */
function createMarker(dir: string): void {
  createExclusive(join(dir, MARKER), 'Lethe training checkpoint: written and deleted by `lethe train`.\n');
}

/** Deletes a Lethe checkpoint folder: state file first (it stops being complete), the marker last (it stays Lethe's). */
export function removeCheckpointFolder(path: string): void {
  const state = folderState(path);
  if (state === 'absent') return;
  const entries = readdirSync(path);
  if (entries.length === 0) {
    faultPoint(`remove ${path}`);
    rmdirSync(path); // only ever removes an empty folder
    return;
  }
  if (!entries.includes(MARKER)) createMarker(path); // an earlier version's folder: mark it before taking it apart
  if (entries.includes(STATE_FILE)) {
    durableRemove(join(path, STATE_FILE));
    fsyncDir(path);
  }
  for (const e of entries) if (e !== MARKER && e !== STATE_FILE) durableRemove(join(path, e));
  durableRemove(path);
}

/** Starts a new checkpoint: an empty `DIR.partial` holding only the marker. Returns its path. */
export function beginCheckpoint(dir: string): string {
  const p = checkpointPaths(dir);
  inspectCheckpoint(dir); // refuses before touching anything if one of the three is not Lethe's
  removeCheckpointFolder(p.partial);
  durableMkdir(p.partial);
  createMarker(p.partial);
  return p.partial;
}

/** Swaps a complete `DIR.partial` into place as `DIR` (atomicWrite of the state file, written last, fsynced the folder). */
export function commitCheckpoint(dir: string): void {
  promotePartial(checkpointPaths(dir));
}

function promotePartial(p: CheckpointPaths): void {
  removeCheckpointFolder(p.old);
  if (lstatOrNull(p.dir)) durableRename(p.dir, p.old);
  durableRename(p.partial, p.dir);
  fsyncDir(dirname(p.dir));
  removeCheckpointFolder(p.old);
}

/**
 * Leaves the newest complete checkpoint at `DIR` and removes the rest (see the protocol above). Returns false,
 * touching nothing, when there is no complete checkpoint.
 */
export function recoverCheckpoint(dir: string): boolean {
  const p = checkpointPaths(dir);
  const s = inspectCheckpoint(dir);
  if (s.partial === 'complete') {
    promotePartial(p);
  } else if (s.dir === 'complete') {
    removeCheckpointFolder(p.partial);
    removeCheckpointFolder(p.old);
  } else if (s.old === 'complete') {
    removeCheckpointFolder(p.partial);
    removeCheckpointFolder(p.dir);
    durableRename(p.old, p.dir);
    fsyncDir(dirname(p.dir));
  } else {
    return false;
  }
  return true;
}

/** The step a complete checkpoint folder holds (for messages), or null if its state cannot be read. */
export function checkpointStep(folder: string): number | null {
  try {
    const step = (JSON.parse(readFileSync(join(folder, STATE_FILE), 'utf8')) as { step?: unknown }).step;
    return typeof step === 'number' ? step : null;
  } catch {
    return null;
  }
}

/** The complete checkpoint folder a resume would use (without moving anything), or null. */
export function newestComplete(dir: string): string | null {
  const p = checkpointPaths(dir);
  const s = inspectCheckpoint(dir);
  return s.partial === 'complete' ? p.partial : s.dir === 'complete' ? p.dir : s.old === 'complete' ? p.old : null;
}
