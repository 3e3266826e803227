import { createHash } from 'node:crypto';
import { contentHash } from '../../data/record-hash.ts';
import type { TrainingRecord } from '../../data/schema.ts';

/**
 * How records are sent to shards: by their own hash, or by their subject's (all of a person's records in one shard;
 * records without a subject by their own hash).
 */
export const SHARD_BY = ['record', 'subject'] as const;
export type ShardBy = (typeof SHARD_BY)[number];

/** A record's place in the ensemble. */
export interface Placement {
  /** SHA-256 of what training reads of the record (question + answer, or the text): the name the manifest keeps. */
  hash: string;
  shard: number;
  /** 0-based; slice r is first trained in stage r + 1. */
  slice: number;
}

/** The record as written in a data file (the reader's `kind` tag removed). */
export function asWritten(r: TrainingRecord): Record<string, unknown> {
  const { kind: _kind, ...rest } = r;
  return rest;
}

const bucket = (hex: string, n: number): number => Number.parseInt(hex, 16) % n;

/**
 * Deterministic placement: shard and slice are read off a hash, so a record lands in the same place whatever else
 * is in the data and in whatever order — which is what lets a shard be retrained without the rest changing.
 */
export function place(records: readonly TrainingRecord[], shards: number, slices: number, shardBy: ShardBy): Placement[] {
  return records.map((r) => {
    const hash = contentHash(asWritten(r))!;
    // A record about no one (world facts, general text) is placed by its own hash under either rule.
    const shardKey = shardBy === 'subject' && r.subject ? createHash('sha256').update(r.subject).digest('hex') : hash;
    return { hash, shard: bucket(shardKey.slice(0, 12), shards), slice: bucket(hash.slice(12, 24), slices) };
  });
}
