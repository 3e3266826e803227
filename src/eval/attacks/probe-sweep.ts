/**
 * The hidden-state probe (probe.ts) at EVERY layer instead of the middle one: unlearning that only suppresses the
 * output can leave an attribute readable at a layer the single probe does not look at. A ridge probe per layer is
 * trained on the retain persons' activations at the last token of the attribute's question and tested on the forget
 * persons'; the attack reports the best layer's accuracy (and which layer).
 */
import type { CausalLM } from '../../model/arch/types.ts';
import { EnsembleLM } from '../../model/ensemble.ts';
import { qaTokens } from '../../model/qa-format.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import type { EvalQa, EvalSets } from '../datasets.ts';
import { fitLinearProbe } from '../probe.ts';
import { hiddenAtPositions } from './layers.ts';
import type { AttackOptions, AttackResult } from './types.ts';

function examples(tokenizer: Tokenizer, items: readonly EvalQa[], attribute: string, values: Map<string, string>): { ids: number[]; label: string }[] {
  return items.filter((q) => q.attribute === attribute && q.subject !== null && values.has(q.subject))
    .map((q) => ({ ids: qaTokens(tokenizer, q.question, q.answer).prompt, label: values.get(q.subject!)! }));
}

export function probeSweepAttack(model: CausalLM, tokenizer: Tokenizer, sets: EvalSets, o: AttackOptions): AttackResult {
  const na = (why: string): AttackResult => ({ attack: 'probe-sweep', notApplicable: why, measures: [] });
  if (model instanceof EnsembleLM) return na('an ensemble has no single hidden state to probe (its shards each have one)');
  const values = sets.attributes?.get(o.probeAttribute);
  if (!sets.attributes) return na(`the ${sets.format} data names no subject attributes to probe for (the persons format does)`);
  if (!values) return na(`the data has no attribute "${o.probeAttribute}"`);
  const train = examples(tokenizer, sets.retain, o.probeAttribute, values);
  const test = examples(tokenizer, sets.forget, o.probeAttribute, values);
  if (train.length === 0 || test.length === 0) return na(`no ${train.length === 0 ? 'retain' : 'forget'} question asks for "${o.probeAttribute}"`);
  const padId = tokenizer.padId ?? tokenizer.eosId ?? 0;
  const all = [...train, ...test];
  const hidden = hiddenAtPositions(model, all.map((x) => x.ids), all.map((x) => x.ids.length - 1), padId, o.batchSize);
  const toF64 = (rows: Float32Array[]): Float64Array[] => rows.map((r) => Float64Array.from(r));
  const accuracy = hidden.map((rows) => {
    const probe = fitLinearProbe(toF64(rows.slice(0, train.length)), train.map((x) => x.label));
    const predicted = probe.predict(toF64(rows.slice(train.length)));
    return predicted.filter((p, i) => p === test[i]!.label).length / test.length;
  });
  let best = 0;
  for (let l = 1; l < accuracy.length; l++) if (accuracy[l]! > accuracy[best]!) best = l;
  // Chance: the most frequent training label's rate among the test persons (as probe.ts).
  const counts = new Map<string, number>();
  for (const x of train) counts.set(x.label, (counts.get(x.label) ?? 0) + 1);
  const majority = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
  const chance = test.filter((x) => x.label === majority).length / test.length;
  return {
    attack: 'probe-sweep',
    measures: [{ key: 'max-accuracy', label: `${o.probeAttribute}: best layer's probe accuracy (chance ${chance.toFixed(2)})`, value: accuracy[best]!, n: test.length, layer: best }],
    layers: [{ key: 'accuracy', label: 'probe accuracy', values: accuracy }],
  };
}
