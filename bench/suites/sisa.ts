/**
 * The `sisa` suite: exact unlearning on persons. For each S (LETHE_BENCH_SISA_SHARDS, default 2,4,8; R = 4 slices,
 * by subject), an ensemble is trained on the embedded target's data (bios, QA, world set); then one forget01 person and
 * the forget10 batch are erased. Peer: one model trained with the same recipe on everything minus forget10 — the
 * full retrain that exact unlearning replaces, and the gold standard the erased ensemble is compared with.
 * One line per S: erasure wall time for one person against that retrain (ratio = speed-up); the forget10 erasure and a
 * whole-ensemble retrain; quality against the single model (retained persons' exact answers and answer probability,
 * world perplexity); forget quality (KS p of forget10 truth ratios) of the erased ensemble against the single model;
 * checkpoint storage; and forget quality against the ensemble's own recipe retrained without forget10 (seed 2), before
 * and after the erasure. Model: 4 layers, d 128 (the domain models' shape). Equal budgets: the single model trains
 * LETHE_BENCH_SISA_EPOCHS epochs (default 6), each of an ensemble's R stages 2·epochs/(R+1), so every record is seen
 * as often on average.
 * Everything is written under .bench-out/sisa/.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatJsonl, readTrainingRecords } from '../../src/data/jsonl.ts';
import { loadPersonsSets } from '../../src/eval/datasets.ts';
import { forgetQuality } from '../../src/eval/forget-quality.ts';
import { answerQuality } from '../../src/eval/memorisation.ts';
import { answerProbability, perplexity } from '../../src/eval/probability.ts';
import { scoreQaSet } from '../../src/eval/qa-scores.ts';
import { truthRatios } from '../../src/eval/truth-ratio.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import { qaTokens } from '../../src/model/qa-format.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { asWritten } from '../../src/train/sisa/assign.ts';
import { sisaErase } from '../../src/train/sisa/erase.ts';
import { loadAnyModel } from '../../src/train/sisa/load.ts';
import { trainEnsemble } from '../../src/train/sisa/train-ensemble.ts';
import { tokenizeItems } from '../../src/unlearn/data.ts';
import { evenSample } from '../../src/util/sample.ts';
import { makeLine, round } from '../lib/report.ts';
import type { Suite } from '../lib/types.ts';

const OUT = '.bench-out/sisa';
const PERSONS = 'data/persons';
const TOKENIZER = 'models/tokenizer';
const SHAPE = { arch: 'gpt2' as const, layers: 4, dModel: 128, heads: 4, context: 192 };

function envList(name: string, fallback: number[]): number[] {
  const v = process.env[name];
  return v ? v.split(',').map((x) => Number(x.trim())) : fallback;
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const s = statSync(p);
    total += s.isDirectory() ? folderBytes(p) : s.size;
  }
  return total;
}

function seconds<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, (performance.now() - t) / 1000];
}

/** The data files the bench trains on and erases. */
function dataFiles(): { all: string; minus10: string; person: string; forget10: string } {
  mkdirSync(OUT, { recursive: true });
  const manifest = loadPersonsManifest();
  const records = ['bios.jsonl', 'all_qa.jsonl', 'world_qa.jsonl', 'world_text.jsonl'].flatMap((f) => readTrainingRecords(join(PERSONS, f)));
  const forget10 = new Set(manifest['forget10']!);
  const person = manifest['forget01']![0]!;
  const write = (name: string, rs: typeof records) => {
    const path = join(OUT, name);
    writeFileSync(path, formatJsonl(rs.map(asWritten)));
    return path;
  };
  return {
    all: write('all.jsonl', records),
    minus10: write('minus-forget10.jsonl', records.filter((r) => !r.subject || !forget10.has(r.subject))),
    person: write('person.jsonl', records.filter((r) => r.subject === person)),
    forget10: write('forget10.jsonl', records.filter((r) => r.subject && forget10.has(r.subject))),
  };
}

function loadPersonsManifest(): Record<string, string[]> {
  return (JSON.parse(readFileSync(join(PERSONS, 'manifest.json'), 'utf8')) as { splits: Record<string, string[]> }).splits;
}

interface Quality { exact: number; retainProb: number; worldPpl: number }

export const sisaSuite: Suite = {
  name: 'sisa',
  description: 'SISA on persons: erasure time of one person / forget10 against retraining one model and the whole ensemble, quality and forget quality against the single retrained model, storage, for S = 2, 4, 8',
  cases: ['shards'],
  async run(_options, emit) {
    const files = dataFiles();
    const tok = Tokenizer.fromDir(TOKENIZER);
    const padId = tok.padId ?? tok.eosId ?? 0;
    const epochs = Number(process.env['LETHE_BENCH_SISA_EPOCHS'] ?? 6);
    const slices = 4;
    // Equal training budgets (Bourtoule et al., §V-B): with R cumulative stages of e' epochs each, slice j is seen
    // (R − j)·e' times, e'(R+1)/2 on average; e' = 2e/(R+1) makes that e, as for the single model (R = 1). Without
    // it the shards would see their data 2.5× as often as the peer (R = 4), and both the time and the quality
    // comparisons would flatter or blame the ensemble for training it did not need.
    const stageFor = (r: number) => ({ epochs: (2 * epochs) / (r + 1), batchSize: 32, lr: 2e-3, warmupSteps: 50, weightDecay: 0, clip: 1, seed: 1 });
    const sets = loadPersonsSets(PERSONS, 'forget10');
    const retainQa = evenSample(sets.retain, 100);
    const world = tokenizeItems(readTrainingRecords(join(PERSONS, 'world_text.jsonl')), tok, SHAPE.context);
    const retainItems = retainQa.map((q) => qaTokens(tok, q.question, q.answer));
    const quality = (m: CausalLM): Quality => ({
      exact: answerQuality(m, tok, retainQa).exactMatch, retainProb: answerProbability(m, retainItems, padId), worldPpl: perplexity(m, world, padId),
    });
    const forgetTrs = (m: CausalLM) => {
      const s = scoreQaSet(m, tok, sets.forget, padId);
      return truthRatios(s.paraphrased, s.perturbed);
    };

    // The peer: one model on everything minus forget10, the same recipe (one shard, one slice).
    const singleDir = join(OUT, 'single-minus-forget10');
    rmSync(singleDir, { recursive: true, force: true });
    process.stderr.write(`sisa: training one model on everything minus forget10 (${epochs} epochs) ...\n`);
    const [, single] = seconds(() => trainEnsemble({ data: [files.minus10], out: singleDir, tokenizerDir: TOKENIZER, fresh: SHAPE, shards: 1, slices: 1, shardBy: 'record', options: stageFor(1) }));
    const singleModel = loadAnyModel(join(singleDir, 'shards', 'shard-0')).model;
    const singleQ = quality(singleModel);
    const singleTrs = forgetTrs(singleModel);

    for (const S of envList('LETHE_BENCH_SISA_SHARDS', [2, 4, 8])) {
      const ens = join(OUT, `ensemble-S${S}`);
      for (const d of [ens, `${ens}-minus-person`, `${ens}-minus-forget10`]) rmSync(d, { recursive: true, force: true });
      process.stderr.write(`sisa: S=${S}: training the ensemble (${slices} slices) ...\n`);
      const [manifest, whole] = seconds(() => trainEnsemble({ data: [files.all], out: ens, tokenizerDir: TOKENIZER, fresh: SHAPE, shards: S, slices, shardBy: 'subject', options: stageFor(slices) }));
      const before = loadAnyModel(ens).model;
      const q = quality(before);
      const fqBefore = forgetQuality(forgetTrs(before), singleTrs).pValue;
      process.stderr.write(`sisa: S=${S}: erasing one person, then forget10 ...\n`);
      const [r1, t1] = seconds(() => sisaErase(ens, [files.person], `${ens}-minus-person`));
      const [r10, t10] = seconds(() => sisaErase(ens, [files.forget10], `${ens}-minus-forget10`));
      const erasedTrs = forgetTrs(loadAnyModel(`${ens}-minus-forget10`).model);
      const fqAfter = forgetQuality(erasedTrs, singleTrs).pValue;
      // The retain model of the ensemble's own recipe: the same S, R and stages on everything minus forget10, with
      // another seed (as TOFU's retain model shares the target's recipe). Against the single model the test also
      // sees "another kind of model"; against this one, only what training on forget10 left. Before the erasure it
      // must reject (the test's power), after it should not.
      const recipeDir = `${ens}-seed2-minus-forget10`;
      rmSync(recipeDir, { recursive: true, force: true });
      process.stderr.write(`sisa: S=${S}: training the same recipe on everything minus forget10, seed 2 ...\n`);
      trainEnsemble({ data: [files.minus10], out: recipeDir, tokenizerDir: TOKENIZER, fresh: SHAPE, shards: S, slices, shardBy: 'subject', options: { ...stageFor(slices), seed: 2 } });
      const recipeTrs = forgetTrs(loadAnyModel(recipeDir).model);
      const fqAfterRecipe = forgetQuality(erasedTrs, recipeTrs).pValue;
      const fqBeforeRecipe = forgetQuality(forgetTrs(before), recipeTrs).pValue;
      emit(makeLine({
        suite: 'sisa', caseName: `shards-${S}`, metric: 'ms', value: t1 * 1000, peer: 'one model retrained on everything minus forget10, same recipe',
        outcome: { ok: true, value: single * 1000, reps: 1, threads: null },
        extras: {
          shards: S, slices, epochs, stage_epochs: round(stageFor(slices).epochs), records: manifest.records.length,
          erase_person_s: round(t1), erase_person_shards: r1.retrained.length, erase_person_steps: r1.retrained.reduce((a, s) => a + s.steps, 0),
          erase_forget10_s: round(t10), erase_forget10_shards: r10.retrained.length, speedup_forget10_vs_single: round(single / t10),
          ensemble_train_s: round(whole), speedup_person_vs_ensemble: round(whole / t1),
          exact_retained: round(q.exact), single_exact_retained: round(singleQ.exact),
          retain_prob: round(q.retainProb), single_retain_prob: round(singleQ.retainProb),
          world_ppl: round(q.worldPpl), single_world_ppl: round(singleQ.worldPpl),
          forget_quality_after: round(fqAfter), forget_quality_before: round(fqBefore), forget_quality_goal: 0.05,
          forget_quality_after_vs_recipe: round(fqAfterRecipe), forget_quality_before_vs_recipe: round(fqBeforeRecipe),
          storage_mb: round(folderBytes(ens) / 2 ** 20), shard_folders_mb: round(folderBytes(join(ens, 'shards')) / 2 ** 20),
        },
      }));
    }
  },
};
