// Counterexample fine-tuning: both forms of its loss against a float64 recomputation from the model's raw logits (and
// finite differences), how alternatives are chosen (swapped in from other subjects, or perturbed answers; the same
// for the same seed whatever the record order), the errors for records it cannot serve, and a short run.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { noGrad } from '../../src/engine/index.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import { alternativeAnswers } from '../../src/unlearn/alternatives.ts';
import { makeBatch } from '../../src/unlearn/batches.ts';
import { tokenizeItems, type UnlearnItem } from '../../src/unlearn/data.ts';
import { answerNll } from '../../src/unlearn/losses.ts';
import { alternativeItems, counterexample, counterexampleLoss } from '../../src/unlearn/methods/counterexample.ts';
import { parseOptions } from '../../src/unlearn/options.ts';
import { frozenModel } from '../../src/unlearn/reference.ts';
import { refusalFor } from '../../src/unlearn/refusals.ts';
import { getMethod } from '../../src/unlearn/registry.ts';
import type { UnlearnContext } from '../../src/unlearn/types.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { tinyContext } from './fixtures.ts';
import { answerRows, checkGradient, close, logSoftmax64, mean } from './oracle.ts';

const logSig = (x: number): number => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));

/** Per answer token log p(y_t), float64 from the raw logits, grouped by item. */
function tokenLogProbs(model: CausalLM, items: readonly UnlearnItem[], padId: number): number[][] {
  const out: number[][] = items.map(() => []);
  for (const r of answerRows(model, makeBatch(items, padId))) out[r.item]!.push(logSoftmax64(r.logits)[r.token]!);
  return out;
}

/** The fixture's first three forget items (the fourth has no counterpart among the others) with their alternatives. */
function altPairs(ctx: UnlearnContext): { truth: UnlearnItem[]; alt: UnlearnItem[] } {
  const truth = ctx.forget.slice(0, 3);
  const { items, truth: of } = alternativeItems({ ...ctx, forget: truth }, { source: 'others', alternatives: 1, seed: 0, fallback: 'error' });
  assert.deepEqual(items.map((it) => of.get(it)), truth);
  return { truth, alt: items };
}

for (const be of backendsUnderTest()) {
  describe(`counterexample loss (${be})`, () => {
    test('nll: mean answer-token NLL of the alternatives', () => withBackend(be, () => {
      const ctx = tinyContext(0.02);
      const { alt } = altPairs(ctx);
      const batch = makeBatch(alt, ctx.padId);
      const oracle = (): number => -mean(tokenLogProbs(ctx.model, alt, ctx.padId).flat());
      close(counterexampleLoss(ctx.model, batch, null).item(), oracle(), 1e-5, 'NLL of the alternatives');
      checkGradient(ctx.model, () => counterexampleLoss(ctx.model, batch, null), oracle);
    }));

    test('preference: −(2/β)·log σ(β·[(log π_θ − log π_ref)(alternative) − (log π_θ − log π_ref)(true answer)])', () => withBackend(be, () => {
      const ctx = tinyContext(0.02);
      const ref = frozenModel(ctx.model, ctx.original);
      const { truth, alt } = altPairs(ctx);
      const beta = 0.5;
      const seq = (m: CausalLM, items: readonly UnlearnItem[]): number[] => tokenLogProbs(m, items, ctx.padId).map((r) => r.reduce((a, b) => a + b, 0));
      const [altRef, truthRef] = [seq(ref, alt), seq(ref, truth)];
      const oracle = (): number => {
        const [a, t] = [seq(ctx.model, alt), seq(ctx.model, truth)];
        return mean(a.map((_, i) => (-2 / beta) * logSig(beta * ((a[i]! - altRef[i]!) - (t[i]! - truthRef[i]!)))));
      };
      assert.ok(seq(ctx.model, alt).some((v, i) => Math.abs(v - altRef[i]!) > 0.1), 'the perturbed model differs from the reference');
      const pref = { reference: ref, truth: makeBatch(truth, ctx.padId), beta };
      const batch = makeBatch(alt, ctx.padId);
      close(counterexampleLoss(ctx.model, batch, pref).item(), oracle(), 1e-5, 'preference form');
      checkGradient(ctx.model, () => counterexampleLoss(ctx.model, batch, pref), oracle);
    }));
  });
}

/** An item as the alternatives see it (the tokens do not matter there). */
const item = (subject: string | null, question: string, answerText: string, extra: Partial<UnlearnItem> = {}): UnlearnItem =>
  ({ prompt: [1], answer: [2], question, subject, answerText, ...extra });

test('alternatives from other subjects: their answer with the name swapped, or ours naming them; seeded, order-free', () => {
  const forget = [item('Ann Vale', 'Where was Ann Vale born?', 'Ann Vale was born in Tarrow.', { attribute: 'birthplace' }),
    item('Ann Vale', 'Who was born in Tarrow in 1970?', 'The person born in Tarrow in 1970 is Ann Vale.', { attribute: 'full_name' })];
  const names = ['Cy Orr', 'Di Moss', 'Eli Park', 'Fay Holt', 'Gus Reed', 'Hal Wong'];
  const pool = [...forget, ...names.flatMap((n, i) => [
    item(n, `Where was ${n} born?`, `${n} was born in Town${i}.`, { attribute: 'birthplace' }),
    item(n, `Who was born in Town${i} in 1980?`, `The person born in Town${i} in 1980 is ${n}.`, { attribute: 'full_name' }),
  ]), item('Ida Moe', 'Where was Ida Moe born?', 'Ida Moe was born in Tarrow.', { attribute: 'birthplace' })];
  const pick = (seed: number, p = pool): string[][] => alternativeAnswers(forget, p, { source: 'others', count: 3, seed });
  const a = pick(0);
  assert.deepEqual(a, pick(0));
  assert.deepEqual(a, pick(0, [...pool].reverse()), 'the choice does not depend on the records\' order');
  assert.equal(a[0]!.length, 3);
  for (const s of a[0]!) assert.match(s, /^Ann Vale was born in Town\d\.$/, 'the question names Ann Vale: another\'s answer, her name swapped in (never the true Tarrow)');
  for (const s of a[1]!) assert.match(s, /^The person born in Tarrow in 1970 is (Cy Orr|Di Moss|Eli Park|Fay Holt|Gus Reed|Hal Wong)\.$/, 'the question does not name her: our answer naming another');
  const seeds = new Set(Array.from({ length: 8 }, (_, s) => pick(s)[0]!.join('|')));
  assert.ok(seeds.size > 1, 'other seeds pick other alternatives');
  // Without attributes, the same wording with the subject's name taken out is the same question.
  const bare = alternativeAnswers([item('Ann Vale', 'Where was Ann Vale born?', 'Ann Vale was born in Tarrow.')],
    [item('Cy Orr', 'Where was Cy Orr born?', 'Cy Orr was born in Pellam.'), item('Di Moss', 'When was Di Moss born?', 'Di Moss was born on 9 June 1981.')], { source: 'others', count: 5, seed: 0 });
  assert.deepEqual(bare, [['Ann Vale was born in Pellam.']]);
});

test('perturbed alternatives: the record\'s own, never its true answer; auto falls back to other subjects', () => {
  const withWrong = item('Ann Vale', 'Where was Ann Vale born?', 'Ann Vale was born in Tarrow.', { perturbed: ['Ann Vale was born in Tarrow.', 'Ann Vale was born in Oskel.'] });
  const without = item('Bo Lind', 'Where was Bo Lind born?', 'Bo Lind was born in Pellam.');
  const pool = [withWrong, without, item('Cy Orr', 'Where was Cy Orr born?', 'Cy Orr was born in Dunmere.')];
  assert.deepEqual(alternativeAnswers([withWrong], pool, { source: 'perturbed', count: 5, seed: 3 }), [['Ann Vale was born in Oskel.']]);
  assert.deepEqual(alternativeAnswers([withWrong, without], pool, { source: 'auto', count: 1, seed: 0 }),
    [['Ann Vale was born in Oskel.'], [alternativeAnswers([without], pool, { source: 'others', count: 1, seed: 0 })[0]![0]!]]);
  assert.throws(() => alternativeAnswers([without], pool, { source: 'perturbed', count: 1, seed: 0 }),
    (e: Error) => e instanceof RangeError && e.message.startsWith('counterexample: no alternative answer for forget item 1 ("Where was Bo Lind born?"): it has no perturbed_answers'));
});

test('the method takes other subjects\' answers from the retain set only, never another forget subject\'s fact', () => {
  const ctx = tinyContext();
  const eve = tokenizeItems([{ kind: 'qa', subject: 'Eve Dunn', question: 'Where was Eve Dunn born?', answer: 'Eve Dunn was born in Rosk.' }], ctx.tokenizer, ctx.model.config.maxPositions);
  const forget = [...ctx.forget.slice(0, 3), ...eve];
  for (let seed = 0; seed < 4; seed++) {
    const { items } = alternativeItems({ ...ctx, forget }, { source: 'others', alternatives: 3, seed, fallback: 'error' });
    assert.deepEqual(items.map((it) => it.answerText),
      ['Ann Vale was born in Pellam.', 'He repairs clocks.', 'Bo Lind was born on 9 June 1981.', 'Eve Dunn was born in Pellam.']);
  }
});

const options = parseOptions(counterexample.options, ['steps=4', 'lr=3e-3', 'batchSize=3', 'checkEvery=2', 'maxRetainLossRise=0', 'maxUtilityLossRise=0'], 'counterexample');

test('counterexample refuses a text record, and a question nobody else answers unless it may fall back to a refusal', () => {
  const ctx = tinyContext();
  const text = tokenizeItems([{ kind: 'text', text: 'Ann Vale blew glass in Tarrow.' }], ctx.tokenizer, ctx.model.config.maxPositions);
  assert.throws(() => counterexample.run({ ...ctx, forget: [...ctx.forget.slice(0, 3), ...text] }, options, {}),
    (e: Error) => e instanceof RangeError && e.message === 'counterexample needs question–answer forget records (forget item 4 is a text record, which has no question to answer otherwise)');
  // The fixture's fourth forget question ("Who employs Bo Lind?") is asked of nobody else and has no perturbed answers.
  assert.throws(() => counterexample.run(ctx, { ...options, fallback: 'error' }, {}), (e: Error) => e instanceof RangeError
    && e.message.startsWith('counterexample: no alternative answer for forget item 4 ("Who employs Bo Lind?"): no record of another subject answers the same question'));
  assert.deepEqual(ctx.model.params.flat, ctx.original, 'nothing moved before the errors');
  const { items, refusals } = alternativeItems(ctx, options);
  assert.equal(refusals, 1);
  assert.equal(items[3]!.answerText, refusalFor('Who employs Bo Lind?', options.seed));
  const messages: string[] = [];
  const out = counterexample.run(ctx, options, { onMessage: (m) => messages.push(m) });
  assert.equal(out.details['refusals'], 1);
  assert.deepEqual(messages, ['counterexample: 4 alternative answers for 4 forget questions (source others); 1 question(s) had none and take a refusal instead']);
});

test('counterexample runs: the alternatives get likelier, and under the preference form pull ahead of the true answers', () => {
  for (const form of ['nll', 'preference']) {
    const ctx = tinyContext();
    const { truth, alt } = altPairs(ctx);
    const run = { ...ctx, forget: truth };
    const nll = (items: readonly UnlearnItem[]): number => noGrad(() => answerNll(ctx.model, makeBatch(items, ctx.padId)).item());
    const [altBefore, truthBefore] = [nll(alt), nll(truth)];
    const out = counterexample.run(run, { ...options, form: form as 'nll' | 'preference' }, {});
    assert.equal(out.stopReason, 'completed');
    assert.equal(out.steps, 4);
    assert.equal(out.details['alternatives'], 3);
    if (form === 'nll') close(out.curve[0]!.parts['forget']!, altBefore, 1e-5, 'step 1 optimises the alternatives\' NLL');
    assert.ok(nll(alt) < altBefore, `${form}: alternative NLL ${nll(alt)} after vs ${altBefore} before`);
    // The retain term lowers every NLL of the random fixture; what the preference adds is the alternative's lead.
    if (form === 'preference') assert.ok(nll(truth) - nll(alt) > truthBefore - altBefore, `${form}: the alternatives' lead over the true answers grew`);
  }
  assert.deepEqual([options.form, options.source, options.alternatives, options.beta, options.fallback], ['preference', 'others', 1, 0.1, 'refusal'], 'the documented defaults');
  assert.equal(getMethod('Counterexample'), counterexample);
});
