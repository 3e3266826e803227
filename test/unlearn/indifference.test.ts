// Indifference: (n̄_alt − n̄_true)² over the value's tokens, the alternatives' level held constant. The loss against a
// float64 recomputation from the full forward pass, its gradient against finite differences with the level held at
// θ (and far from the gradient a live level would add), the sign (a value pushed below its alternatives is pulled
// back up), the value spans, and a run on the tiny fixture with question–answer records.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeBatch } from '../../src/unlearn/batches.ts';
import type { UnlearnItem } from '../../src/unlearn/data.ts';
import { indifference, indifferenceLoss, type Span } from '../../src/unlearn/methods/indifference.ts';
import { parseOptions } from '../../src/unlearn/options.ts';
import { oldValueRange } from '../../src/unlearn/update/loss.ts';
import type { UnlearnContext } from '../../src/unlearn/types.ts';
import { backendsUnderTest, withBackend } from '../helpers/backends.ts';
import { tinyContext } from './fixtures.ts';
import { answerRows, assertDetached, checkGradient, close, logSoftmax64, mean, memorisedContext } from './oracle.ts';

/** Each forget item with its answer's middle tokens replaced: an alternative with the same prompt and frame. */
function alternativesOf(items: readonly UnlearnItem[]): { alts: UnlearnItem[]; truth: Span[]; spans: Span[] } {
  const alts = items.map((it) => ({ ...it, answer: it.answer.map((t, j) => (j > 0 && j < it.answer.length - 1 ? 1 + ((t * 7 + j) % 290) : t)) }));
  return {
    alts,
    truth: items.map((it, i) => oldValueRange(it.answer, alts[i]!.answer)),
    spans: alts.map((a, i) => oldValueRange(a.answer, items[i]!.answer)),
  };
}

/** Mean NLL over each row's span, in float64 from the full forward pass. */
function spanNll64(ctx: UnlearnContext, items: readonly UnlearnItem[], spans: readonly Span[]): number[] {
  const rows = answerRows(ctx.model, makeBatch(items, ctx.padId));
  return items.map((_, i) => {
    const own = rows.filter((r) => r.item === i && r.j >= spans[i]!.from && r.j < spans[i]!.to);
    return mean(own.map((r) => -logSoftmax64(r.logits)[r.token]!));
  });
}

function indifference64(ctx: UnlearnContext, items: readonly UnlearnItem[], a: ReturnType<typeof alternativesOf>, level?: number[]): number {
  const lv = level ?? spanNll64(ctx, a.alts, a.spans);
  const t = spanNll64(ctx, items, a.truth);
  return mean(t.map((x, i) => (lv[i]! - x) ** 2));
}

for (const be of backendsUnderTest()) {
  describe(`indifference loss (${be})`, () => {
    test('value, gradient against finite differences, and no gradient through the alternatives\' level', () => withBackend(be, () => {
      const ctx = memorisedContext();
      const items = ctx.forget.filter((it) => it.answer.length >= 3);
      const a = alternativesOf(items);
      assert.ok(a.truth.every((s) => s.to > s.from), 'every answer has value tokens');
      const batch = makeBatch(items, ctx.padId);
      const alts = makeBatch(a.alts, ctx.padId);
      const r = indifferenceLoss(ctx.model, batch, a.truth, alts, a.spans, 1);
      close(r.loss.item(), indifference64(ctx, items, a), 1e-4, 'indifference');
      const level = spanNll64(ctx, a.alts, a.spans);
      close(r.gap, mean(level.map((l, i) => l - spanNll64(ctx, items, a.truth)[i]!)), 1e-4, 'mean gap');
      assert.ok(r.gap > 0.5, `the memorised values are much likelier than the alternatives (gap ${r.gap})`);
      // The head's weights (tied to the embedding) move the value tokens' NLL the most.
      const W = 'transformer.wte.weight';
      const at = checkGradient(ctx.model, () => indifferenceLoss(ctx.model, batch, a.truth, alts, a.spans, 1).loss, () => indifference64(ctx, items, a, level), W);
      assertDetached(ctx.model, at, () => indifference64(ctx, items, a), W);
    }));

    test('a value below its alternatives has a negative gap and the same loss: the square pulls it back up as it pushes a known one down', () => withBackend(be, () => {
      const ctx = memorisedContext();
      const items = ctx.forget.filter((it) => it.answer.length >= 3).slice(0, 2);
      const a = alternativesOf(items);
      // Swap roles: the memorised answers become the "alternatives" of the unmemorised ones.
      const trueSide = makeBatch(a.alts, ctx.padId);
      const altSide = makeBatch(items, ctx.padId);
      const direct = indifferenceLoss(ctx.model, makeBatch(items, ctx.padId), a.truth, makeBatch(a.alts, ctx.padId), a.spans, 1);
      const swapped = indifferenceLoss(ctx.model, trueSide, a.spans, altSide, a.truth, 1);
      assert.ok(direct.gap > 0 && swapped.gap < 0, `gaps ${direct.gap}, ${swapped.gap}`);
      close(swapped.loss.item(), direct.loss.item(), 1e-5, 'the square is symmetric');
    }));

    test('rows and alternatives must agree in count', () => withBackend(be, () => {
      const ctx = tinyContext();
      const a = alternativesOf(ctx.forget.slice(0, 2));
      assert.throws(() => indifferenceLoss(ctx.model, makeBatch(ctx.forget.slice(0, 2), ctx.padId), a.truth, makeBatch(a.alts, ctx.padId), a.spans, 2), /indifference: 2 alternatives for 2 rows × 2/);
    }));
  });
}

test('indifference refuses a text forget record, naming itself; a question no retain subject is asked takes a refusal', () => {
  const ctx = tinyContext();
  const o = parseOptions(indifference.options, ['steps=1', 'checkEvery=1', 'maxRetainLossRise=0', 'maxUtilityLossRise=0'], 'indifference');
  const text: UnlearnItem = { ...ctx.forget[0]!, question: null };
  assert.throws(() => indifference.run({ ...ctx, forget: [text] }, o, {}), /^RangeError: indifference needs question–answer forget records \(forget item 1 is a text record/);
  // "Who employs Bo Lind?" has no counterpart among the retain records.
  const messages: string[] = [];
  indifference.run(ctx, o, { onMessage: (m) => messages.push(m) });
  assert.deepEqual(messages, ['indifference: 4 alternative answers for 4 forget questions (1 with a refusal: no retain subject is asked the same)']);
});

test('indifference runs end to end on question–answer records: the forget values fall toward their alternatives', () => {
  const ctx = tinyContext();
  // Four subjects, one question each, answers "<name> lives in <city>": two to forget, two to retain.
  const enc = (s: string): number[] => ctx.tokenizer.encode(s);
  const qa = (subject: string, city: string): UnlearnItem => ({
    prompt: enc(`Question: Where is ${subject}?\nAnswer:`), answer: [...enc(` ${subject} is in ${city}.`), ctx.tokenizer.eosId ?? 0],
    question: `Where is ${subject}?`, answerText: `${subject} is in ${city}.`, subject, attribute: 'city',
  });
  const forget = [qa('Ana', 'Po'), qa('Ben', 'Lee')];
  const retain = [qa('Cai', 'Xi'), qa('Dee', 'Pe')];
  const c: UnlearnContext = { ...ctx, forget, retain, original: ctx.model.params.snapshot() };
  const o = parseOptions(indifference.options, ['steps=3', 'lr=1e-2', 'batchSize=2', 'retainBatchSize=2', 'alternatives=1', 'checkEvery=1', 'maxRetainLossRise=0', 'maxUtilityLossRise=0'], 'indifference');
  const gaps: number[] = [];
  const out = indifference.run(c, o, { onStep: (e) => gaps.push(e.parts['gap']!) });
  assert.equal(out.steps, 3);
  assert.equal(gaps.length, 3);
  assert.ok(gaps.every(Number.isFinite));
});
