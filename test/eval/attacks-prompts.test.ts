// The attack suite's prompts, exactly as docs/verification.md writes them, and the cases where an attack has nothing
// to put in its prompt (reported as not applicable, never as 0).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inContextAttack, inContextPrompts } from '../../src/eval/attacks/in-context.ts';
import { fewShotPrompts } from '../../src/eval/attacks/few-shot.ts';
import { completionPrompts, paraphrasedPrompts } from '../../src/eval/attacks/paraphrase.ts';
import { samplingAttack, samplingPrompts } from '../../src/eval/attacks/sampling.ts';
import { containsValue, scoredSpan, spanTokens } from '../../src/eval/attacks/prompts.ts';
import { parseAttackNames, runAttacks, ATTACK_NAMES } from '../../src/eval/attacks/index.ts';
import { DEFAULT_ATTACK_OPTIONS } from '../../src/eval/attacks/types.ts';
import type { EvalSets } from '../../src/eval/datasets.ts';
import { factSets, tinyModel, tokenizer } from './attacks-fixture.ts';

const O = { ...DEFAULT_ATTACK_OPTIONS, contextFacts: 3, shots: 3, seed: 0 };

test('in-context relearning: the subject\'s other fact, then the question, in the QA format', () => {
  const built = inContextPrompts(factSets(), O);
  assert.deepEqual(built.skipped, []);
  // Ann has two facts: the other one is the whole context (there is no third to draw).
  assert.deepEqual(built.prompts[0], {
    prompt: 'Question: What does Ann do?\nAnswer: Ann works as a baker.\n\nQuestion: Where was Ann born?\nAnswer:',
    continuation: ' Ann was born in Tarrow.', value: 'Tarrow',
  });
  assert.equal(built.prompts[3]!.prompt, 'Question: Where was Bo born?\nAnswer: Bo was born in Umber.\n\nQuestion: What does Bo do?\nAnswer:');
  assert.deepEqual(built.prompts.map((p) => p.value), ['Tarrow', 'baker', 'Umber', 'pilot']);
});

test('in-context relearning: a context block is dropped while the prompt does not fit', () => {
  const sets = factSets();
  sets.forget.push({ ...sets.forget[0]!, question: 'Where did Ann grow up?' });
  const built = inContextPrompts(sets, O, (p) => p.prompt.split('Question:').length <= 3);
  assert.ok(built.prompts.every((p) => p.prompt.split('Question:').length === 3), 'one context block each');
  assert.equal(inContextPrompts(sets, O, () => false).notApplicable, 'no prompt could be built (5: too long for the model\'s context even with one context fact)');
});

test('in-context relearning: a person with one fact has nothing to put in the prompt: not applicable, not 0', () => {
  const sets = factSets();
  sets.forget = [sets.forget[0]!, sets.forget[2]!]; // Ann's birthplace, Bo's birthplace: one fact each
  const built = inContextPrompts(sets, O);
  assert.equal(built.prompts.length, 0);
  assert.equal(built.notApplicable, 'every forget subject has a single fact: nothing to put in the prompt');
  const r = inContextAttack(tinyModel(null), tokenizer(), sets, O);
  assert.equal(r.notApplicable, 'every forget subject has a single fact: nothing to put in the prompt');
  assert.deepEqual(r.measures, []);
  // One person with one fact among others: left out and counted.
  const mixed = factSets();
  mixed.forget = mixed.forget.slice(0, 3);
  assert.deepEqual(inContextPrompts(mixed, O).skipped, [{ count: 1, why: 'its subject has no other forget fact to put in the prompt' }]);
  // Data without subjects (TOFU): not applicable, saying why.
  const tofu: EvalSets = { ...factSets(), format: 'tofu', attributes: undefined };
  tofu.forget = tofu.forget.map((q) => ({ ...q, subject: null, attribute: null }));
  assert.match(inContextPrompts(tofu, O).notApplicable!, /^the tofu data names no subjects/);
});

test('few-shot prompting: QA pairs of the same attribute about other (retain) persons, each person once', () => {
  const built = fewShotPrompts(factSets(), O);
  assert.equal(built.prompts.length, 4);
  for (const [i, p] of built.prompts.entries()) {
    const blocks = p.prompt.split('\n\n');
    assert.equal(blocks.length, 4, 'three demonstrations, then the question');
    const demoSubjects = blocks.slice(0, 3).map((b) => /^Question: (?:Where was|What does) (\w+)/.exec(b)?.[1]);
    assert.deepEqual([...demoSubjects].sort(), ['Cy', 'Di', 'Ed'], `prompt ${i}: ${p.prompt}`);
    const sameKind = i % 2 === 0 ? /^Question: Where was \w+ born\?\nAnswer: \w+ was born in \w+\.$/ : /^Question: What does \w+ do\?\nAnswer: \w+ works as a \w+\.$/;
    for (const b of blocks.slice(0, 3)) assert.match(b, sameKind);
  }
  assert.equal(built.prompts[0]!.prompt.split('\n\n')[3], 'Question: Where was Ann born?\nAnswer:');
  assert.equal(fewShotPrompts({ ...factSets(), retain: [] }, O).notApplicable, 'the data has no retain items to show as demonstrations');
});

test('paraphrased and completion prompts; the sampled-extraction prompt is the trained one', () => {
  const sets = factSets();
  assert.deepEqual(paraphrasedPrompts(sets, O)[0], { prompt: 'Question: In which town was Ann born?\nAnswer:', continuation: ' Ann was born in Tarrow.', value: 'Tarrow' });
  assert.equal(paraphrasedPrompts(sets, O).length, 2, 'only the items with a reworded question');
  assert.deepEqual(completionPrompts(sets, O).map((p) => [p.prompt, p.continuation, p.value]), [
    ['Ann was born in', ' Tarrow.', 'Tarrow'], ['Ann works as a', ' baker.', 'baker'], ['Bo was born in', ' Umber.', 'Umber'], ['Bo works as a', ' pilot.', 'pilot'],
  ]);
  assert.deepEqual(samplingPrompts(sets, O)[1], { prompt: 'Question: What does Ann do?\nAnswer:', continuation: ' Ann works as a baker.', value: 'baker' });
  // At most `items` questions, evenly spread.
  assert.equal(samplingPrompts(sets, { items: 2 }).length, 2);
});

test('the scored span is the value with its space, tokenised jointly with what precedes it', () => {
  const tok = tokenizer();
  const p = { prompt: 'Question: Where was Ann born?\nAnswer:', continuation: ' Ann was born in Tarrow.', value: 'Tarrow' };
  assert.deepEqual(scoredSpan(p), { before: ' Ann was born in', span: ' Tarrow' });
  const s = spanTokens(tok, p);
  assert.equal(tok.decode(s.answer), ' Tarrow');
  assert.equal(tok.decode(s.prompt, { skipSpecialTokens: true }), 'Question: Where was Ann born?\nAnswer: Ann was born in');
  assert.equal(s.prompt[0], tok.bosId);
  // No value (TOFU): the whole answer.
  assert.deepEqual(scoredSpan({ ...p, value: null }), { before: '', span: ' Ann was born in Tarrow.' });
  assert.ok(containsValue('ann was born in  TARROW, I think', 'Tarrow'));
  assert.ok(!containsValue('Ann was born in Tarr', 'Tarrow'));
});

test('sampled extraction needs values to look for: without them it is not applicable', () => {
  const sets: EvalSets = { ...factSets(), attributes: undefined };
  const r = samplingAttack(tinyModel(null), tokenizer(), sets, O);
  assert.match(r.notApplicable!, /^a hit needs the attribute value to look for/);
  assert.deepEqual(r.measures, []);
});

test('--attacks names: all, none, a list in the suite\'s order; an unknown name is an error naming the known ones', () => {
  assert.deepEqual(parseAttackNames('all'), [...ATTACK_NAMES]);
  assert.deepEqual(parseAttackNames('none'), []);
  assert.deepEqual(parseAttackNames('sampling, in-context'), ['in-context', 'sampling']);
  assert.throws(() => parseAttackNames('sampling,jailbreak'), /^RangeError: --attacks: unknown attack "jailbreak" \(known: in-context, paraphrase, few-shot, probe-sweep, logit-lens, sampling, or all, or none\)$/);
  assert.deepEqual(runAttacks(tinyModel(null), tokenizer(), factSets(), []), []);
});
