/**
 * The workflow's tables as Kysely sees them. Types are chosen to mean the same on SQLite and PostgreSQL: ids and
 * timestamps are text (ISO 8601, UTC, so they sort as they compare), structured fields are JSON text, counters are
 * integers. No auto-increment column: sequences that must be gap-free (history, audit) are assigned inside the
 * transaction that writes them, which the store serialises.
 */
export interface RequestsTable {
  id: string;
  idempotency_key: string | null;
  /** JSON: SubjectIdentifiers. Personal data: it stays in this row and is never logged. */
  subject: string;
  /** JSON: RequestScope. */
  scope: string;
  legal_ground: string;
  requester: string;
  state: string;
  /** The state a paused request returns to. */
  paused_from: string | null;
  received_at: string;
  /** Whether the controller asked for proof of identity (the deadline then runs from its receipt). */
  identity_requested: number;
  identity_verified_at: string | null;
  /** YYYY-MM-DD, null while the clock waits for identity. */
  due_at: string | null;
  extension_until: string | null;
  extension_reason: string | null;
  decision: string | null;
  decision_reason: string | null;
  decision_text: string | null;
  created_at: string;
  updated_at: string;
  /** Bumped by every write, for optimistic checks by callers that read then write. */
  version: number;
  /** JSON: the request's overrides of the verification bar (BarPolicyInput), or null for the defaults. */
  verification: string | null;
}

export interface RequestHistoryTable {
  request_id: string;
  seq: number;
  from_state: string | null;
  to_state: string;
  at: string;
  actor: string;
  reason: string | null;
}

export interface AuditEntriesTable {
  seq: number;
  at: string;
  request_id: string | null;
  kind: string;
  /** JSON without personal data: ids, states, reason codes, hashes. */
  payload: string;
  /** Hex SHA-256(0x00 ‖ entry bytes): the entry's leaf in the Merkle tree (null only for entries of version 1). */
  leaf_hash: string | null;
}

export interface AuditCheckpointsTable {
  size: number;
  /** Hex root hash of the tree of the first `size` entries. */
  root: string;
  /** The signed note (C2SP tlog-checkpoint). */
  note: string;
  at: string;
}

export interface JobsTable {
  id: string;
  request_id: string;
  kind: string;
  state: string;
  attempts: number;
  max_attempts: number;
  lease_until: string | null;
  fencing_token: number;
  worker: string | null;
  heartbeat_at: string | null;
  last_error: string | null;
  /** JSON: what the job needs (paths, options), fixed when the job is made. */
  input: string;
  /** JSON: what it produced. */
  result: string | null;
  created_at: string;
  updated_at: string;
}

/** Idempotency keys of job steps: a step that is done is never redone, whatever attempt reaches it again. */
export interface JobStepsTable {
  job_id: string;
  step: string;
  attempt: number;
  done_at: string;
  output: string | null;
}

export interface CorporaTable {
  id: string;
  path: string;
  sha256: string;
  records: number;
  /** Path of the index file under the data directory. */
  index_path: string;
  added_at: string;
  /** Non-member records of the same form (never trained on): the reference verification compares with. */
  holdout_path: string | null;
  holdout_sha256: string | null;
}

export interface AssessmentsTable {
  request_id: string;
  /** JSON: the assessment (matches, models, costs, recommendation). */
  result: string;
  created_at: string;
}

export interface CertificatesTable {
  request_id: string;
  /** Hex salt of the HMAC commitment to the subject's identifiers (kept by the controller, not in the certificate). */
  salt: string;
  /** The DSSE envelope as JSON. */
  envelope: string;
  created_at: string;
}

/** A bearer token of the HTTP API (src/workflow/access/tokens.ts). */
export interface ApiTokensTable {
  id: string;
  /** Who holds it; a requester token's name is the requester its requests are filed and listed under. */
  name: string;
  role: string;
  /** Hex SHA-256 of the secret; the secret itself is shown once, when the token is made. */
  secret_sha256: string;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** A job's latest progress (src/workflow/jobs/progress.ts). */
export interface JobProgressTable {
  job_id: string;
  /** Which of the request's models the job is on (erase jobs unlearn one model after another). */
  model: number;
  phase: string;
  step: number;
  total: number;
  loss: number;
  /** JSON: [[step, loss], …] of the current model, thinned to at most a few hundred points. */
  curve: string;
  updated_at: string;
}

/** A registered model folder (src/workflow/assess/models.ts). */
export interface ModelsTable {
  id: string;
  path: string;
  /** Hex SHA-256 over the folder's weight files (name and content, in name order). */
  sha256: string;
  architecture: string;
  /** JSON: layers, width, heads, vocabulary, context. */
  summary: string;
  added_at: string;
}

export interface Database {
  requests: RequestsTable;
  request_history: RequestHistoryTable;
  audit_entries: AuditEntriesTable;
  audit_checkpoints: AuditCheckpointsTable;
  jobs: JobsTable;
  job_steps: JobStepsTable;
  corpora: CorporaTable;
  assessments: AssessmentsTable;
  certificates: CertificatesTable;
  api_tokens: ApiTokensTable;
  job_progress: JobProgressTable;
  models: ModelsTable;
}
