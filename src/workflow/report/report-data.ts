import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { outputFolder } from '../artifacts/store.ts';
import type { UnlearnRecord } from '../../unlearn/run.ts';
import { dataDirOf } from '../defaults.ts';
import { needlesOf, OutputFilter } from '../evidence/output-filter.ts';
import { loadAssessment } from '../jobs/handlers.ts';
import { listJobs, type Job } from '../jobs/queue.ts';
import { daysLeft, toIsoDate } from '../requests/deadlines.ts';
import { getRequest, requestHistory, type ErasureRequest, type HistoryEntry, type WorkflowEnv } from '../requests/service.ts';
import type { VerificationRecord } from '../verify/types.ts';
import { readOperatorFields, type OperatorFields } from './operator-fields.ts';
import { residualRisk, type ResidualRisk } from './residual-risk.ts';

/**
 * The DPO report of one request as data (report.json; report-html.ts renders the same object): what was asked and
 * when, what was found, what was done, the verification, the residual risk in plain words, the deadline, and the
 * operator's fields (backups, recipients notified, responsible person). The subject's identifiers and the records'
 * contents are never in it: identifiers are counted, records named by a short hash, and every string is passed
 * through the request's own output filter as a last guard.
 */
export const DPO_REPORT_SCHEMA = 'https://lethe.dev/dpo-report/v1';

/** Record hashes are shown to this many hex digits (enough to find a record in the assessment). */
export const SHORT_HASH = 12;

export const LEGAL_GROUND_TEXT: Readonly<Record<string, string>> = {
  a: 'the data are no longer necessary for the purposes they were collected or processed for',
  b: 'the subject withdrew the consent the processing rested on',
  c: 'the subject objected to the processing (Art. 21)',
  d: 'the data were processed unlawfully',
  e: 'erasure is needed to comply with a legal obligation',
  f: 'the data were collected for information-society services offered to a child (Art. 8(1))',
};

export interface DeadlineStatus {
  /** The deadline in force (the extension's date when there is one); null while the clock waits for identity. */
  dueAt: string | null;
  originalDueAt: string | null;
  extension: { until: string; reason: string } | null;
  status: 'waiting-for-identity' | 'open' | 'overdue' | 'met' | 'missed';
  daysLeft: number | null;
  /** When the request was completed, denied or canceled. */
  closedAt: string | null;
  text: string;
}

export interface CorpusFinding {
  path: string;
  sha256: string;
  records: number;
  /** Records of the subject in it that the erasure covers (exact matches and confirmed fuzzy ones). */
  erased: number;
  exact: number;
  fuzzyConfirmed: number;
  fuzzyRejected: number;
  /** Fuzzy matches an operator has yet to confirm or reject (while the request requires input). */
  fuzzyUndecided: number;
  /** Short hashes of the erased records, sorted. */
  recordHashes: string[];
}

export interface ErasureDone {
  /** The model in scope, unchanged, and the erased copy written beside it. */
  model: string;
  output: string;
  method: string;
  /** The method's options beyond its defaults (stronger settings on an escalated attempt). */
  options: string[];
  why: string | null;
  modelSha256: string;
  steps: number | null;
  stopReason: string | null;
  stopReasonText: string | null;
  forgetProbability: { before: number; after: number } | null;
  changedTensors: number | null;
  totalTensors: number | null;
  warnings: string[];
}

export interface ResidualCopy {
  what: string;
  path: string;
  exists: boolean;
}

export interface DpoReport {
  schema: typeof DPO_REPORT_SCHEMA;
  generatedAt: string;
  letheVersion: string;
  privacy: { statement: string; redactions: number };
  request: {
    id: string;
    state: string;
    receivedAt: string;
    identityVerifiedAt: string | null;
    legalGround: { code: string; article: string; text: string };
    requester: string;
    /** How many identifiers of each kind the subject gave (never the identifiers). */
    identifiers: { names: number; emails: number; phones: number; addresses: number; patterns: number };
    scope: { models: string[]; corpora: string[] };
    decision: { kind: string; reason: string; text: string | null } | null;
  };
  deadline: DeadlineStatus;
  timeline: HistoryEntry[];
  found: {
    assessed: boolean;
    outcome: string | null;
    recordsErased: number;
    threshold: number | null;
    corpora: CorpusFinding[];
    notSearched: { path: string; model: string; namedBy: string }[];
    models: { model: string; recordsFound: number; method: string; kind: string; why: string }[];
  };
  done: {
    erasures: ErasureDone[];
    jobs: { kind: string; state: string; attempts: number; createdAt: string; updatedAt: string; lastError: string | null }[];
  };
  verification:
    | { status: 'not-verified'; reason: string }
    | { status: 'verified'; result: VerificationRecord['result']; decision: VerificationRecord['decision']; record: VerificationRecord };
  residualRisk: ResidualRisk;
  residualCopies: ResidualCopy[];
  operator: OperatorFields & { missing: string[] };
  certificate: { issued: boolean; issuedAt: string | null; keyid: string | null };
}

const letheVersion = (): string => (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const PRIVACY = 'This report holds no personal data of the data subject beyond the request id and dates: the subject\'s identifiers '
  + 'are counted, never shown; records are named by a short hash of their content, never quoted. Free text is checked against '
  + 'the subject\'s identifiers before it is written, and any match is replaced by [erased].';

function deadlineOf(r: ErasureRequest, originalDueAt: string | null, history: readonly HistoryEntry[], now: Date): DeadlineStatus {
  const closed = ['completed', 'denied', 'canceled'].includes(r.state) ? history.filter((h) => h.to === r.state).at(-1)?.at ?? null : null;
  const base = { dueAt: r.dueAt, originalDueAt, extension: r.extension, closedAt: closed };
  const ext = r.extension ? ` (extended from ${originalDueAt ?? '?'}: ${r.extension.reason})` : '';
  if (r.dueAt === null) {
    return { ...base, status: 'waiting-for-identity', daysLeft: null, text: 'The one-month clock has not started: it waits for the subject\'s identity to be confirmed.' };
  }
  if (closed) {
    const margin = daysLeft(r.dueAt, new Date(closed));
    const day = toIsoDate(new Date(closed));
    const verb = r.state === 'completed' ? 'Completed' : `Closed (${r.state})`;
    const when = margin >= 0 ? `${margin} day${margin === 1 ? '' : 's'} before the deadline of ${r.dueAt}` : `${-margin} day${margin === -1 ? '' : 's'} after the deadline of ${r.dueAt}`;
    return { ...base, status: margin >= 0 ? 'met' : 'missed', daysLeft: null, text: `${verb} on ${day}, ${margin === 0 ? `on the deadline day ${r.dueAt}` : when}${ext}.` };
  }
  const left = daysLeft(r.dueAt, now);
  if (left < 0) return { ...base, status: 'overdue', daysLeft: left, text: `Open and overdue by ${-left} day${left === -1 ? '' : 's'}: the deadline was ${r.dueAt}${ext}.` };
  return { ...base, status: 'open', daysLeft: left, text: `Open: ${left} day${left === 1 ? '' : 's'} left until the deadline of ${r.dueAt}${ext}.` };
}

function readUnlearnRecord(outDir: string): UnlearnRecord | null {
  try {
    return JSON.parse(readFileSync(join(outDir, 'unlearn.json'), 'utf8')) as UnlearnRecord;
  } catch {
    return null;
  }
}

/** The verification of the request: the newest verify job that recorded a VerificationRecord, else why there is none. */
function verificationOf(jobs: readonly Job[]): DpoReport['verification'] {
  const verify = jobs.filter((j) => j.kind === 'verify');
  for (const j of [...verify].reverse()) {
    const v = j.result?.['verification'];
    if (v && typeof v === 'object' && Array.isArray((v as VerificationRecord).attempts)) {
      const record = v as VerificationRecord;
      return { status: 'verified', result: record.result, decision: record.decision, record };
    }
  }
  const passThrough = verify.map((j) => j.result?.['verification']).filter((v): v is string => typeof v === 'string').at(-1);
  if (passThrough) return { status: 'not-verified', reason: passThrough };
  if (verify.length === 0) return { status: 'not-verified', reason: 'no verification has run for this request' };
  return { status: 'not-verified', reason: `the verification job is ${verify.at(-1)!.state} and recorded no result` };
}

/** Replaces the subject's identifiers in every string of `value` (deep), counting the replacements. */
function redactDeep<T>(value: T, filter: OutputFilter): { value: T; redactions: number } {
  let redactions = 0;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const r = filter.apply(v);
      redactions += r.blocks.length;
      return r.text;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return { value: walk(value) as T, redactions };
}

/** Builds the DPO report of a request from the store, the job outputs and the operator's fields. */
export async function buildDpoReport(env: WorkflowEnv, id: string): Promise<DpoReport> {
  const now = env.now ? env.now() : new Date();
  const r = await getRequest(env, id);
  const history = await requestHistory(env, id);
  const row = await env.store.db.selectFrom('requests').select('due_at').where('id', '=', id).executeTakeFirstOrThrow();
  const a = await loadAssessment(env.store.db, id);
  const jobs = await listJobs(env.store, id);
  const cert = await env.store.db.selectFrom('certificates').select(['created_at', 'envelope']).where('request_id', '=', id).executeTakeFirst();
  const dataDir = dataDirOf(env.dataDir ? { dataDir: env.dataDir } : {});

  // What was found: the erased records are the exact matches and the fuzzy ones an operator confirmed.
  const confirmed = new Set(a?.confirmed ?? []);
  const corpora: CorpusFinding[] = (a?.corpora ?? []).map((c) => {
    const erasedMatches = c.matches.filter((m) => m.score >= a!.threshold || confirmed.has(m.hash));
    const hashes = [...new Set(erasedMatches.map((m) => m.hash.slice(0, SHORT_HASH)))].sort();
    const fuzzy = c.matches.filter((m) => m.score < a!.threshold);
    return {
      path: c.corpus.path, sha256: c.corpus.sha256, records: c.corpus.records, erased: new Set(erasedMatches.map((m) => m.record)).size,
      exact: new Set(c.matches.filter((m) => m.score >= a!.threshold).map((m) => m.record)).size,
      fuzzyConfirmed: new Set(fuzzy.filter((m) => confirmed.has(m.hash)).map((m) => m.record)).size,
      ...(() => {
        const open = new Set(fuzzy.filter((m) => !confirmed.has(m.hash)).map((m) => m.record)).size;
        return r.state === 'requires_input' ? { fuzzyRejected: 0, fuzzyUndecided: open } : { fuzzyRejected: open, fuzzyUndecided: 0 };
      })(),
      recordHashes: hashes,
    };
  });
  const recordsErased = new Set((a?.corpora ?? []).flatMap((c) => c.matches.filter((m) => m.score >= a!.threshold || confirmed.has(m.hash)).map((m) => m.hash))).size;

  // What was done: the newest finished erasure, with the unlearning run's own record next to each output.
  const erase = jobs.filter((j) => j.kind === 'erase' && j.state === 'done' && Array.isArray(j.result?.['outputs'])).at(-1);
  const outputs = (erase?.result?.['outputs'] ?? []) as { model: string; method: string; options?: string[]; outDir: string; artifact?: string; modelSha256: string; steps?: number | null; stopReason?: string | null }[];
  const erasures: ErasureDone[] = outputs.map((o) => {
    const rec = readUnlearnRecord(outputFolder(env, o));
    return {
      model: o.model, output: o.outDir, method: o.method, options: o.options ?? [], why: a?.models.find((m) => m.model === o.model)?.recommendation.why ?? null,
      modelSha256: o.modelSha256, steps: rec?.steps ?? o.steps ?? null, stopReason: rec?.stopReason ?? o.stopReason ?? null,
      stopReasonText: rec?.stopReasonText ?? null,
      forgetProbability: rec ? { before: rec.result.before.forgetProb, after: rec.result.after.forgetProb } : null,
      changedTensors: rec?.result.changedTensors ?? null, totalTensors: rec?.result.totalTensors ?? null, warnings: rec?.result.warnings ?? [],
    };
  });

  const verification = verificationOf(jobs);
  const operator = readOperatorFields(env.dataDir, id);
  const missing = [
    ...(operator.backups === null ? ['backups'] : []),
    ...(operator.recipients.length === 0 ? ['recipients'] : []),
    ...(operator.responsible === null ? ['responsible'] : []),
  ];

  // Copies Lethe itself knows of that the erasure does not touch.
  const corpusIds = (a?.corpora ?? []).filter((c) => c.matches.length > 0).map((c) => c.corpus.id);
  const indexes = corpusIds.length > 0 ? await env.store.db.selectFrom('corpora').select('index_path').where('id', 'in', corpusIds).execute() : [];
  const copies: ResidualCopy[] = [
    ...r.scope.models.map((m) => ({ what: 'model in scope, as trained (the erasure wrote a new folder; this one is unchanged)', path: m })),
    ...(a?.corpora ?? []).filter((c) => c.matches.length > 0).map((c) => ({ what: 'training-data file holding the subject\'s records', path: c.corpus.path })),
    ...indexes.map((i) => ({ what: 'Lethe\'s search index of that file (its records in normalised form)', path: i.index_path })),
    { what: 'the forget set the erasure trained on (the subject\'s records)', path: join(dataDir, 'jobs', id, 'forget.jsonl') },
  ].map((c) => ({ ...c, exists: existsSync(c.path) }));

  const report: DpoReport = {
    schema: DPO_REPORT_SCHEMA,
    generatedAt: now.toISOString(),
    letheVersion: letheVersion(),
    privacy: { statement: PRIVACY, redactions: 0 },
    request: {
      id: r.id, state: r.state, receivedAt: r.receivedAt, identityVerifiedAt: r.identityVerifiedAt,
      legalGround: { code: r.legalGround, article: `GDPR Art. 17(1)(${r.legalGround})`, text: LEGAL_GROUND_TEXT[r.legalGround] ?? '' },
      requester: r.requester,
      identifiers: { names: r.subject.names.length, emails: r.subject.emails.length, phones: r.subject.phones.length, addresses: r.subject.addresses.length, patterns: r.subject.patterns.length },
      scope: { models: r.scope.models, corpora: r.scope.corpora },
      decision: r.decision,
    },
    deadline: deadlineOf(r, row.due_at, history, now),
    timeline: history,
    found: {
      assessed: a !== null, outcome: a?.outcome ?? null, recordsErased, threshold: a?.threshold ?? null, corpora,
      notSearched: (a?.unavailable ?? []).map((f) => ({ path: f.path, model: f.model, namedBy: f.from })),
      models: (a?.models ?? []).map((m) => ({ model: m.model, recordsFound: m.recordsFound, method: m.recommendation.method, kind: m.recommendation.kind, why: m.recommendation.why })),
    },
    done: {
      erasures,
      jobs: jobs.map((j) => ({ kind: j.kind, state: j.state, attempts: j.attempts, createdAt: j.createdAt, updatedAt: j.updatedAt, lastError: j.lastError })),
    },
    verification,
    residualRisk: residualRisk({
      verification: verification.status === 'verified' ? verification.record : null,
      notVerifiedReason: verification.status === 'not-verified' ? verification.reason : null,
      erasures, state: r.state,
    }),
    residualCopies: copies,
    operator: { ...operator, missing },
    certificate: {
      issued: cert !== undefined, issuedAt: cert?.created_at ?? null,
      keyid: cert ? ((JSON.parse(cert.envelope) as { signatures?: { keyid?: string }[] }).signatures?.[0]?.keyid ?? null) : null,
    },
  };
  const { value, redactions } = redactDeep(report, new OutputFilter(needlesOf(r)));
  return { ...value, privacy: { statement: PRIVACY, redactions } };
}
