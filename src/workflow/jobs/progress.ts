import type { Store } from '../store/open-store.ts';

/** One step of a job's optimisation, as the task thread reports it. */
export interface ProgressEvent {
  phase: string;
  step: number;
  total: number;
  loss: number;
}

export interface JobProgress {
  jobId: string;
  model: number;
  phase: string;
  step: number;
  total: number;
  loss: number;
  /** [step, loss] pairs of the current model's run. */
  curve: [number, number][];
  updatedAt: string;
}

/** Points kept per curve: when full, every other point goes, so the curve spans the whole run at half the density. */
const MAX_POINTS = 400;

/**
 * Records a running job's progress for live views (the API's progress route and event stream), at most once per
 * `everyMs` (and always on a run's last step), so a fast loop does not turn into a write per step. Progress is
 * informational: losing a write loses nothing the job's result or the audit log holds.
 */
export class ProgressRecorder {
  private curve: [number, number][] = [];
  private lastWrite = 0;
  private pending: Promise<void> = Promise.resolve();
  private phase = '';

  constructor(private readonly store: Store, private readonly jobId: string, private readonly model: number, private readonly everyMs = 1000) {}

  record(e: ProgressEvent): void {
    if (e.phase !== this.phase) {
      this.phase = e.phase;
      this.curve = [];
    }
    this.curve.push([e.step, e.loss]);
    if (this.curve.length > MAX_POINTS) this.curve = this.curve.filter((_, i) => i % 2 === 1 || i === this.curve.length - 1);
    const now = Date.now();
    if (now - this.lastWrite < this.everyMs && e.step < e.total) return;
    this.lastWrite = now;
    const row = {
      job_id: this.jobId, model: this.model, phase: e.phase, step: e.step, total: e.total, loss: Number.isFinite(e.loss) ? e.loss : 0,
      curve: JSON.stringify(this.curve), updated_at: new Date(now).toISOString(),
    };
    // Writes go one after another, each replacing the last.
    this.pending = this.pending.then(() => this.store.db.insertInto('job_progress').values(row)
      .onConflict((oc) => oc.column('job_id').doUpdateSet({ model: row.model, phase: row.phase, step: row.step, total: row.total, loss: row.loss, curve: row.curve, updated_at: row.updated_at }))
      .execute().then(() => undefined, () => undefined));
  }

  /** Waits for the writes under way. */
  flush(): Promise<void> {
    return this.pending;
  }
}

/** The latest progress of each of these jobs that has reported any. */
export async function jobProgress(store: Store, jobIds: readonly string[]): Promise<JobProgress[]> {
  if (jobIds.length === 0) return [];
  const rows = await store.db.selectFrom('job_progress').selectAll().where('job_id', 'in', [...jobIds]).execute();
  return rows.map((r) => ({
    jobId: r.job_id, model: r.model, phase: r.phase, step: r.step, total: r.total, loss: r.loss,
    curve: JSON.parse(r.curve) as [number, number][], updatedAt: r.updated_at,
  }));
}
