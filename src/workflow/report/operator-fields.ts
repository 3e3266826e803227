import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { atomicWrite } from '../../model/io/atomic-file.ts';
import { dataDirOf } from '../defaults.ts';
import { parseInput } from '../requests/request-input.ts';
import { RequestInputError } from '../requests/input-error.ts';

/**
 * What only the operator knows and a regulator asks for (WORKFLOW.md, "What an erasure record should show"): where
 * copies outside the models are (backups kept "beyond use" until overwritten), who was told of the erasure (GDPR
 * Art. 17(2), Art. 19), who is responsible, and any exception (Art. 17(3)) for what is kept. Stored per request as
 * `<dataDir>/reports/<id>/operator.json`, written atomically, and shown in the DPO report.
 */
const text = z.string().trim().min(1).max(4000);

export const OperatorFieldsSchema = z.strictObject({
  backups: text.nullable().default(null).describe('where copies outside the models are, and until when they are kept beyond use'),
  recipients: z.array(text).max(500).default([]).describe('recipients notified of the erasure (Art. 17(2), Art. 19): who, when, how'),
  responsible: text.nullable().default(null).describe('the person responsible for this erasure'),
  exceptions: text.nullable().default(null).describe('what is kept under an exception of Art. 17(3), and why'),
  updatedAt: z.string().nullable().default(null),
  updatedBy: z.string().nullable().default(null),
});
export type OperatorFields = z.output<typeof OperatorFieldsSchema>;

/** The fields `--set key=value` may set (recipients= with no value clears the list). */
export const SETTABLE_FIELDS = ['backups', 'responsible', 'exceptions', 'recipients'] as const;
export type SettableField = (typeof SETTABLE_FIELDS)[number];

export const EMPTY_OPERATOR_FIELDS: OperatorFields = OperatorFieldsSchema.parse({});

/** A request id as a folder name: ids are `req_<uuid>`; anything that could leave the reports folder is refused. */
function safeId(requestId: string): string {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(requestId)) throw new RequestInputError(`report: "${requestId}" is not a request id`);
  return requestId;
}

/** `<dataDir>/reports/<id>`: where the operator's fields and, by default, the report are kept. */
export function reportDir(dataDir: string | undefined, requestId: string): string {
  return join(dataDirOf(dataDir ? { dataDir } : {}), 'reports', safeId(requestId));
}

const fileOf = (dataDir: string | undefined, requestId: string): string => join(reportDir(dataDir, requestId), 'operator.json');

/** The operator's fields of a request (all empty when none were set); a damaged file is named, not ignored. */
export function readOperatorFields(dataDir: string | undefined, requestId: string): OperatorFields {
  const file = fileOf(dataDir, requestId);
  if (!existsSync(file)) return { ...EMPTY_OPERATOR_FIELDS, recipients: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new RequestInputError(`${file}: not valid JSON; fix it or set the fields again with lethe report ${requestId} --set …`);
  }
  return parseInput(OperatorFieldsSchema, raw, file);
}

export interface OperatorChange {
  set?: Partial<Record<SettableField, string>>;
  /** Recipients added to the list (a recipient already listed is not added twice). */
  addRecipients?: string[];
}

/** Parses `--set key=value` arguments; errors name the argument and the keys allowed. */
export function parseSetArguments(args: readonly string[]): Partial<Record<SettableField, string>> {
  const out: Partial<Record<SettableField, string>> = {};
  for (const a of args) {
    const eq = a.indexOf('=');
    const key = eq < 0 ? a : a.slice(0, eq);
    if (eq < 0 || !(SETTABLE_FIELDS as readonly string[]).includes(key)) {
      throw new RequestInputError(`--set ${JSON.stringify(a)}: expected key=value with key one of ${SETTABLE_FIELDS.join(', ')}`);
    }
    out[key as SettableField] = a.slice(eq + 1);
  }
  return out;
}

/**
 * Applies a change to the stored fields and writes them atomically. An empty value clears a field (recipients=
 * empties the list; recipients=X makes it [X]).
 */
export function updateOperatorFields(dataDir: string | undefined, requestId: string, change: OperatorChange, actor: string, now: Date): OperatorFields {
  const current = readOperatorFields(dataDir, requestId);
  const next: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(change.set ?? {}) as [SettableField, string][]) {
    const v = value.trim();
    next[key] = key === 'recipients' ? (v === '' ? [] : [v]) : v === '' ? null : v;
  }
  const recipients = next['recipients'] as string[];
  for (const r of change.addRecipients ?? []) if (r.trim() !== '' && !recipients.includes(r.trim())) recipients.push(r.trim());
  const fields = parseInput(OperatorFieldsSchema, { ...next, updatedAt: now.toISOString(), updatedBy: actor }, 'report');
  const dir = reportDir(dataDir, requestId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  atomicWrite(fileOf(dataDir, requestId), [Buffer.from(`${JSON.stringify(fields, null, 2)}\n`, 'utf8')]);
  return fields;
}
