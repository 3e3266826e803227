/**
 * Progress for long work: a redrawn bar with rate and ETA on a terminal, plain log lines (at most every few
 * seconds) when output goes to a file or CI.
 */
/** Where progress goes: process.stderr, or any sink with a write (a worker thread's direct write to fd 2). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  total: number;
  label: string;
  /** Unit of the rate shown, e.g. "tok/s". */
  unit: string;
  stream?: ProgressStream;
  /** Seconds between plain log lines (non-TTY). */
  logEvery?: number;
}

export class Progress {
  private readonly o: Required<Omit<ProgressOptions, 'stream'>> & { stream: ProgressStream };
  private readonly started = performance.now();
  private lastLog = 0;
  private amount = 0;

  constructor(options: ProgressOptions) {
    this.o = { logEvery: 10, stream: process.stderr, ...options };
  }

  private get tty(): boolean {
    return Boolean(this.o.stream.isTTY);
  }

  /** Reports `done` of `total` steps, `amount` more units of work since the last call, and a short status. */
  update(done: number, amount: number, status: string): void {
    this.amount += amount;
    const elapsed = (performance.now() - this.started) / 1000;
    // A rate over the first fraction of a second is noise (one step in a few microseconds reads as thousands per second).
    const rate = elapsed > 0.5 ? this.amount / elapsed : NaN;
    const eta = done > 0 ? (elapsed / done) * (this.o.total - done) : NaN;
    const tail = `${done}/${this.o.total} ${status} ${Number.isNaN(rate) ? '--' : rate.toFixed(rate < 10 ? 1 : 0)} ${this.o.unit} ETA ${formatDuration(eta)}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round((done / Math.max(1, this.o.total)) * width);
      this.o.stream.write(`\r${this.o.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${tail}\x1b[K`);
      if (done >= this.o.total) this.o.stream.write('\n');
    } else if (elapsed - this.lastLog >= this.o.logEvery || done >= this.o.total || done === 1) {
      this.lastLog = elapsed;
      this.o.stream.write(`${this.o.label}: ${tail}\n`);
    }
  }

  /** A line that should not be overwritten by the bar (evaluation results, checkpoints). */
  note(text: string): void {
    this.o.stream.write(this.tty ? `\r${text}\x1b[K\n` : `${this.o.label}: ${text}\n`);
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}
