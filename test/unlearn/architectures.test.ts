// Every registered unlearning method and the evaluation metrics on the embedded models of both architectures (GPT-2,
// and Llama: RMSNorm, RoPE, SwiGLU, grouped-query attention, SentencePiece tokenizer): each method runs a step on real
// persons data without error, changes the weights and leaves them finite. What the methods achieve is the unlearn
// bench's business (bench/suites/unlearn.ts, which also runs SAGE sanitisation: its eigendecompositions take minutes
// here); this pins that they run on both. A few seconds per architecture on two cores.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readTrainingRecords } from '../../src/data/jsonl.ts';
import { loadPersonsSets, type EvalSets } from '../../src/eval/datasets.ts';
import { evaluateModel, referenceBaseline } from '../../src/eval/evaluate.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { tokenizeItems } from '../../src/unlearn/data.ts';
import { parseOptions } from '../../src/unlearn/options.ts';
import { METHODS } from '../../src/unlearn/registry.ts';
import type { UnlearnContext } from '../../src/unlearn/types.ts';
import { evenSample } from '../../src/util/sample.ts';
import { EMBEDDED } from '../../tools/unlearn-quality.ts';

const root = new URL('../../', import.meta.url).pathname;
const persons = join(root, 'data/persons');

/** One step on one item, guards off (a rollback would leave θ unchanged), checks on one sample. */
const ONE_STEP = ['steps=1', 'batchSize=1', 'retainBatchSize=1', 'checkEvery=1', 'checkSamples=1', 'maxRetainLossRise=0', 'maxUtilityLossRise=0'];
const SHORT: Record<string, string[]> = {
  'grad-ascent': ONE_STEP.filter((o) => !o.startsWith('retainBatchSize')),
  'task-vector': ONE_STEP.filter((o) => !o.startsWith('retainBatchSize')),
  'localized-ablation': ['topK=16', 'attributionItems=1', 'repairSteps=1', 'batchSize=1', 'checkEvery=1', 'checkSamples=1', 'maxRetainLossRise=0', 'maxUtilityLossRise=0'],
};

// Read once for both architectures: a forget10 and a retain90 QA pair, as `lethe unlearn` reads them, and a few items
// of each evaluation set, with the probe's attribute (country) for several retain persons and a forget one.
const FORGET = readTrainingRecords(join(persons, 'forget10.jsonl')).slice(21, 22);
const RETAIN = readTrainingRecords(join(persons, 'retain90.jsonl')).slice(1802, 1803);
const SETS: EvalSets = (() => {
  const s = loadPersonsSets(persons, 'forget10');
  const pick = (xs: EvalSets['forget'], n: number, attribute: string) => evenSample(xs.filter((q) => q.attribute === attribute), n);
  return {
    ...s, forget: [...pick(s.forget, 1, 'country'), ...pick(s.forget, 1, 'birth_date')], retain: [...pick(s.retain, 3, 'country'), ...pick(s.retain, 1, 'employer')],
    holdout: evenSample(s.holdout, 2), world: evenSample(s.world, 1),
  };
})();

function personsContext(dir: string): UnlearnContext {
  const { model } = loadModel(dir);
  const tokenizer = Tokenizer.fromDir(dir);
  const L = model.config.maxPositions;
  return {
    model, tokenizer, forget: tokenizeItems(FORGET, tokenizer, L), retain: tokenizeItems(RETAIN, tokenizer, L),
    padId: tokenizer.padId ?? tokenizer.eosId ?? 0, original: model.params.snapshot(),
  };
}

for (const embedded of EMBEDDED) {
  describe(`unlearning and evaluation on the embedded ${embedded.arch} target`, () => {
    const ctx = personsContext(join(root, embedded.target));

    test('is the architecture it claims', () => {
      assert.equal(ctx.model.config.architecture, embedded.architecture);
      assert.deepEqual([ctx.forget.length, ctx.retain.length], [1, 1]);
    });

    for (const method of METHODS) {
      test(`${method.name} runs and changes the weights`, () => {
        ctx.model.params.restore(ctx.original);
        const out = method.run(ctx, parseOptions(method.options, SHORT[method.name] ?? ONE_STEP, method.name), {});
        assert.notEqual(out.stopReason, 'non-finite');
        assert.ok(out.steps > 0, `${out.steps} steps`);
        assert.notDeepEqual(ctx.model.params.flat, ctx.original, 'no weight changed');
        assert.ok(ctx.model.params.flat.every(Number.isFinite));
      });
    }

    test('every evaluation metric runs on it, against itself as the reference', () => {
      ctx.model.params.restore(ctx.original);
      const sets = SETS;
      const options = { relearn: { steps: 1, evalEvery: 1, lr: 1e-4, batchSize: 1, seed: 0 }, relatedItems: 1, batchSize: 8 };
      const reference = referenceBaseline(ctx.model, ctx.tokenizer, sets, options);
      const e = evaluateModel({ name: embedded.arch, role: 'unlearned', dir: null, model: ctx.model, tokenizer: ctx.tokenizer, sets, reference, options });
      for (const v of [e.forget.probability, e.forget.rougeRecall, e.retain.probability, e.modelUtility, e.extractionStrength, e.exactMemorisation]) {
        assert.ok(v >= 0 && v <= 1, String(v));
      }
      // The target knows its forget persons: high probability and memorisation, distinguishable from the holdout.
      assert.ok(e.forget.probability > 0.8 && e.exactMemorisation > 0.8, `forget probability ${e.forget.probability}, memorisation ${e.exactMemorisation}`);
      assert.equal(e.forgetQuality, 1, 'identical truth ratios: KS p-value 1');
      assert.equal(e.privLeak, 0);
      assert.deepEqual(e.mia.map((m) => m.attack), ['loss', 'zlib', 'min-k', 'min-k++']);
      assert.deepEqual(e.relearn.map((r) => [r.mode, r.steps]), [['forget-part', [0, 1]], ['related', [0, 1]]]);
      assert.equal(e.probeSkipped, undefined);
      assert.ok(e.probe !== null && e.probe.probeAccuracy >= 0 && e.probe.probeAccuracy <= 1);
    });
  });
}
