/**
 * The `train-step` suite: tokens/s of a whole GPT-2 training step (forward, cross-entropy, backward, AdamW) and
 * the peak resident memory, ours against PyTorch eager on the same shapes and thread count. Each side runs in its
 * own fresh process per case (so peak RSS belongs to that case), and the suite alternates one step of ours with
 * one of the peer's, so that both are timed under the same machine load (this host's speed drifts by 20% within
 * minutes; one side's steps after the other's did not compare). Set-up and two warm-up steps are outside the timing.
 */
import { fileURLToPath } from 'node:url';
import { backend } from '../../src/engine/index.ts';
import { PeerProcess, type JsonObject } from '../lib/peer-process.ts';
import { makeLine } from '../lib/report.ts';
import { median } from '../lib/timing.ts';
import { requestTimeoutFloor, startTorchScript } from '../lib/torch-peer.ts';
import type { PeerOutcome, Suite, SuiteOptions } from '../lib/types.ts';
import { TRAIN_STEP_SHAPES, type TrainStepReply } from '../workers/train-step-shapes.ts';

const OURS = fileURLToPath(new URL('../workers/train-step-ours.ts', import.meta.url));
const TORCH = fileURLToPath(new URL('../peers/torch_train_step.py', import.meta.url));
/** Building a GPT-2-small (124 M random weights) and its two warm-up steps on a busy machine. */
const READY_MS = 10 * 60_000;
/** Only there to turn a hang into an error. */
const STEP_MS = 10 * 60_000;

function asReply(who: string, reply: JsonObject): TrainStepReply {
  if (typeof reply['error'] === 'string') throw new Error(`${who} error: ${reply['error']}`);
  if (typeof reply['ms'] !== 'number' || typeof reply['maxRssMb'] !== 'number') {
    throw new Error(`${who} sent an unusable reply: ${JSON.stringify(reply).slice(0, 200)}`);
  }
  return { ms: reply['ms'], maxRssMb: reply['maxRssMb'] };
}

export const trainStepSuite: Suite = {
  name: 'train-step',
  description: 'tokens/s and peak RSS of a GPT-2 training step (forward + backward + AdamW) vs PyTorch eager, steps alternated',
  cases: Object.keys(TRAIN_STEP_SHAPES),
  async run(options: SuiteOptions, emit): Promise<void> {
    const threads = backend().threads;
    for (const name of options.cases.length > 0 ? options.cases : this.cases) {
      const shape = TRAIN_STEP_SHAPES[name]!;
      const steps = options.reps ?? shape.steps;
      const ours = (await PeerProcess.start(process.execPath, ['--import', 'tsx', OURS, name], 'lethe', READY_MS)).peer;
      const torch = options.peers
        ? await startTorchScript(TORCH, threads, [name])
        : { ok: false as const, note: 'disabled with --no-peer', version: null };
      let note = torch.ok ? null : torch.note;
      const oursMs: number[] = [];
      const peerMs: number[] = [];
      let oursRss = 0;
      let peerRss = 0;
      try {
        for (let i = 1; i <= steps; i++) {
          const o = asReply('our worker', await ours.request({ step: i }, STEP_MS));
          oursMs.push(o.ms);
          oursRss = o.maxRssMb;
          if (torch.ok && note === null) {
            try {
              const p = asReply('pytorch peer', await torch.peer.request({ step: i }, Math.max(requestTimeoutFloor(), 20 * o.ms)));
              peerMs.push(p.ms);
              peerRss = p.maxRssMb;
            } catch (err) {
              note = (err as Error).message;
            }
          }
        }
      } finally {
        await ours.close();
        if (torch.ok) await torch.peer.close();
      }
      const tokens = shape.batch * shape.ctx;
      const peerOk = note === null && peerMs.length === steps;
      // Alternated with the peer's steps only when the peer ran them all.
      const outcome = (v: number): PeerOutcome =>
        peerOk && torch.ok ? { ok: true, value: v, reps: steps, threads: torch.threads ?? threads } : { ok: false, note: note ?? 'the pytorch peer has no timing' };
      const extras = {
        shape: `vocab ${shape.vocab}, ctx ${shape.ctx}, d ${shape.d}, ${shape.layers} layers, ${shape.heads} heads, batch ${shape.batch}`,
        threads, backend: backend().name, stat: 'median', reps: steps, interleaved: peerOk,
        peer_version: torch.version,
      };
      const oursTps = tokens / (median(oursMs) / 1000);
      const peerTps = peerOk ? tokens / (median(peerMs) / 1000) : 0;
      emit(makeLine({ suite: 'train-step', caseName: name, metric: 'tokens/s', value: oursTps, peer: 'pytorch', outcome: outcome(peerTps), extras }));
      emit(makeLine({ suite: 'train-step', caseName: `${name}-peak-rss`, metric: 'mb', value: oursRss, peer: 'pytorch', outcome: outcome(peerRss), extras }));
      process.stderr.write(`train-step/${name}: ours ${oursTps.toFixed(0)} tok/s, ${oursRss.toFixed(0)} MB | pytorch ${peerOk ? `${peerTps.toFixed(0)} tok/s, ${peerRss.toFixed(0)} MB` : 'n/a'}\n`);
    }
  },
};
