import { type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * Migrations, versioned in code and applied in name order; one set serves SQLite and PostgreSQL (portable column
 * types only). A released migration is never edited: a change is a new entry.
 */
const MIGRATIONS: Record<string, Migration> = {
  '0001_requests_jobs_audit': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('idempotency_key', 'text', (c) => c.unique())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('legal_ground', 'text', (c) => c.notNull())
        .addColumn('requester', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('paused_from', 'text')
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('identity_requested', 'integer', (c) => c.notNull())
        .addColumn('identity_verified_at', 'text')
        .addColumn('due_at', 'text')
        .addColumn('extension_until', 'text')
        .addColumn('extension_reason', 'text')
        .addColumn('decision', 'text')
        .addColumn('decision_reason', 'text')
        .addColumn('decision_text', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('requests_state').on('requests').columns(['state', 'due_at']).execute();
      await db.schema.createTable('request_history')
        .addColumn('request_id', 'text', (c) => c.notNull().references('requests.id'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('from_state', 'text')
        .addColumn('to_state', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addPrimaryKeyConstraint('request_history_pk', ['request_id', 'seq'])
        .execute();
      await db.schema.createTable('audit_entries')
        .addColumn('seq', 'integer', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('request_id', 'text', (c) => c.notNull().references('requests.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('lease_until', 'text')
        .addColumn('fencing_token', 'integer', (c) => c.notNull())
        .addColumn('worker', 'text')
        .addColumn('heartbeat_at', 'text')
        .addColumn('last_error', 'text')
        .addColumn('input', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_claim').on('jobs').columns(['state', 'lease_until']).execute();
      await db.schema.createTable('job_steps')
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('done_at', 'text', (c) => c.notNull())
        .addColumn('output', 'text')
        .addPrimaryKeyConstraint('job_steps_pk', ['job_id', 'step'])
        .execute();
      await db.schema.createTable('corpora')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull().unique())
        .addColumn('records', 'integer', (c) => c.notNull())
        .addColumn('index_path', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('assessments')
        .addColumn('request_id', 'text', (c) => c.primaryKey().references('requests.id'))
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0002_audit_merkle': {
    async up(db: Kysely<unknown>): Promise<void> {
      // The leaf hash of each entry (RFC 6962), and the signed checkpoints of the tree.
      await db.schema.alterTable('audit_entries').addColumn('leaf_hash', 'text').execute();
      await db.schema.createTable('audit_checkpoints')
        .addColumn('size', 'integer', (c) => c.primaryKey())
        .addColumn('root', 'text', (c) => c.notNull())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0003_certificates': {
    async up(db: Kysely<unknown>): Promise<void> {
      // One certificate per request; the salt of its subject commitment stays here, never in the certificate.
      await db.schema.createTable('certificates')
        .addColumn('request_id', 'text', (c) => c.primaryKey().references('requests.id'))
        .addColumn('salt', 'text', (c) => c.notNull())
        .addColumn('envelope', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0004_verification': {
    async up(db: Kysely<unknown>): Promise<void> {
      // A request's overrides of the verification bar (JSON), and a corpus's non-member reference file (holdout).
      await db.schema.alterTable('requests').addColumn('verification', 'text').execute();
      await db.schema.alterTable('corpora').addColumn('holdout_path', 'text').execute();
      await db.schema.alterTable('corpora').addColumn('holdout_sha256', 'text').execute();
    },
  },
  '0005_api_tokens': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Bearer tokens of the HTTP API: only the SHA-256 of each secret is kept.
      await db.schema.createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('secret_sha256', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
    },
  },
  '0006_job_progress': {
    async up(db: Kysely<unknown>): Promise<void> {
      // A running job's latest step and loss curve, for live views; not evidence (the job's result is).
      await db.schema.createTable('job_progress')
        .addColumn('job_id', 'text', (c) => c.primaryKey().references('jobs.id'))
        .addColumn('model', 'integer', (c) => c.notNull())
        .addColumn('phase', 'text', (c) => c.notNull())
        .addColumn('step', 'integer', (c) => c.notNull())
        .addColumn('total', 'integer', (c) => c.notNull())
        .addColumn('loss', 'real', (c) => c.notNull())
        .addColumn('curve', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0007_models': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Model folders registered for requests to name: where, which weights (hash), what shape.
      await db.schema.createTable('models')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('architecture', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('models_path_sha').on('models').columns(['path', 'sha256']).unique().execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};

/** The newest migration's name: a store whose newest applied migration is later was made by a newer Lethe. */
export const LATEST_MIGRATION = Object.keys(MIGRATIONS).sort().at(-1)!;
