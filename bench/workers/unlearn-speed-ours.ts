/**
 * Our side of the unlearn-speed suite, in its own process: NPO with the library's default options through the shared
 * loop (runLossLoop with npoLoss and the default NLL retain term, exactly what `npo.run` composes), held after every
 * optimizer step so the suite can interleave it step by step with the PyTorch peer.
 *
 * Usage: unlearn-speed-ours.ts CASE TOTAL_STEPS. Speaks JSON lines like a peer: greets with
 * {"ready": true, "threads", "backend", "options", "params"} once the model and data are loaded, then each
 * {"step": i} line runs optimizer step i and answers with an OursStep (its wall time, its losses, and the padded
 * batches it used, which the suite hands to the peer so both sides do the same work). The guards are off: they are
 * not part of a step (a run checks every 10 steps), and the peer has none.
 *
 * The loop is synchronous, so the next request is read from stdin with a blocking read inside the onStep hook; the
 * step's time runs from the hook's return to its next call, so neither the wait nor the reply is counted.
 */
import { readSync, writeSync } from 'node:fs';
import { backend, poolStats } from '../../src/engine/index.ts';
import { createModel } from '../../src/model/checkpoint.ts';
import { parseConfig } from '../../src/model/config.ts';
import { initWeights } from '../../src/model/init.ts';
import type { UnlearnBatch } from '../../src/unlearn/batches.ts';
import { runLossLoop, type LossSpec } from '../../src/unlearn/loop.ts';
import { answerNll } from '../../src/unlearn/losses.ts';
import { npo, npoLoss } from '../../src/unlearn/methods/npo.ts';
import { parseOptions, resolveSchedule } from '../../src/unlearn/options.ts';
import { openContext } from '../../src/unlearn/run.ts';
import type { UnlearnContext } from '../../src/unlearn/types.ts';
import { UNLEARN_SPEED_CASES, type OursStep, type WireBatch } from './unlearn-speed-cases.ts';

const name = process.argv[2] ?? '';
const spec = UNLEARN_SPEED_CASES[name];
if (!spec) throw new Error(`unknown unlearn-speed case "${name}" (cases: ${Object.keys(UNLEARN_SPEED_CASES).join(', ')})`);
const totalSteps = Number(process.argv[3]);
if (!Number.isSafeInteger(totalSteps) || totalSteps < 1) throw new Error(`TOTAL_STEPS must be a positive integer, got "${process.argv[3]}"`);

function send(message: object): void {
  writeSync(1, `${JSON.stringify(message)}\n`);
}

const chunk = Buffer.alloc(1 << 16);
let pending = '';
/** The next line of stdin, blocking; null at end of input. */
function readLineSync(): string | null {
  for (;;) {
    const nl = pending.indexOf('\n');
    if (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      return line;
    }
    let n: number;
    try {
      n = readSync(0, chunk, 0, chunk.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
        continue;
      }
      if (code === 'EOF') return null;
      throw err;
    }
    if (n === 0) return null;
    pending += chunk.toString('utf8', 0, n);
  }
}

/** Waits for the next {"step"} request; false at end of input (the suite is done). */
function awaitStep(): boolean {
  for (let line = readLineSync(); line !== null; line = readLineSync()) {
    if (line.trim() === '') continue;
    const request = JSON.parse(line) as { step?: unknown };
    if (typeof request.step !== 'number') throw new Error(`expected {"step": n}, got ${line.slice(0, 200)}`);
    return true;
  }
  return false;
}

function wire(b: UnlearnBatch): WireBatch {
  const [B, L] = b.answers.ids.shape as [number, number];
  return {
    shape: [B, L],
    ids: Array.from(b.answers.ids.i32('unlearn-speed')),
    targets: Array.from(b.answers.targets.i32('unlearn-speed')),
    lengths: b.items.map((it) => it.prompt.length + it.answer.length),
  };
}

// The random-weight case takes its items (tokenized by the embedded model's tokenizer) from the embedded model's context.
let ctx: UnlearnContext = openContext('folder' in spec.model ? spec.model.folder : 'models/target', spec.forget, spec.retain).ctx;
if ('random' in spec.model) {
  // Same items (their ids fit the larger vocabulary), a GPT-2-shaped model with random weights.
  const model = createModel(parseConfig({ architectures: ['GPT2LMHeadModel'], ...spec.model.random }));
  initWeights(model, 1);
  ctx = { ...ctx, model, original: model.params.snapshot() };
}
const o = parseOptions(npo.options, [`steps=${totalSteps}`], 'npo');
if (o.retainLoss !== 'nll') throw new Error(`npo's default retain term changed to ${o.retainLoss}; the peer implements NLL only`);
const schedule = resolveSchedule(o, ctx.model.config.hiddenSize, ctx.forget.length);

send({
  ready: true, threads: backend().threads, backend: backend().name, params: ctx.model.params.flat.length,
  options: {
    lr: schedule.lr, beta: o.beta, alpha: o.alpha, gamma: o.gamma, clip: o.clip, weightDecay: o.weightDecay,
    warmupSteps: o.warmupSteps, batchSize: o.batchSize, retainBatchSize: o.retainBatchSize,
  },
});

// npo.run's loss spec, with the batches it is handed kept for the peer.
let forgetBatch: UnlearnBatch | null = null;
let retainBatch: UnlearnBatch | null = null;
const losses: LossSpec = {
  forget: (b, t) => { forgetBatch = b; return npoLoss(t.model, t.reference(), b, o.beta); },
  retain: (b, t) => { retainBatch = b; return answerNll(t.model, b); },
};

let stop = !awaitStep();
let started = performance.now();
if (!stop) {
  runLossLoop(ctx, o, losses, {
    onStep: (e) => {
      const ms = performance.now() - started;
      const f = forgetBatch!;
      const r = retainBatch!;
      const reply: OursStep = {
        step: e.step, ms, loss: e.loss, forgetLoss: e.parts['forget'] ?? Number.NaN, retainLoss: e.parts['retain'] ?? Number.NaN,
        tokens: f.realTokens + r.realTokens, forget: wire(f), retain: wire(r),
        maxRssMb: process.resourceUsage().maxRSS / 1024, poolPeakMb: poolStats().peakInUseBytes / 2 ** 20,
      };
      send(reply);
      if (e.step < e.totalSteps) stop = !awaitStep();
      started = performance.now();
    },
    shouldStop: () => stop,
  }, { guards: false });
}
