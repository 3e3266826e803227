import { resolve } from 'node:path';

// Workflow defaults that the CLI shows in its help, kept apart from the modules that need the database drivers so
// that `lethe --help` and the other commands do not load them.

/** How long a claimed job's lease lasts; a heartbeat renews it every third of it. */
export const DEFAULT_LEASE_MS = 120_000;

/** The audit log's origin line in checkpoints. */
export const DEFAULT_ORIGIN = 'lethe/audit';

export const DEFAULT_DATA_DIR = '.lethe';

/** The data directory the embedded store, corpus indexes, keys and job outputs live in. */
export function dataDirOf(o: { dataDir?: string } = {}): string {
  return resolve(o.dataDir ?? process.env['LETHE_HOME'] ?? DEFAULT_DATA_DIR);
}
