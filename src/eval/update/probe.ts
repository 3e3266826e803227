import type { CausalLM } from '../../model/arch/types.ts';
import { hiddenAtPositions } from '../attacks/layers.ts';
import { fitLinearProbe } from '../probe.ts';
import type { UnlearnItem } from '../../unlearn/data.ts';
import type { FactTokens } from '../../unlearn/update/loss.ts';

/** What the value probe found at each layer: how often it reads the old and the new value's token. */
export interface ValueProbeResult {
  /** Fraction of facts whose old value's first token the probe reads at the position that predicts it, per layer. */
  oldAccuracy: number[];
  newAccuracy: number[];
  /** The largest oldAccuracy and its layer: the attacker's best layer. */
  maxOld: number;
  maxOldLayer: number;
  trainPositions: number;
  classes: number;
}

/** The residual stream after every layer at the given positions of each sequence, in float64 for the probe. */
function hiddenRows(model: CausalLM, seqs: readonly (readonly number[])[], positions: readonly (readonly number[])[], padId: number): Float64Array[][] {
  return hiddenAtPositions(model, seqs, positions, padId).map((rows) => rows.map((r) => Float64Array.from(r)));
}

/** Items the probe trains on at most: enough positions for every class, in a few seconds. */
const MAX_TRAIN_ITEMS = 600;

/**
 * A hidden-state probe for the old value (eval/probe.ts's ridge probe, fitLinearProbe, at every layer). Its classes are
 * the value tokens of the update: each fact's old and new value's first token, where the answers part. It is trained
 * on the retain answers, at every position whose next token is one of those classes (other subjects' facts that
 * share the value words: a linear read-out of "which value comes next", learnt on data the update keeps), and then
 * applied at each fact's parting position, teacher-forced on the answers' shared start, where before the update the
 * model predicts the old value. If the update only made the output prefer the new value, a middle layer still reads
 * the old one there. Null when the retain answers hold fewer than two of the classes.
 */
export function valueProbe(model: CausalLM, facts: readonly FactTokens[], retain: readonly UnlearnItem[], padId: number): ValueProbeResult | null {
  const classes = new Set(facts.flatMap((f) => [f.old.answer[f.oldFrom], f.learn.answer[f.oldFrom]]).filter((t): t is number => t !== undefined));
  const at = (it: UnlearnItem): number[] => it.answer.flatMap((t, j) => (classes.has(t) ? [it.prompt.length + j - 1] : []));
  const used = retain.filter((it) => at(it).length > 0);
  const train = used.length > MAX_TRAIN_ITEMS ? used.filter((_, i) => i % Math.ceil(used.length / MAX_TRAIN_ITEMS) === 0) : used;
  const labels = train.flatMap((it) => it.answer.filter((t) => classes.has(t)).map(String));
  if (new Set(labels).size < 2) return null;
  const trainRows = hiddenRows(model, train.map((it) => [...it.prompt, ...it.answer]), train.map(at), padId);
  // The test sequence stops at the parting position: the old answer's own tokens are not shown to the probe.
  const testSeqs = facts.map((f) => [...f.old.prompt, ...f.old.answer.slice(0, f.oldFrom)]);
  const testRows = hiddenRows(model, testSeqs, testSeqs.map((s) => [s.length - 1]), padId);
  const oldAccuracy: number[] = [];
  const newAccuracy: number[] = [];
  const rate = (predicted: string[], token: (f: FactTokens) => number | undefined): number =>
    predicted.filter((p, i) => p === String(token(facts[i]!))).length / Math.max(1, facts.length);
  for (let l = 0; l < trainRows.length; l++) {
    const predicted = fitLinearProbe(trainRows[l]!, labels).predict(testRows[l]!);
    oldAccuracy.push(rate(predicted, (f) => f.old.answer[f.oldFrom]));
    newAccuracy.push(rate(predicted, (f) => f.learn.answer[f.oldFrom]));
  }
  let maxOldLayer = 0;
  for (let l = 1; l < oldAccuracy.length; l++) if (oldAccuracy[l]! > oldAccuracy[maxOldLayer]!) maxOldLayer = l;
  return { oldAccuracy, newAccuracy, maxOld: oldAccuracy[maxOldLayer]!, maxOldLayer, trainPositions: labels.length, classes: new Set(labels).size };
}
