import assert from 'node:assert/strict';
import { DataError } from '../../src/data/jsonl.ts';

/** Asserts that `fn` throws a DataError with exactly this message tail and these location fields. */
export function rejectsData(fn: () => unknown, tail: string, line?: number, field?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`);
    assert.ok(e.message.endsWith(tail), `message "${e.message}" should end with "${tail}"`);
    assert.equal(e.line, line);
    assert.equal(e.field, field);
    return true;
  });
}
