/**
 * A long-lived peer process speaking JSON lines: one request line on its stdin, one reply line on its stdout.
 * Every wait has a timeout, and a timeout, crash or bad reply kills the process and turns into an error that the
 * caller reports as a note; the harness never hangs on a peer. Children are killed when the harness exits, even
 * on an uncaught error or Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export type JsonObject = { [key: string]: unknown };

const live = new Set<ChildProcess>();
let hooksInstalled = false;

/** Kills every live child when this process ends, however it ends. */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const child of live) killTree(child);
  });
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => process.exit(code));
  }
}

/**
 * The peer runs in its own process group (spawned detached), so this also ends anything it started; a plain
 * kill of the direct child could leave a grandchild holding the pipes (and the CPU the next case is timed on).
 */
function killTree(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

export class PeerProcess {
  private readonly child: ChildProcess;
  private readonly label: string;
  private pending: { resolve: (o: JsonObject) => void; reject: (e: Error) => void } | null = null;
  private stderrTail = '';
  /** Why the process is no longer usable; set once. */
  private deadReason: string | null = null;

  private constructor(command: string, args: readonly string[], label: string, env: NodeJS.ProcessEnv | undefined) {
    installExitHooks();
    this.label = label;
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, ...(env ? { env } : {}) });
    live.add(this.child);
    // The peer's diagnostics go to our stderr, prefixed, and the tail is kept to explain a crash.
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-2000);
      for (const l of chunk.split('\n')) if (l.trim() !== '') process.stderr.write(`[${label}] ${l}\n`);
    });
    createInterface({ input: this.child.stdout! }).on('line', (l) => this.onLine(l));
    this.child.on('error', (err) => this.fail(`could not start: ${err.message}`));
    this.child.on('exit', (code, signal) => {
      live.delete(this.child);
      // Give its last stderr lines a moment to arrive (they explain the exit), but do not wait on pipes that a
      // leftover grandchild may hold open.
      const report = (): void => {
        const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
        this.fail(`process exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}`);
      };
      const timer = setTimeout(report, 200);
      this.child.once('close', () => { clearTimeout(timer); report(); });
    });
    // A peer that dies between requests must not crash us with EPIPE.
    this.child.stdin!.on('error', () => undefined);
  }

  /**
   * Starts the process and waits for its first line (a readiness handshake, e.g. after `import torch`). `env`
   * replaces our environment in the child (a peer gets peerEnv() from python.ts); without it the child inherits ours.
   */
  static async start(command: string, args: readonly string[], label: string, readyTimeoutMs: number,
    env?: NodeJS.ProcessEnv): Promise<{ peer: PeerProcess; hello: JsonObject }> {
    const peer = new PeerProcess(command, args, label, env);
    const hello = await peer.next(readyTimeoutMs, 'start-up');
    return { peer, hello };
  }

  /** Sends one request and waits for its reply. */
  request(message: JsonObject, timeoutMs: number): Promise<JsonObject> {
    if (this.deadReason !== null) return Promise.reject(new Error(this.deadReason));
    this.child.stdin!.write(`${JSON.stringify(message)}\n`);
    return this.next(timeoutMs, `case ${String(message['case'])}`);
  }

  /** Ends the process: closing stdin lets it exit cleanly; SIGKILL follows if it does not within a second. */
  async close(): Promise<void> {
    if (!live.has(this.child)) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => killTree(this.child), 1000);
    await exited;
    clearTimeout(timer);
  }

  private next(timeoutMs: number, what: string): Promise<JsonObject> {
    if (this.deadReason !== null) return Promise.reject(new Error(this.deadReason));
    return new Promise<JsonObject>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(`no reply to ${what} within ${Math.round(timeoutMs / 1000)} s; process killed`);
      }, timeoutMs);
      this.pending = {
        resolve: (o) => { clearTimeout(timer); resolve(o); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
    });
  }

  private onLine(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.fail(`replied with a line that is not JSON: ${text.slice(0, 200)}`);
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.fail(`replied with JSON that is not an object: ${text.slice(0, 200)}`);
      return;
    }
    const p = this.pending;
    this.pending = null;
    if (p) p.resolve(parsed as JsonObject);
    else this.fail(`sent a line nobody asked for: ${text.slice(0, 200)}`);
  }

  /** Marks the process dead (first reason wins), kills it and fails the waiting request. */
  private fail(reason: string): void {
    if (this.deadReason === null) this.deadReason = `${this.label} ${reason}`;
    killTree(this.child);
    // Open pipes would keep our event loop (and so the harness) alive after the peer is gone.
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) stream?.destroy();
    const p = this.pending;
    this.pending = null;
    if (p) p.reject(new Error(this.deadReason));
  }
}
