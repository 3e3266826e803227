import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { memorisationFrom, memorisationScores, teacherForcedPredictions } from '../../src/eval/extraction.ts';
import { answerTokenStats, lossScore, membershipAuc, miaAucs, miaScores, miaScoresFrom, minKPlusPlusScore, minKScore, privLeak, referenceScore, vocabMoments, zlibCompressedSize, zlibScore } from '../../src/eval/mia.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { packAnswers, scoreAnswers } from '../../src/model/logprobs.ts';
import { logSoftmax } from '../../src/engine/index.ts';

const scores = JSON.parse(readFileSync(new URL('../fixtures/eval/scores.json', import.meta.url), 'utf8'));
const zfx = JSON.parse(readFileSync(new URL('../fixtures/eval/zlib.json', import.meta.url), 'utf8'));

function close(actual: number, expected: number, what: string, tol = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

/** The fixture's LCG (x ← 1664525x + 1013904223 mod 2³²), regenerating the long inputs instead of storing them. */
function lcg(seed: number, length: number, pick: (x: number) => void): void {
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(1664525, x) + 1013904223) >>> 0;
    pick(x);
  }
}

function recipeData(r: { kind: string; seed?: number; length?: number; alphabet?: string; unit?: string; times?: number }): string | Uint8Array {
  if (r.kind === 'join_literals') {
    const literals: string[] = zfx.cases.filter((c: { text?: string }) => c.text !== undefined).map((c: { text: string }) => c.text);
    return Array.from({ length: r.times! }, () => literals).flat().join(' ');
  }
  if (r.kind === 'repeat') return r.unit!.repeat(r.times!);
  if (r.kind === 'lcg_bytes') {
    const out = new Uint8Array(r.length!);
    let i = 0;
    lcg(r.seed!, r.length!, (x) => (out[i++] = x >>> 24));
    return out;
  }
  const alphabet = [...r.alphabet!]; // code points, as Python indexes a str
  const parts: string[] = [];
  lcg(r.seed!, r.length!, (x) => parts.push(alphabet[(x >>> 16) % alphabet.length]!));
  return parts.join('');
}

test('zlibCompressedSize equals len(zlib.compress(text.encode())) of standard zlib', () => {
  for (const c of zfx.cases) {
    const data = c.text !== undefined ? c.text : recipeData(c.recipe);
    assert.equal(zlibCompressedSize(data), c.size, c.text !== undefined ? JSON.stringify(c.text.slice(0, 60)) : JSON.stringify(c.recipe));
  }
});

test('Min-K% matches open-unlearning (lowest max(1, int(k·n)) log-probs)', () => {
  for (const c of scores.min_k) for (const [k, want] of Object.entries(c.scores)) close(minKScore(c.logprobs, Number(k)), want as number, `n=${c.logprobs.length} k=${k}`);
  assert.equal(minKScore([], 0.4), 0);
  assert.throws(() => minKScore([1], 0), RangeError);
});

test('Min-K%++: vocabulary moments and scores match numpy on synthetic logits', () => {
  for (const c of scores.min_k_plus_plus) {
    const T = c.tokens.length;
    const mu: number[] = [];
    const variance: number[] = [];
    for (let t = 0; t < T; t++) {
      const row = c.logits[t] as number[];
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s: number, v: number) => s + Math.exp(v - max), 0));
      const m = vocabMoments(row.map((v) => v - lse));
      close(m.mu, c.mu[t], 'mu', 1e-12);
      close(m.variance, c.var[t], 'var', 1e-9);
      mu.push(m.mu);
      variance.push(m.variance);
    }
    for (const [k, want] of Object.entries(c.scores)) {
      close(minKPlusPlusScore(c.token_logprobs, c.mu, c.var, Number(k)), want as number, `T=${T} k=${k}`);
      close(minKPlusPlusScore(c.token_logprobs, mu, variance, Number(k)), want as number, `T=${T} k=${k} (own moments)`, 1e-6);
    }
  }
});

test('LOSS, zlib and reference scores; membership AUC orientation; PrivLeak as MUSE reports it', () => {
  const lp = [-0.5, -1.5, -1.0];
  assert.equal(lossScore(lp), 1);
  assert.equal(zlibScore(lp, 'abc'), 1 / zlibCompressedSize('abc'));
  assert.equal(zlibCompressedSize('abc'), 11);
  assert.equal(referenceScore(lp, [-0.25, -0.25]), 0.75);
  // Members (forget) have lower loss than non-members: AUC 1. Indistinguishable: 0.5.
  assert.equal(membershipAuc([0.1, 0.2, 0.3], [1, 2]), 1);
  assert.equal(membershipAuc([1, 2], [1, 2]), 0.5);
  // MUSE: the retain model sits at 0; a model that memorised the forget set (AUC → 1 here, 0 in MUSE's
  // complement convention) reads −100 %.
  close(privLeak(0.5, 0.5), 0, 'privleak retain');
  close(privLeak(1, 0.5), -100, 'privleak memorised', 1e-6);
  close(privLeak(0.3, 0.5), 40, 'privleak over-unlearned', 1e-6);
});

test('model statistics: token log-probs agree with scoreAnswers; moments with a direct softmax', () => {
  const { model } = loadModel(new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname);
  const items = [
    { prompt: [296, 5, 17], answer: [40, 41, 42, 43], text: 'forty one' },
    { prompt: [296], answer: [7, 8], text: 'seven' },
    { prompt: [296, 100, 101, 102, 103], answer: [250, 3, 9], text: 'x' },
  ];
  const stats = answerTokenStats(model, items, { batchSize: 2, moments: true });
  const ref = scoreAnswers(model, items, { batchSize: 3 });
  items.forEach((it, i) => {
    assert.equal(stats.tokenLogProbs[i]!.length, it.answer.length);
    for (let j = 0; j < it.answer.length; j++) close(stats.tokenLogProbs[i]![j]!, ref.tokenLogProbs[i]![j]!, `lp ${i},${j}`, 1e-5);
    // Moments against the engine's own log-softmax of the same row.
    const batch = packAnswers([it]);
    const lsm = logSoftmax(model.forward(batch.ids).logits!, -1);
    const V = lsm.shape[2]!;
    for (let j = 0; j < it.answer.length; j++) {
      const pos = it.prompt.length - 1 + j;
      const m = vocabMoments((lsm.data as Float32Array).subarray(pos * V, (pos + 1) * V));
      close(stats.mu![i]![j]!, m.mu, `mu ${i},${j}`, 1e-5);
      close(stats.variance![i]![j]!, m.variance, `var ${i},${j}`, 1e-4);
      assert.ok(stats.variance![i]![j]! > 0 && stats.mu![i]![j]! < 0);
    }
  });
  const s = miaScores(model, items, { k: 0.5, reference: model });
  for (let i = 0; i < items.length; i++) {
    close(s.loss![i]!, -ref.mean[i]!, 'loss', 1e-5);
    assert.equal(s.reference![i], 0);
  }
  const aucs = miaAucs(model, items.slice(0, 2), items.slice(2), { reference: model });
  assert.deepEqual(Object.keys(aucs).sort(), ['loss', 'minK', 'minKPlusPlus', 'reference', 'zlib']);
  assert.equal(aucs.reference, 0.5);
  // The one pass an evaluation makes: argmax and membership scores from the same statistics equal the separate passes.
  const once = answerTokenStats(model, items, { batchSize: 2, moments: true, argmax: true });
  assert.deepEqual(once.argmax!.map((a) => Array.from(a)), teacherForcedPredictions(model, items, { batchSize: 3 }).map((a) => Array.from(a)));
  assert.deepEqual(miaScoresFrom(once, items, { k: 0.5 }), miaScores(model, items, { k: 0.5, batchSize: 2 }));
  assert.deepEqual(memorisationFrom(once.argmax!, items), memorisationScores(model, items));
  assert.throws(() => miaScoresFrom(answerTokenStats(model, items), items), /moments/);
});
