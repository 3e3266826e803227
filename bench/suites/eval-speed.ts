/**
 * The `eval-speed` suite: tokens/s of answer scoring — teacher-forced log-probs of each answer's tokens given its
 * prompt, the pass behind the evaluation's probability, truth-ratio and MIA metrics — ours (scoreAnswers at the
 * evaluation's batch size) against transformers' GPT-2 under torch.inference_mode(), on the same token ids. Each
 * side batches as it likes; both score every item once per rep. The line also says how far the two sides' per-item
 * mean log-probs are apart, which shows they computed the same thing.
 */
import { fileURLToPath } from 'node:url';
import { backend } from '../../src/engine/index.ts';
import { DEFAULT_EVALUATE } from '../../src/eval/evaluate.ts';
import { loadPersonsSets } from '../../src/eval/datasets.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { scoreAnswers, type PromptAnswer } from '../../src/model/logprobs.ts';
import { qaTokens } from '../../src/model/qa-format.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { runCases, type CaseSpec } from '../lib/case.ts';
import type { JsonObject } from '../lib/peer-process.ts';
import { DEFAULT_POLICY } from '../lib/timing.ts';
import { absentPeer, openTorchPeer, type TorchPeer } from '../lib/torch-peer.ts';
import type { Suite } from '../lib/types.ts';

const SCRIPT = fileURLToPath(new URL('../peers/torch_eval_speed.py', import.meta.url));
const MODEL = 'models/target';

interface EvalCase {
  /** The persons split whose forget set is scored. */
  split: string;
}

const CASES: Readonly<Record<string, EvalCase>> = {
  'forget10-answers': { split: 'forget10' },
};

export const evalSpeedSuite: Suite = {
  name: 'eval-speed',
  description: 'tokens/s of teacher-forced answer scoring (the evaluation\'s log-prob pass) on the embedded GPT-2 vs transformers under torch.inference_mode',
  cases: Object.keys(CASES),
  async run(options, emit) {
    const be = backend();
    const { model } = loadModel(MODEL);
    const tokenizer = Tokenizer.fromDir(MODEL);
    const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
    const batchSize = DEFAULT_EVALUATE.batchSize;
    const torch: TorchPeer = options.peers ? await openTorchPeer(SCRIPT, be.threads, ['--model', MODEL]) : absentPeer('disabled with --no-peer');
    try {
      const names = options.cases.length > 0 ? options.cases : Object.keys(CASES);
      const specs: CaseSpec[] = [];
      const agreement = new Map<string, { ours: Float64Array | null; diff: number | null; peerBatch: number | null }>();
      for (const name of names) {
        const c = CASES[name]!;
        const items: PromptAnswer[] = loadPersonsSets('data/persons', c.split).forget.map((q) => qaTokens(tokenizer, q.question, q.answer));
        const tokens = items.reduce((n, it) => n + it.prompt.length + it.answer.length, 0);
        const answerTokens = items.reduce((n, it) => n + it.answer.length, 0);
        const check = { ours: null as Float64Array | null, diff: null as number | null, peerBatch: null as number | null };
        agreement.set(name, check);
        specs.push({
          suite: 'eval-speed', name, metric: 'tokens/s', stat: 'median', work: tokens,
          setup: () => () => { check.ours = scoreAnswers(model, items, { padId, batchSize }).mean; },
          peers: [{
            peer: 'pytorch',
            measure: (ours) => torch.measure(name, 'tokens/s', options.reps, DEFAULT_POLICY, ours.wallMs,
              { items: items.map((it) => [it.prompt, it.answer]), pad_id: padId } as unknown as JsonObject,
              (reply) => {
                if (typeof reply['batch_size'] === 'number') check.peerBatch = reply['batch_size'];
                const means = reply['means'];
                if (!Array.isArray(means) || !check.ours || means.length !== check.ours.length) return;
                let diff = 0;
                means.forEach((m, i) => { diff = Math.max(diff, Math.abs(Number(m) - check.ours![i]!)); });
                check.diff = diff;
              }),
          }],
          extras: {
            model: MODEL, items: items.length, tokens, answer_tokens: answerTokens, batch: batchSize,
            threads: be.threads, backend: be.name,
          },
        });
      }
      const failed = await runCases(specs, options.reps, DEFAULT_POLICY, (line) => {
        const check = agreement.get(line.case);
        const diff = check?.diff ?? null;
        // Largest |Δ| between the sides' per-item mean answer-token log-probs (float32 on both: ~1e-5 is agreement).
        line['max_logprob_diff'] = diff === null ? null : Number(diff.toPrecision(2));
        line['peer_batch'] = check?.peerBatch ?? null;
        emit(line);
      });
      if (failed.length > 0) throw new Error(`cases failed on our side: ${failed.join(', ')}`);
    } finally {
      await torch.close();
    }
  },
};
