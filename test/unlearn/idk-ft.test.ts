// IdkFT through its run path (DESIGN.md §5): forget questions are fine-tuned toward the shipped refusals, with a
// retain term; text records, which have no question to refuse, are rejected before any weight moves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad } from '../../src/engine/index.ts';
import { makeBatch } from '../../src/unlearn/batches.ts';
import { tokenizeItems, withAnswer, type UnlearnItem } from '../../src/unlearn/data.ts';
import { answerNll } from '../../src/unlearn/losses.ts';
import { idkFt } from '../../src/unlearn/methods/idk-ft.ts';
import { parseOptions } from '../../src/unlearn/options.ts';
import { REFUSALS, refusalFor } from '../../src/unlearn/refusals.ts';
import type { UnlearnContext } from '../../src/unlearn/types.ts';
import { tinyContext } from './fixtures.ts';

const options = parseOptions(idkFt.options, ['steps=4', 'lr=1e-3', 'batchSize=4', 'checkEvery=2', 'maxRetainLossRise=0', 'maxUtilityLossRise=0'], 'idk-ft');

/** The forget items with the refusal idk-ft trains them toward. */
const refusals = (ctx: UnlearnContext): UnlearnItem[] => ctx.forget.map((it) => withAnswer(it, refusalFor(it.question!, options.seed), ctx.tokenizer));
const nll = (ctx: UnlearnContext, items: readonly UnlearnItem[]): number => noGrad(() => answerNll(ctx.model, makeBatch(items, ctx.padId)).item());

test('idk-ft: step 1 optimises the refusals\' NLL plus a retain term, and the run makes the refusals likelier', () => {
  const ctx = tinyContext();
  const targets = refusals(ctx);
  assert.ok(targets.every((it, i) => it.prompt === ctx.forget[i]!.prompt), 'same prompts, new answers');
  assert.ok(ctx.forget.every((it) => REFUSALS.includes(refusalFor(it.question!, options.seed))));
  const before = nll(ctx, targets);
  const out = idkFt.run(ctx, options, {});
  assert.equal(out.stopReason, 'completed');
  assert.equal(out.steps, 4);
  const first = out.curve[0]!;
  assert.ok(Math.abs(first.parts['forget']! - before) <= 1e-5 * before, `step 1 forget term ${first.parts['forget']} vs refusal NLL ${before}`);
  assert.ok(Number.isFinite(first.parts['retain']), 'the retain term is in the loss');
  assert.ok(Math.abs(first.loss - (first.parts['forget']! + first.parts['retain']!)) <= 1e-5 * first.loss, 'γ = α = 1');
  assert.ok(nll(ctx, targets) < before, `refusal NLL ${nll(ctx, targets)} after vs ${before} before`);
});

test('idk-ft rejects a text forget record with a clear error, before any weight moves', () => {
  const ctx = tinyContext();
  const text = tokenizeItems([{ kind: 'text', text: 'Ann Vale blew glass in Tarrow.' }], ctx.tokenizer, ctx.model.config.maxPositions);
  const withText = { ...ctx, forget: [...ctx.forget, ...text] };
  assert.throws(() => idkFt.run(withText, options, {}),
    (e: Error) => e instanceof RangeError && e.message === 'idk-ft needs question–answer forget records (a text record has no question to refuse)');
  assert.deepEqual(ctx.model.params.flat, ctx.original);
});
