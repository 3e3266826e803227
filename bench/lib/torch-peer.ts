/**
 * The client side of a PyTorch peer script (e.g. bench/peers/torch_engine.py). The script is started once per
 * run with `--threads T` (and any further arguments the suite gives), greets with {"ready": true, "torch": version,
 * "threads": n}, then answers each {"case", "reps", "policy", …data} request with {"case", "metric", "value",
 * "reps"} or {"case", "error"}. It runs under findTorchPython()'s interpreter with peerEnv()'s environment.
 */
import { PeerProcess, type JsonObject } from './peer-process.ts';
import { findTorchPython, peerEnv, torchLabel } from './python.ts';
import type { TimingPolicy } from './timing.ts';
import type { Metric, PeerOutcome } from './types.ts';

/** `import torch` alone can take several seconds on a cold disk. */
const READY_TIMEOUT_MS = 120_000;

/** The least time a case may take on the peer before it is declared hung; LETHE_BENCH_PEER_TIMEOUT_S overrides. */
export function requestTimeoutFloor(): number {
  const s = Number(process.env['LETHE_BENCH_PEER_TIMEOUT_S']);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 120_000;
}

export interface TorchPeer {
  /**
   * Measures one case; `ourWallMs` (how long our side took) sizes the timeout. `data` (inputs our side made, e.g.
   * token ids) is sent along with the request; the whole reply comes back in `onReply` for fields beyond the value.
   */
  measure(caseName: string, metric: Metric, reps: number | null, policy: TimingPolicy, ourWallMs: number,
    data?: JsonObject, onReply?: (reply: JsonObject) => void): Promise<PeerOutcome>;
  /** "torch X" once started; null when the peer never started. */
  readonly version: string | null;
  close(): Promise<void>;
}

/** A peer that answers every case with the same note (torch missing, start-up failed, or --no-peer). */
export function absentPeer(note: string, version: string | null = null): TorchPeer {
  const outcome: PeerOutcome = version === null ? { ok: false, note } : { ok: false, note, version };
  return { measure: async () => outcome, version, close: async () => undefined };
}

/** The started peer process of a script, with its greeting, or why it could not start (as a note). */
export async function startTorchScript(script: string, threads: number, args: readonly string[] = []):
  Promise<{ ok: true; peer: PeerProcess; hello: JsonObject; version: string; threads: number | null } | { ok: false; note: string; version: string | null }> {
  const py = findTorchPython();
  if (!py.ok) return { ok: false, note: py.note, version: null };
  const version = torchLabel(py.torch);
  let started: { peer: PeerProcess; hello: JsonObject };
  try {
    started = await PeerProcess.start(py.python, ['-u', script, '--threads', String(threads), ...args], 'pytorch', READY_TIMEOUT_MS, peerEnv());
  } catch (err) {
    return { ok: false, note: `pytorch peer failed to start: ${(err as Error).message}`, version };
  }
  const { peer, hello } = started;
  const peerThreads = typeof hello['threads'] === 'number' ? hello['threads'] : null;
  process.stderr.write(`bench: pytorch ${String(hello['torch'])} via ${py.python} (${py.source}), ${peerThreads} threads\n`);
  return { ok: true, peer, hello, version: typeof hello['torch'] === 'string' ? torchLabel(hello['torch']) : version, threads: peerThreads };
}

export async function openTorchPeer(script: string, threads: number, args: readonly string[] = []): Promise<TorchPeer> {
  const started = await startTorchScript(script, threads, args);
  if (!started.ok) return absentPeer(started.note, started.version);
  const { peer, version, threads: peerThreads } = started;
  return {
    version,
    async measure(caseName, metric, reps, policy, ourWallMs, data, onReply) {
      // Generous: the peer may be much slower than us on a case, and the timeout only exists to prevent hangs.
      const timeoutMs = Math.max(requestTimeoutFloor(), 20 * ourWallMs);
      let reply: JsonObject;
      try {
        reply = await peer.request({ ...data, case: caseName, reps, policy: { ...policy } }, timeoutMs);
      } catch (err) {
        return { ok: false, note: (err as Error).message, version };
      }
      onReply?.(reply);
      return checkReply(reply, caseName, metric, peerThreads, version);
    },
    close: () => peer.close(),
  };
}

/** A reply counts only if it is for this case, in this metric, with a positive finite value. */
function checkReply(reply: JsonObject, caseName: string, metric: Metric, threads: number | null, version: string): PeerOutcome {
  if (typeof reply['error'] === 'string') return { ok: false, note: `pytorch peer error: ${reply['error']}`, version };
  const value = reply['value'];
  const reps = reply['reps'];
  if (reply['case'] !== caseName || reply['metric'] !== metric) {
    return { ok: false, note: `pytorch peer answered ${String(reply['case'])} in ${String(reply['metric'])}, expected ${caseName} in ${metric}`, version };
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || typeof reps !== 'number') {
    return { ok: false, note: `pytorch peer sent an unusable reply: ${JSON.stringify(reply).slice(0, 200)}`, version };
  }
  return { ok: true, value, reps, threads, version };
}
