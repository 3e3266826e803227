// Each attack on a tiny model: a model trained on the facts (in the form the attack asks them) is found, an untrained
// one is not; the logit lens and the probe sweep against independent computations; seeds give identical results.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad, Tensor } from '../../src/engine/index.ts';
import { scoreAnswers } from '../../src/model/logprobs.ts';
import { qaTokens } from '../../src/model/qa-format.ts';
import { fewShotAttack, fewShotPrompts } from '../../src/eval/attacks/few-shot.ts';
import { inContextAttack, inContextPrompts } from '../../src/eval/attacks/in-context.ts';
import { hiddenAtPositions, readOut } from '../../src/eval/attacks/layers.ts';
import { logitLensAttack, tokenRank } from '../../src/eval/attacks/logit-lens.ts';
import { paraphraseAttack } from '../../src/eval/attacks/paraphrase.ts';
import { probeSweepAttack } from '../../src/eval/attacks/probe-sweep.ts';
import { continuations, spanTokens, type AttackPrompt } from '../../src/eval/attacks/prompts.ts';
import { samplingAttack } from '../../src/eval/attacks/sampling.ts';
import { DEFAULT_ATTACK_OPTIONS, type AttackResult } from '../../src/eval/attacks/types.ts';
import { probeAttribute } from '../../src/eval/probe.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import { createModel } from '../../src/model/checkpoint.ts';
import { parseConfig } from '../../src/model/config.ts';
import { initWeights } from '../../src/model/init.ts';
import { buildExamples } from '../../src/train/examples.ts';
import { train } from '../../src/train/trainer.ts';
import { factSets, tinyModel, tokenizer } from './attacks-fixture.ts';

const O = { ...DEFAULT_ATTACK_OPTIONS, contextFacts: 1, shots: 1, samples: 4 };
const tok = tokenizer();
const value = (r: AttackResult, key: string): number | null => r.measures.find((m) => m.key === key)?.value ?? null;

/** A tiny model trained on exactly these prompts and continuations (the attack's own form of the facts). */
function trainedOn(prompts: readonly AttackPrompt[], steps = 150): CausalLM {
  const model = createModel(parseConfig({ architectures: ['GPT2LMHeadModel'], vocab_size: tok.vocabSize, n_positions: 160, n_embd: 48, n_layer: 2, n_head: 2 }));
  initWeights(model, 3);
  // A QA record's prompt is `Question: <question>\nAnswer:`, so the attack prompt minus that frame is its "question".
  const records = prompts.map((p) => (p.prompt.startsWith('Question: ') && p.prompt.endsWith('\nAnswer:')
    ? { kind: 'qa' as const, question: p.prompt.slice('Question: '.length, -'\nAnswer:'.length), answer: p.continuation.trimStart() }
    : { kind: 'text' as const, text: p.prompt + p.continuation }));
  train(model, buildExamples(records, tok, 160), { steps, batchSize: 8, lr: 1e-2, minLr: 1e-3, warmupSteps: 10, clip: 1, seed: 1, padId: tok.eosId! }, {}, [], false);
  return model;
}

const untrained = tinyModel(null);

test('in-context relearning and few-shot prompting find facts a model knows in that form, and not in an untrained one', () => {
  const sets = factSets();
  const icl = inContextPrompts(sets, O).prompts;
  const found = inContextAttack(trainedOn(icl), tok, sets, O);
  assert.equal(value(found, 'hit-rate'), 1);
  assert.ok(value(found, 'probability')! > 0.9, JSON.stringify(found));
  const none = inContextAttack(untrained, tok, sets, O);
  assert.equal(value(none, 'hit-rate'), 0);
  assert.ok(value(none, 'probability')! < 0.05);
  assert.deepEqual(found.measures.map((m) => [m.key, m.n]), [['hit-rate', 4], ['probability', 4]]);

  const shots = fewShotPrompts(sets, O).prompts;
  assert.equal(value(fewShotAttack(trainedOn(shots), tok, sets, O), 'hit-rate'), 1);
  assert.equal(value(fewShotAttack(untrained, tok, sets, O), 'hit-rate'), 0);
});

test('paraphrased and completion prompts: found where the model knows that form, each reported on its own', () => {
  const sets = factSets();
  // Trained on the plain-text sentences only: the completion form finds every fact.
  const model = trainedOn(sets.forget.map((q) => ({ prompt: q.answer, continuation: '', value: null })));
  const r = paraphraseAttack(model, tok, sets, O);
  assert.deepEqual(r.measures.map((m) => [m.key, m.n]), [['paraphrased-hit-rate', 2], ['paraphrased-probability', 2], ['completion-hit-rate', 4], ['completion-probability', 4]]);
  assert.equal(value(r, 'completion-hit-rate'), 1);
  assert.equal(value(paraphraseAttack(untrained, tok, sets, O), 'completion-hit-rate'), 0);
});

test('sampled extraction: a trained model is hit greedily and by sampling; the same seed gives the same result', () => {
  const sets = factSets();
  const model = tinyModel(sets);
  const r = samplingAttack(model, tok, sets, O);
  assert.equal(value(r, 'greedy-hit-rate'), 1);
  assert.equal(value(r, 'any-of-k'), 1);
  assert.equal(r.measures[1]!.label, 'any of 4 samples (T 1)');
  assert.equal(value(samplingAttack(untrained, tok, sets, O), 'any-of-k'), 0);
  // Determinism: the same seed, the same samples; another seed, other samples (of an untrained model: near-uniform).
  const prompts = sets.forget.map((q) => ({ prompt: `Question: ${q.question}\nAnswer:`, continuation: ` ${q.answer}`, value: null }));
  const a = continuations(untrained, tok, prompts, { samples: 3, temperature: 1, seed: 5, batchSize: 5 });
  assert.deepEqual(continuations(untrained, tok, prompts, { samples: 3, temperature: 1, seed: 5, batchSize: 5 }), a);
  assert.notDeepEqual(continuations(untrained, tok, prompts, { samples: 3, temperature: 1, seed: 6, batchSize: 5 }), a);
  assert.deepEqual(samplingAttack(model, tok, sets, { ...O, temperature: 1.5 }), samplingAttack(model, tok, sets, { ...O, temperature: 1.5 }));
});

test('logit lens: at the last layer it is the model\'s own output; every layer is reported', () => {
  const sets = factSets();
  const model = tinyModel(sets);
  const r = logitLensAttack(model, tok, sets, O);
  const probability = r.layers!.find((l) => l.key === 'probability')!.values;
  assert.equal(probability.length, model.config.numLayers);
  // Independent: the model's teacher-forced log-prob of the value's first token.
  const items = sets.forget.map((q) => spanTokens(tok, { prompt: `Question: ${q.question}\nAnswer:`, continuation: ` ${q.answer}`, value: sets.attributes!.get(q.attribute!)!.get(q.subject!)! }));
  const own = scoreAnswers(model, items, { padId: tok.eosId! }).tokenLogProbs.map((lp) => Math.exp(lp[0]!));
  const expected = own.reduce((s, x) => s + x, 0) / own.length;
  assert.ok(Math.abs(probability.at(-1)! - expected) < 1e-5, `${probability.at(-1)} vs ${expected}`);
  assert.equal(r.measures[0]!.key, 'max-top1');
  assert.equal(r.measures[0]!.value, Math.max(...r.layers!.find((l) => l.key === 'top1')!.values));
  assert.equal(r.measures[0]!.value, 1, 'a trained model ranks every value first at the last layer');
  // readOut of the last layer's hidden state is the model's logits row, for any position.
  const ids = qaTokens(tok, sets.forget[0]!.question, sets.forget[0]!.answer).prompt;
  const h = hiddenAtPositions(model, [ids], [ids.length - 1], tok.eosId!);
  const lens = readOut(model, [h[1]![0]!]);
  const logits = noGrad(() => model.forward(new Tensor(Int32Array.from(ids), [1, ids.length])).logits!.f32('test'));
  const V = model.config.vocabSize;
  const row = logits.subarray((ids.length - 1) * V, ids.length * V);
  lens.forEach((v, j) => assert.ok(Math.abs(v - row[j]!) < 1e-4, `logit ${j}`));
  const tr = tokenRank(Float32Array.of(1, 3, 2), 2);
  assert.equal(tr.rank, 2);
  assert.ok(Math.abs(tr.probability - Math.exp(2) / (Math.exp(1) + Math.exp(3) + Math.exp(2))) < 1e-15);
});

test('probe sweep: the hidden-state probe at every layer, the best one reported', () => {
  const sets = factSets();
  const model = tinyModel(sets, 100);
  const r = probeSweepAttack(model, tok, sets, { ...O, probeAttribute: 'city' });
  const curve = r.layers![0]!.values;
  assert.equal(curve.length, 2);
  // Oracle: probe.ts at each layer on the same examples.
  const ex = (items: typeof sets.retain) => items.filter((q) => q.attribute === 'city').map((q) => ({ ids: qaTokens(tok, q.question, q.answer).prompt, label: sets.attributes!.get('city')!.get(q.subject!)! }));
  curve.forEach((acc, layer) => assert.equal(acc, probeAttribute(model, ex(sets.retain), ex(sets.forget), { layer, padId: tok.eosId! }).probeAccuracy, `layer ${layer}`));
  assert.equal(r.measures[0]!.value, Math.max(...curve));
  assert.equal(curve[r.measures[0]!.layer!], Math.max(...curve));
  assert.equal(probeSweepAttack(model, tok, sets, O).notApplicable, 'the data has no attribute "country"');
  assert.deepEqual(probeSweepAttack(model, tok, sets, { ...O, probeAttribute: 'city' }), r, 'deterministic');
});
