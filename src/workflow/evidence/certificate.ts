import { createHash, createHmac, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { outputFolder } from '../artifacts/store.ts';
import { checkpointLog, proveEntry, verifyInclusionEvidence, type InclusionEvidence } from '../audit/audit-log.ts';
import { entryBytes } from '../audit/audit-sink.ts';
import type { SigningKey } from '../audit/keys.ts';
import { leafHash, rootOf } from '../audit/merkle.ts';
import { tokens, normalizeEmail, normalizePhone } from '../assess/normalize.ts';
import { lastVerification, loadAssessment } from '../jobs/handlers.ts';
import { BAR_DESCRIPTION, type BarPolicy } from '../verify/policy.ts';
import type { VerificationRecord } from '../verify/types.ts';
import { listJobs } from '../jobs/queue.ts';
import { getRequest, requestHistory, type WorkflowEnv } from '../requests/service.ts';
import { TransitionError } from '../requests/states.ts';
import { readOperatorFields } from '../report/operator-fields.ts';
import { openEnvelope, signEnvelope, type Envelope } from './dsse.ts';
import { needlesOf, OutputFilter } from './output-filter.ts';
import { erasedRecordHashes } from './exclusions.ts';

/**
 * The certificate of erasure: an in-toto Statement v1 in a DSSE envelope, signed with Ed25519 (WORKFLOW.md). The
 * subjects are the unlearned models' weight files with their SHA-256; the predicate says what was asked, found,
 * done and verified, and carries the audit log's signed checkpoint with the inclusion proof of the request's final
 * entry, so the whole certificate checks offline. No personal data: the subject appears only as an HMAC commitment
 * whose salt the controller keeps.
 */
export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://lethe.dev/erasure/v1';

export interface ErasurePredicate {
  request: { id: string; receivedAt: string; identityVerifiedAt: string | null; completedAt: string; deadline: string | null; extension: { until: string; reason: string } | null; legalGround: string };
  dataSubject: { commitment: string; algorithm: 'HMAC-SHA256(salt, normalised identifiers)' };
  baseModels: { path: string; digest: { sha256: string } | null }[];
  /** recordsFound: the erased records' hashes across the corpus files in scope and the model's lineage — a record held in
   *  two files (with different extra fields) is two hashes, so this can exceed the assessment's de-duplicated count. */
  corpus: { snapshotDigest: string; recordsFound: number; recordsMerkleRoot: string };
  method: { name: string; optionsDigest: string; letheVersion: string }[];
  /**
   * The shape of a SLSA verification summary: the policy (the bar, with its parameters), what was measured on each
   * certified model (every criterion with its value, bar and status), the result and when. INCONCLUSIVE: nothing
   * missed the bar but a core criterion could not be judged; NOT_PERFORMED: completed before verification existed.
   */
  verification: { policy: { description: string; parameters: BarPolicy | null }; attempts: number; metrics: Record<string, unknown>[]; result: 'PASSED' | 'FAILED' | 'INCONCLUSIVE' | 'NOT_PERFORMED'; summary: string; timeVerified: string };
  recipientsNotified: string[];
  residual: { backups: string | null; exceptions: string | null };
  auditLog: { entry: { seq: number; at: string; requestId: string; kind: string; payload: string }; inclusion: InclusionEvidence };
}

export interface Statement {
  _type: string;
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: ErasurePredicate;
}

const sha256File = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
const letheVersion = (): string => (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The subject's identifiers normalised as matching normalises them, in a fixed order, for the commitment. */
function normalisedIdentifiers(s: { names: string[]; emails: string[]; phones: string[]; addresses: string[]; patterns: string[] }): string {
  const norm = (xs: string[], f: (x: string) => string) => [...new Set(xs.map(f))].sort();
  return JSON.stringify({
    names: norm(s.names, (x) => tokens(x).join(' ')), emails: norm(s.emails, normalizeEmail), phones: norm(s.phones, normalizePhone),
    addresses: norm(s.addresses, (x) => tokens(x).join(' ')), patterns: norm(s.patterns, (x) => tokens(x).join(' ')),
  });
}

/** The certificate's verification block: the final attempt's measurements, or NOT_PERFORMED for a legacy pass-through. */
function verificationBlock(v: VerificationRecord | null, at: string): ErasurePredicate['verification'] {
  if (!v) return { policy: { description: 'none: completed before verification against a bar existed (pass-through)', parameters: null }, attempts: 0, metrics: [], result: 'NOT_PERFORMED', summary: 'not verified', timeVerified: at };
  const last = v.attempts.at(-1)!;
  return {
    policy: { description: BAR_DESCRIPTION, parameters: v.policy }, attempts: v.attempts.length,
    metrics: last.models.map((m) => ({
      model: m.model, modelSha256: m.modelSha256, method: m.method, compared: m.compared, forgetProbability: m.forgetProbability,
      criteria: m.criteria.map((c) => ({ id: c.id, status: c.status, value: c.value, bar: c.bar, before: c.before, n: c.n, note: c.note })),
    })),
    result: v.result, summary: last.summary, timeVerified: last.at,
  };
}

/** The certificate issued for a request, or null when none has been. */
export async function storedCertificate(env: WorkflowEnv, id: string): Promise<Envelope | null> {
  const row = await env.store.db.selectFrom('certificates').select('envelope').where('request_id', '=', id).executeTakeFirst();
  return row ? (JSON.parse(row.envelope) as Envelope) : null;
}

/** Issues (or returns the stored) certificate of a completed request, signing a fresh audit checkpoint for it. */
export async function issueCertificate(env: WorkflowEnv, id: string, key: SigningKey): Promise<Envelope> {
  const stored = await storedCertificate(env, id);
  if (stored) return stored;
  const r = await getRequest(env, id);
  if (r.state !== 'completed') throw new TransitionError(`request ${id} is ${r.state}: a certificate is issued for a completed request`);
  const history = await requestHistory(env, id);
  const a = await loadAssessment(env.store.db, id);
  const jobs = await listJobs(env.store, id);
  const erase = jobs.filter((j) => j.kind === 'erase' && j.state === 'done').at(-1);
  const verify = jobs.filter((j) => j.kind === 'verify' && j.state === 'done').at(-1);
  const verification = await lastVerification(env, id);
  // What the operator recorded for the DPO report (`lethe report ID --recipient … --set backups=…`), passed through the
  // request's own identifier filter: the certificate carries no personal data of the subject.
  const operator = readOperatorFields(env.dataDir, id);
  const filter = new OutputFilter(needlesOf(r));
  const clean = (text: string): string => filter.apply(text).text;
  if (!a || !erase) throw new TransitionError(`request ${id} has no assessment or erasure on record`);
  const outputs = (erase.result?.['outputs'] ?? []) as { model: string; method: string; outDir: string; artifact?: string; modelSha256: string }[];
  const salt = randomBytes(32);
  const recordHashes = erasedRecordHashes(a);
  // The completion: the request's last transition (output blocks may be logged for it afterwards).
  const final = await env.store.db.selectFrom('audit_entries').selectAll().where('request_id', '=', id).where('kind', '=', 'transition').orderBy('seq', 'desc').executeTakeFirstOrThrow();
  await checkpointLog(env.store, key);
  const inclusion = await proveEntry(env.store, Number(final.seq));
  const predicate: ErasurePredicate = {
    request: {
      id, receivedAt: r.receivedAt, identityVerifiedAt: r.identityVerifiedAt, completedAt: history.at(-1)!.at, deadline: r.dueAt,
      extension: r.extension, legalGround: `GDPR Art. 17(1)(${r.legalGround})`,
    },
    dataSubject: { commitment: createHmac('sha256', salt).update(normalisedIdentifiers(r.subject)).digest('hex'), algorithm: 'HMAC-SHA256(salt, normalised identifiers)' },
    baseModels: r.scope.models.map((m) => ({ path: m, digest: existsSync(join(m, 'model.safetensors')) ? { sha256: sha256File(join(m, 'model.safetensors')) } : null })),
    corpus: {
      snapshotDigest: createHash('sha256').update(a.corpora.map((c) => c.corpus.sha256).sort().join('\n')).digest('hex'),
      recordsFound: recordHashes.length, recordsMerkleRoot: rootOf(recordHashes.map((h) => leafHash(Buffer.from(h, 'hex')))).toString('hex'),
    },
    method: outputs.map((o) => {
      const record = JSON.parse(readFileSync(join(outputFolder(env, o), 'unlearn.json'), 'utf8')) as { options: unknown };
      return { name: o.method, optionsDigest: createHash('sha256').update(JSON.stringify(record.options)).digest('hex'), letheVersion: letheVersion() };
    }),
    verification: verificationBlock(verification, verify?.updatedAt ?? history.at(-1)!.at),
    recipientsNotified: operator.recipients.map(clean),
    residual: { backups: operator.backups === null ? null : clean(operator.backups), exceptions: operator.exceptions === null ? null : clean(operator.exceptions) },
    auditLog: { entry: { seq: Number(final.seq), at: final.at, requestId: id, kind: final.kind, payload: final.payload }, inclusion },
  };
  const statement: Statement = {
    _type: STATEMENT_TYPE,
    subject: outputs.map((o, i) => ({ name: `${i}/model.safetensors`, digest: { sha256: o.modelSha256 } })),
    predicateType: PREDICATE_TYPE, predicate,
  };
  const envelope = signEnvelope(PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)), key);
  await env.store.write(async (tx) => {
    await tx.insertInto('certificates').values({ request_id: id, salt: salt.toString('hex'), envelope: JSON.stringify(envelope), created_at: new Date().toISOString() }).execute();
  });
  return envelope;
}

/**
 * Checks a certificate offline: the DSSE signature, the statement's types, the audit entry (it is this request's
 * completion, and its leaf is in the tree of the signed checkpoint), and with `modelDir` that the folder's weights
 * are one of the certified subjects. Returns the first thing wrong, or null.
 */
export function verifyCertificate(envelope: Envelope, name: string, publicKey: KeyObject, o: { modelDir?: string } = {}): { problem: string | null; statement: Statement | null } {
  const fail = (problem: string, statement: Statement | null = null) => ({ problem, statement });
  const opened = openEnvelope(envelope, name, publicKey);
  if ('problem' in opened) return fail(opened.problem);
  if (envelope.payloadType !== PAYLOAD_TYPE) return fail(`payloadType is "${envelope.payloadType}", not ${PAYLOAD_TYPE}`);
  let st: Statement;
  try {
    st = JSON.parse(opened.body.toString('utf8')) as Statement;
  } catch {
    return fail('the payload is not JSON');
  }
  if (st._type !== STATEMENT_TYPE) return fail(`_type is "${st._type}", not ${STATEMENT_TYPE}`, st);
  if (st.predicateType !== PREDICATE_TYPE) return fail(`predicateType is "${st.predicateType}", not ${PREDICATE_TYPE}`, st);
  const p = st.predicate;
  const e = p?.auditLog?.entry;
  if (!e || e.requestId !== p.request?.id) return fail('the audit entry is not the certified request\'s', st);
  let to: unknown;
  try {
    to = (JSON.parse(e.payload) as { to?: unknown }).to;
  } catch {
    to = undefined;
  }
  if (e.kind !== 'transition' || to !== 'completed') return fail('the audit entry is not the request\'s completion', st);
  if (leafHash(entryBytes({ seq: e.seq, at: e.at, request_id: e.requestId, kind: e.kind, payload: e.payload })).toString('hex') !== p.auditLog.inclusion.leafHash) return fail('the audit entry does not hash to the leaf its inclusion proof is for', st);
  const inclusion = verifyInclusionEvidence(p.auditLog.inclusion, name, publicKey);
  if (inclusion) return fail(`audit log: ${inclusion}`, st);
  if (o.modelDir) {
    const file = join(o.modelDir, 'model.safetensors');
    if (!existsSync(file)) return fail(`${o.modelDir}: no model.safetensors`, st);
    const digest = sha256File(file);
    if (!st.subject.some((s) => s.digest?.sha256 === digest)) return fail(`${file} (sha256 ${digest.slice(0, 12)}…) is not a model this certificate covers`, st);
  }
  return { problem: null, statement: st };
}
