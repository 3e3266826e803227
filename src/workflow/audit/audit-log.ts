import type { KeyObject } from 'node:crypto';
import { DEFAULT_ORIGIN } from '../defaults.ts';
import type { Store } from '../store/open-store.ts';
import type { AuditCheckpointsTable, AuditEntriesTable } from '../store/schema.ts';
import { entryBytes } from './audit-sink.ts';
import { openCheckpoint, signCheckpoint } from './checkpoint.ts';
import type { SigningKey } from './keys.ts';
import { consistencyProof, inclusionProof, leafHash, rootOf, verifyConsistency, verifyInclusion, type Hash } from './merkle.ts';


/** Every entry's leaf hash, recomputed from the entry itself (never read from the stored column). */
async function leaves(store: Store): Promise<{ seq: number; leaf: Hash }[]> {
  const rows = await store.db.selectFrom('audit_entries').selectAll().orderBy('seq').execute();
  return rows.map((r) => ({ seq: Number(r.seq), leaf: leafHash(entryBytes({ ...r, seq: Number(r.seq) })) }));
}

/** Signs a checkpoint of the log as it is now and stores it; returns the note. */
export async function checkpointLog(store: Store, key: SigningKey, origin = DEFAULT_ORIGIN, now = new Date()): Promise<{ size: number; note: string }> {
  return store.write(async (tx) => {
    const rows = await tx.selectFrom('audit_entries').selectAll().orderBy('seq').execute();
    const ls = rows.map((r) => leafHash(entryBytes({ ...r, seq: Number(r.seq) })));
    const root = rootOf(ls);
    const note = signCheckpoint({ origin, size: ls.length, root }, key);
    const existing = await tx.selectFrom('audit_checkpoints').select('size').where('size', '=', ls.length).executeTakeFirst();
    if (!existing) await tx.insertInto('audit_checkpoints').values({ size: ls.length, root: root.toString('hex'), note, at: now.toISOString() }).execute();
    return { size: ls.length, note };
  });
}

export interface LogVerification {
  ok: boolean;
  entries: number;
  checkpoints: number;
  /** The first thing found wrong, in words. */
  problem: string | null;
}

/**
 * Checks the whole log offline against the public key: entries numbered 1..n without gaps, each stored leaf hash
 * equal to the hash of the entry, every checkpoint signed by the key, for this origin, and equal to the root of the
 * entries it covers — so an edited, deleted, inserted or reordered entry below a checkpoint is found. Entries after
 * the last checkpoint are covered by the next one.
 */
export async function verifyLog(store: Store, name: string, publicKey: KeyObject, origin = DEFAULT_ORIGIN): Promise<LogVerification> {
  const rows = await store.db.selectFrom('audit_entries').selectAll().orderBy('seq').execute();
  const cps = await store.db.selectFrom('audit_checkpoints').selectAll().orderBy('size').execute();
  return verifyLogRows(rows, cps, name, publicKey, origin);
}

/** The same checks on rows as exported (`lethe audit export`), e.g. by an auditor holding only the files. */
export function verifyLogRows(rows: readonly AuditEntriesTable[], cps: readonly AuditCheckpointsTable[], name: string, publicKey: KeyObject, origin = DEFAULT_ORIGIN): LogVerification {
  const fail = (problem: string): LogVerification => ({ ok: false, entries: rows.length, checkpoints: cps.length, problem });
  const ls: Hash[] = [];
  for (const [i, r] of rows.entries()) {
    if (Number(r.seq) !== i + 1) return fail(`entry ${i + 1} is missing or out of order (found entry ${r.seq} there)`);
    const leaf = leafHash(entryBytes({ ...r, seq: Number(r.seq) }));
    if (r.leaf_hash !== null && r.leaf_hash !== leaf.toString('hex')) return fail(`entry ${r.seq} does not match its leaf hash (it was changed after it was written)`);
    ls.push(leaf);
  }
  let previous: { size: number; root: Hash } | null = null;
  for (const c of cps) {
    const opened = openCheckpoint(c.note, name, publicKey);
    if ('problem' in opened) return fail(`checkpoint of size ${c.size}: ${opened.problem}`);
    const cp = opened.checkpoint;
    if (cp.origin !== origin) return fail(`checkpoint of size ${c.size} is for the log "${cp.origin}", not "${origin}"`);
    if (cp.size !== Number(c.size)) return fail(`checkpoint stored as size ${c.size} says size ${cp.size}`);
    if (cp.size > ls.length) return fail(`checkpoint of size ${cp.size} covers more entries than the log holds (${ls.length}): entries were deleted`);
    if (!rootOf(ls, 0, cp.size).equals(cp.root)) return fail(`the first ${cp.size} entries do not hash to the root signed in their checkpoint: an entry was changed, inserted, deleted or reordered`);
    if (previous && !verifyConsistency(previous.size, cp.size, consistencyProof(ls, previous.size, cp.size), previous.root, cp.root)) return fail(`checkpoint ${cp.size} is not an extension of checkpoint ${previous.size}`);
    previous = { size: cp.size, root: cp.root };
  }
  return { ok: true, entries: rows.length, checkpoints: cps.length, problem: null };
}

export interface InclusionEvidence {
  seq: number;
  leafHash: string;
  /** Index of the leaf (seq − 1) and the tree size of the checkpoint the proof is against. */
  index: number;
  size: number;
  proof: string[];
  checkpoint: string;
}

/** The inclusion proof of entry `seq` against the newest checkpoint that covers it. */
export async function proveEntry(store: Store, seq: number): Promise<InclusionEvidence> {
  const ls = await leaves(store);
  const at = ls.findIndex((l) => l.seq === seq);
  if (at < 0) throw new RangeError(`no audit entry ${seq}`);
  const cp = await store.db.selectFrom('audit_checkpoints').selectAll().where('size', '>=', seq).orderBy('size', 'desc').executeTakeFirst();
  if (!cp) throw new RangeError(`no checkpoint covers entry ${seq} yet (make one with lethe audit checkpoint)`);
  const hashes = ls.map((l) => l.leaf);
  const proof = inclusionProof(hashes, at, Number(cp.size));
  return { seq, leafHash: hashes[at]!.toString('hex'), index: at, size: Number(cp.size), proof: proof.map((p) => p.toString('hex')), checkpoint: cp.note };
}

/** Checks inclusion evidence offline: the checkpoint's signature, then the proof against its root. */
export function verifyInclusionEvidence(e: InclusionEvidence, name: string, publicKey: KeyObject): string | null {
  const opened = openCheckpoint(e.checkpoint, name, publicKey);
  if ('problem' in opened) return `checkpoint: ${opened.problem}`;
  if (opened.checkpoint.size !== e.size) return `the proof is for size ${e.size}, the checkpoint for ${opened.checkpoint.size}`;
  const ok = verifyInclusion(Buffer.from(e.leafHash, 'hex'), e.index, e.size, e.proof.map((p) => Buffer.from(p, 'hex')), opened.checkpoint.root);
  return ok ? null : `entry ${e.seq} is not in the tree of ${e.size} entries signed by the checkpoint`;
}
