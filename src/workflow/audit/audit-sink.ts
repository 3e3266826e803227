import { sql } from 'kysely';
import type { Dialect, Tx } from '../store/open-store.ts';
import { leafHash } from './merkle.ts';

/** One audit entry. Never personal data: ids, states, reason codes, counts, hashes. */
export interface AuditEntry {
  requestId: string | null;
  kind: string;
  payload: Record<string, unknown>;
}

/**
 * Where transitions are recorded, inside the transaction that makes them. The evidence issue replaces the plain
 * table with the Merkle log; callers only see this interface.
 */
export interface AuditSink {
  append(tx: Tx, entry: AuditEntry, at: string): Promise<number>;
}

/**
 * The bytes an entry contributes to the Merkle tree: its fields on lines, the payload as stored (JSON text, which has
 * no raw newline). Anyone holding the entries can recompute the leaves.
 */
export function entryBytes(e: { seq: number; at: string; request_id: string | null; kind: string; payload: string }): Buffer {
  return Buffer.from(`${e.seq}\n${e.at}\n${e.request_id ?? ''}\n${e.kind}\n${e.payload}`);
}

/** An arbitrary constant naming the audit log's advisory lock on PostgreSQL. */
const AUDIT_LOCK = 0x1e7e;

/**
 * The append-only log: entries numbered 1, 2, … without gaps, each with its RFC 6962 leaf hash, one sequence under concurrency — SQLite's write
 * transaction is already exclusive, PostgreSQL takes a transaction-scoped advisory lock before reading the end.
 */
export function tableAuditSink(dialect: Dialect): AuditSink {
  return {
    async append(tx, entry, at) {
      if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${AUDIT_LOCK})`.execute(tx);
      const last = await tx.selectFrom('audit_entries').select((e) => e.fn.max('seq').as('seq')).executeTakeFirst();
      const seq = Number(last?.seq ?? 0) + 1;
      const row = { seq, at, request_id: entry.requestId, kind: entry.kind, payload: JSON.stringify(entry.payload) };
      await tx.insertInto('audit_entries').values({ ...row, leaf_hash: leafHash(entryBytes(row)).toString('hex') }).execute();
      return seq;
    },
  };
}
