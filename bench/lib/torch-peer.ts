/**
 * The client side of a PyTorch peer script (e.g. bench/peers/torch_engine.py). The script is started once per
 * run with `--threads T`, greets with {"ready": true, "torch": version, "threads": n}, then answers each
 * {"case", "reps", "policy"} request with {"case", "metric", "value", "reps"} or {"case", "error"}.
 */
import { PeerProcess, type JsonObject } from './peer-process.ts';
import { findTorchPython } from './python.ts';
import type { TimingPolicy } from './timing.ts';
import type { Metric, PeerOutcome } from './types.ts';

/** `import torch` alone can take several seconds on a cold disk. */
const READY_TIMEOUT_MS = 120_000;

/** The least time a case may take on the peer before it is declared hung; LETHE_BENCH_PEER_TIMEOUT_S overrides. */
function requestTimeoutFloorMs(): number {
  const s = Number(process.env['LETHE_BENCH_PEER_TIMEOUT_S']);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 120_000;
}

export interface TorchPeer {
  /** Measures one case; `ourWallMs` (how long our side took) sizes the timeout. */
  measure(caseName: string, metric: Metric, reps: number | null, policy: TimingPolicy, ourWallMs: number):
    Promise<PeerOutcome>;
  close(): Promise<void>;
}

/** A peer that answers every case with the same note (torch missing, start-up failed, or --no-peer). */
export function absentPeer(note: string): TorchPeer {
  return { measure: async () => ({ ok: false, note }), close: async () => undefined };
}

export async function openTorchPeer(script: string, threads: number): Promise<TorchPeer> {
  const py = findTorchPython();
  if (!py.ok) return absentPeer(py.note);
  let started: { peer: PeerProcess; hello: JsonObject };
  try {
    started = await PeerProcess.start(py.python, ['-u', script, '--threads', String(threads)], 'pytorch', READY_TIMEOUT_MS);
  } catch (err) {
    return absentPeer(`pytorch peer failed to start: ${(err as Error).message}`);
  }
  const { peer, hello } = started;
  const peerThreads = typeof hello['threads'] === 'number' ? hello['threads'] : null;
  process.stderr.write(`bench: pytorch ${String(hello['torch'])} via ${py.python}, ${peerThreads} threads\n`);
  return {
    async measure(caseName, metric, reps, policy, ourWallMs) {
      // Generous: the peer may be much slower than us on a case, and the timeout only exists to prevent hangs.
      const timeoutMs = Math.max(requestTimeoutFloorMs(), 20 * ourWallMs);
      let reply: JsonObject;
      try {
        reply = await peer.request({ case: caseName, reps, policy: { ...policy } }, timeoutMs);
      } catch (err) {
        return { ok: false, note: (err as Error).message };
      }
      return checkReply(reply, caseName, metric, peerThreads);
    },
    close: () => peer.close(),
  };
}

/** A reply counts only if it is for this case, in this metric, with a positive finite value. */
function checkReply(reply: JsonObject, caseName: string, metric: Metric, threads: number | null): PeerOutcome {
  if (typeof reply['error'] === 'string') return { ok: false, note: `pytorch peer error: ${reply['error']}` };
  const value = reply['value'];
  const reps = reply['reps'];
  if (reply['case'] !== caseName || reply['metric'] !== metric) {
    return { ok: false, note: `pytorch peer answered ${String(reply['case'])} in ${String(reply['metric'])}, expected ${caseName} in ${metric}` };
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || typeof reps !== 'number') {
    return { ok: false, note: `pytorch peer sent an unusable reply: ${JSON.stringify(reply).slice(0, 200)}` };
  }
  return { ok: true, value, reps, threads };
}
