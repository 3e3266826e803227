/**
 * The `unlearn-speed` suite: optimizer steps per second of NPO with the library's default options — both models
 * forward (the trained one and the frozen reference), the NPO loss, the α-weighted retain NLL, backward, gradient
 * clipping, AdamW — ours against the same loop written in PyTorch the way open-unlearning runs it (transformers'
 * GPT-2, a deep-copied reference under no_grad). Our side runs in a worker process that holds after each step; the
 * suite alternates one step of ours and one of the peer's, and the peer is handed the very batches ours used, so
 * both do the same work under the same machine load. Loading and set-up are outside the timing; the first steps
 * are warm-up.
 */
import { fileURLToPath } from 'node:url';
import { PeerProcess, type JsonObject } from '../lib/peer-process.ts';
import { makeLine, round } from '../lib/report.ts';
import { median } from '../lib/timing.ts';
import { requestTimeoutFloor, startTorchScript } from '../lib/torch-peer.ts';
import type { ExtraValue, PeerOutcome, ResultLine, Suite } from '../lib/types.ts';
import { UNLEARN_SPEED_CASES, type OursStep, type UnlearnSpeedCase } from '../workers/unlearn-speed-cases.ts';

const WORKER = fileURLToPath(new URL('../workers/unlearn-speed-ours.ts', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../peers/torch_unlearn_speed.py', import.meta.url));
/** Loading the model and data (and, for GPT-2-small, initialising 124 M weights) on a busy machine. */
const OURS_READY_MS = 10 * 60_000;
/** Only there to turn a hang into an error: a GPT-2-small step takes about a minute here. */
const OURS_STEP_MS = 20 * 60_000;

function asStep(reply: JsonObject): OursStep {
  if (typeof reply['ms'] !== 'number' || typeof reply['forget'] !== 'object' || typeof reply['retain'] !== 'object') {
    throw new Error(`our worker sent an unusable reply: ${JSON.stringify(reply).slice(0, 200)}`);
  }
  return reply as unknown as OursStep;
}

function describeModel(c: UnlearnSpeedCase): string {
  if ('folder' in c.model) return c.model.folder;
  const m = c.model.random;
  return `random GPT-2: vocab ${m.vocab_size}, ctx ${m.n_positions}, d ${m.n_embd}, ${m.n_layer} layers, ${m.n_head} heads`;
}

type PeerStart = Awaited<ReturnType<typeof startTorchScript>>;

async function runOne(name: string, reps: number | null, peers: boolean, emit: (line: ResultLine) => void): Promise<void> {
  const c = UNLEARN_SPEED_CASES[name]!;
  const timed = reps ?? c.steps;
  const total = c.warmupSteps + timed;
  const started = await PeerProcess.start(process.execPath, ['--import', 'tsx', WORKER, name, String(total)], 'lethe', OURS_READY_MS);
  const ours = started.peer;
  let torch: PeerStart | null = null;
  try {
    const hello = started.hello;
    const threads = hello['threads'] as number;
    const o = hello['options'] as Record<string, number>;
    const modelArgs = 'folder' in c.model ? ['--model', c.model.folder] : ['--random', JSON.stringify(c.model.random)];
    torch = peers
      ? await startTorchScript(SCRIPT, threads, [...modelArgs, '--options', JSON.stringify(o)])
      : { ok: false, note: 'disabled with --no-peer', version: null };
    let peerNote = torch.ok ? null : torch.note;

    const oursMs: number[] = [];
    const peerMs: number[] = [];
    const tokens: number[] = [];
    const lengths: number[] = [];
    let lastStep: OursStep | null = null;
    let firstLoss: number | null = null;
    let peerFirstLoss: number | null = null;
    for (let i = 1; i <= total; i++) {
      const s = asStep(await ours.request({ case: name, step: i }, OURS_STEP_MS));
      const warm = i <= c.warmupSteps;
      lastStep = s;
      if (i === 1) firstLoss = s.loss;
      if (!warm) oursMs.push(s.ms);
      tokens.push(s.tokens);
      lengths.push(s.forget.shape[1], s.retain.shape[1]);
      let peerText = 'n/a';
      if (torch.ok && peerNote === null) {
        try {
          const p = await torch.peer.request({ case: name, step: i, forget: s.forget, retain: s.retain } as unknown as JsonObject,
            Math.max(requestTimeoutFloor(), 20 * s.ms));
          if (typeof p['error'] === 'string') throw new Error(`pytorch peer error: ${p['error']}`);
          if (typeof p['ms'] !== 'number') throw new Error(`pytorch peer sent an unusable reply: ${JSON.stringify(p).slice(0, 200)}`);
          if (i === 1) peerFirstLoss = p['loss'] as number;
          if (!warm) peerMs.push(p['ms']);
          peerText = `${p['ms'].toFixed(0)} ms`;
        } catch (err) {
          peerNote = (err as Error).message;
        }
      }
      process.stderr.write(`unlearn-speed/${name}: step ${i}/${total}${warm ? ' (warm-up)' : ''}: ours ${s.ms.toFixed(0)} ms | pytorch ${peerText}\n`);
    }

    const value = 1000 / median(oursMs);
    const version = torch.version ?? null;
    const outcome: PeerOutcome = peerNote === null && peerMs.length === timed && torch.ok
      ? { ok: true, value: 1000 / median(peerMs), reps: peerMs.length, threads: torch.threads, ...(version ? { version } : {}) }
      : { ok: false, note: peerNote ?? 'the pytorch peer has no timing', ...(version ? { version } : {}) };
    const extras: Record<string, ExtraValue> = {
      model: describeModel(c), params: hello['params'] as number, threads, backend: hello['backend'] as string,
      stat: 'median', reps: timed, warmup_steps: c.warmupSteps,
      step_ms: round(median(oursMs)), peer_step_ms: peerMs.length > 0 ? round(median(peerMs)) : null,
      batch: `forget ${o['batchSize']} + retain ${o['retainBatchSize']} rows, L ${Math.min(...lengths)}–${Math.max(...lengths)}`,
      tokens_per_step: round(tokens.reduce((a, b) => a + b, 0) / tokens.length),
      max_rss_mb: lastStep ? round(lastStep.maxRssMb) : null, pool_peak_mb: lastStep ? round(lastStep.poolPeakMb) : null,
      options: `npo defaults: lr ${round(o['lr']!)}, beta ${o['beta']}, alpha ${o['alpha']}, gamma ${o['gamma']}, clip ${o['clip']}, weightDecay ${o['weightDecay']}`,
    };
    // The same weights and batch on both sides only when both load the same folder: then the first step's losses agree.
    if ('folder' in c.model) {
      extras['step1_loss'] = firstLoss === null ? null : round(firstLoss);
      extras['peer_step1_loss'] = peerFirstLoss === null ? null : round(peerFirstLoss);
    }
    const line = makeLine({ suite: 'unlearn-speed', caseName: name, metric: 'steps/s', value, peer: 'pytorch', outcome, extras });
    line.peer_version = version;
    if (torch.ok) {
      line['peer_transformers'] = torch.hello['transformers'] as string;
      line['peer_attention'] = torch.hello['attention'] as string;
      line['peer_optimizer'] = torch.hello['optimizer'] as string;
      line['peer_params'] = torch.hello['params'] as number;
    }
    emit(line);
  } finally {
    await ours.close();
    if (torch?.ok) await torch.peer.close();
  }
}

export const unlearnSpeedSuite: Suite = {
  name: 'unlearn-speed',
  description: 'steps/s of NPO with its default options (both models forward, NPO + retain loss, backward, AdamW) vs the same loop in PyTorch + transformers, on the same batches',
  cases: Object.keys(UNLEARN_SPEED_CASES),
  async run(options, emit) {
    const failed: string[] = [];
    for (const name of options.cases.length > 0 ? options.cases : this.cases) {
      try {
        await runOne(name, options.reps, options.peers, emit);
      } catch (err) {
        failed.push(name);
        process.stderr.write(`unlearn-speed/${name}: FAILED: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      }
    }
    if (failed.length > 0) throw new Error(`cases failed on our side: ${failed.join(', ')}`);
  },
};
