/**
 * Our side of a train-step case, in a fresh process so its peak RSS is this case's alone: a GPT-2-shaped model
 * (random init), random tokens, forward + cross-entropy + backward + AdamW.
 *
 * Usage: train-step-ours.ts CASE. Speaks JSON lines like a peer (bench/lib/peer-process.ts), so that the suite can
 * alternate its steps with the PyTorch peer's: after two warm-up steps it greets with {"ready": true, "threads"},
 * then answers each {"step": i} line with a TrainStepReply (that step's wall time and the peak RSS so far).
 */
import { createInterface } from 'node:readline';
import { AdamW, backend, backward, crossEntropy, pooled, Rng, setMatmulPrecision, Tensor } from '../../src/engine/index.ts';
import { createModel } from '../../src/model/checkpoint.ts';
import { parseConfig } from '../../src/model/config.ts';
import { initWeights } from '../../src/model/init.ts';
import { TRAIN_STEP_SHAPES, type TrainStepReply } from './train-step-shapes.ts';

const name = process.argv[2] ?? '';
const shape = TRAIN_STEP_SHAPES[name];
if (!shape) throw new Error(`unknown train-step case "${name}"`);
setMatmulPrecision(shape.precision);

const model = createModel(parseConfig({
  architectures: ['GPT2LMHeadModel'], vocab_size: shape.vocab, n_positions: shape.ctx, n_embd: shape.d,
  n_layer: shape.layers, n_head: shape.heads,
}));
initWeights(model, 1);
const opt = new AdamW(model.params.list(), { lr: 1e-4, weightDecay: 0.01 });
const rng = new Rng(2);
const tokens = (): Tensor => new Tensor(Int32Array.from({ length: shape.batch * shape.ctx }, () => Math.floor(rng.uniform() * shape.vocab)), [shape.batch, shape.ctx]);
const ids = tokens();
const targets = tokens();

/**
 * A step as the library's trainer runs it (src/train/trainer.ts): forward, loss and backward in a pooled scope, so
 * activations and gradients reuse the last step's buffers (src/engine/pool.ts), then AdamW outside it.
 */
function step(): void {
  pooled(() => {
    backward(crossEntropy(model.forward(ids).logits!, targets));
  });
  opt.update();
  opt.zeroGrad();
}

for (let i = 0; i < 2; i++) step();
const send = (message: object): void => { process.stdout.write(`${JSON.stringify(message)}\n`); };
send({ ready: true, threads: backend().threads });
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const t0 = performance.now();
  step();
  const reply: TrainStepReply = { ms: performance.now() - t0, maxRssMb: process.resourceUsage().maxRSS / 1024 };
  send(reply);
}
