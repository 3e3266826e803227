/**
 * The `train-step` suite: tokens/s of a whole GPT-2 training step (forward, cross-entropy, backward, AdamW) and
 * the peak resident memory, ours against PyTorch eager on the same shapes and thread count. Each side runs in
 * its own fresh process per case (so peak RSS belongs to that case), back to back.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { backend } from '../../src/engine/index.ts';
import { makeLine } from '../lib/report.ts';
import { findTorchPython, peerEnv, torchLabel } from '../lib/python.ts';
import type { PeerOutcome, ResultLine, Suite, SuiteOptions } from '../lib/types.ts';
import { TRAIN_STEP_SHAPES, type TrainStepResult } from '../workers/train-step-shapes.ts';

const OURS = fileURLToPath(new URL('../workers/train-step-ours.ts', import.meta.url));
const TORCH = fileURLToPath(new URL('../peers/torch_train_step.py', import.meta.url));
const TIMEOUT_MS = 20 * 60 * 1000;

/** Runs a worker and parses the JSON line it prints last. */
function runWorker(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<TrainStepResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${cmd} exited with ${signal ?? code}: ${err.trim().split('\n').slice(-3).join(' / ')}`));
      try {
        resolve(JSON.parse(last) as TrainStepResult);
      } catch {
        reject(new Error(`${cmd} printed no result: ${last.slice(0, 200)}`));
      }
    });
  });
}

export const trainStepSuite: Suite = {
  name: 'train-step',
  description: 'tokens/s and peak RSS of a GPT-2 training step (forward + backward + AdamW) vs PyTorch eager',
  cases: Object.keys(TRAIN_STEP_SHAPES),
  async run(options: SuiteOptions, emit: (line: ResultLine) => void): Promise<void> {
    const threads = backend().threads;
    const python = options.peers ? findTorchPython() : { ok: false as const, note: 'disabled with --no-peer' };
    const cases = options.cases.length > 0 ? options.cases : this.cases;
    for (const name of cases) {
      const shape = TRAIN_STEP_SHAPES[name]!;
      const steps = options.reps ?? shape.steps;
      const ours = await runWorker(process.execPath, ['--import', 'tsx', OURS, name, String(steps)]);
      let peer: TrainStepResult | null = null;
      let note = python.ok ? '' : python.note;
      if (python.ok) {
        try {
          peer = await runWorker(python.python, [TORCH, name, String(steps), String(threads)], peerEnv());
        } catch (e) {
          note = `torch peer failed: ${(e as Error).message}`;
        }
      }
      const outcome = (v: (r: TrainStepResult) => number): PeerOutcome =>
        peer ? { ok: true, value: v(peer), reps: peer.steps, threads: peer.threads } : { ok: false, note };
      const extras = {
        shape: `vocab ${shape.vocab}, ctx ${shape.ctx}, d ${shape.d}, ${shape.layers} layers, ${shape.heads} heads, batch ${shape.batch}`,
        threads: ours.threads, backend: backend().name, stat: 'median', reps: ours.steps,
        peer_version: python.ok ? torchLabel(python.torch) : null,
      };
      emit(makeLine({ suite: 'train-step', caseName: name, metric: 'tokens/s', value: ours.tokensPerSecond, peer: 'pytorch', outcome: outcome((r) => r.tokensPerSecond), extras }));
      emit(makeLine({ suite: 'train-step', caseName: `${name}-peak-rss`, metric: 'mb', value: ours.maxRssMb, peer: 'pytorch', outcome: outcome((r) => r.maxRssMb), extras }));
      process.stderr.write(`train-step/${name}: ours ${ours.tokensPerSecond.toFixed(0)} tok/s, ${ours.maxRssMb.toFixed(0)} MB | pytorch ${peer ? `${peer.tokensPerSecond.toFixed(0)} tok/s, ${peer.maxRssMb.toFixed(0)} MB` : 'n/a'}\n`);
    }
  },
};
