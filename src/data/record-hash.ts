import { createHash } from 'node:crypto';

/**
 * The two names of a record that carry none of its content: what the erasure workflow's indexes, assessments,
 * certificates and exclusion lists use, and what `lethe train --exclude` matches against.
 *
 * - the record hash: SHA-256 of the record as parsed (`JSON.stringify` of the value; the text itself for a plain
 *   string). It changes with any field of the record, evaluation fields included.
 * - the content hash: SHA-256 of what training reads of it — `question\nanswer` for a QA record, the text for a text
 *   record — so the record still matches after its file is laid out again with other fields beside those.
 */
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export function recordHash(value: unknown): string {
  return sha256(typeof value === 'string' ? value : JSON.stringify(value));
}

/** What training reads of a value, by the rule the training reader uses (QA first, then text); null when neither. */
export function trainedContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const r = value as Record<string, unknown>;
  if ('question' in r || 'answer' in r) return typeof r['question'] === 'string' && typeof r['answer'] === 'string' ? `${r['question']}\n${r['answer']}` : null;
  return typeof r['text'] === 'string' ? r['text'] : null;
}

export function contentHash(value: unknown): string | null {
  const content = trainedContent(value);
  return content === null ? null : sha256(content);
}
