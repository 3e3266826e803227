import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { noGrad } from '../engine/index.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { padRight } from '../model/padding.ts';

/** A prompt (token ids) and the attribute value it is about, e.g. the country of the person it asks about. */
export interface ProbeExample {
  ids: readonly number[];
  label: string;
}

/**
 * The residual stream after `layer` at each prompt's last token [N, d]: the position that predicts the answer,
 * so it holds whatever the model has retrieved about the subject by then.
 */
export function lastTokenHidden(model: CausalLM, prompts: readonly (readonly number[])[], layer: number, padId: number, batchSize = 32): Float64Array[] {
  if (layer < 0 || layer >= model.config.numLayers) throw new RangeError(`probe layer ${layer}: the model has layers 0..${model.config.numLayers - 1}`);
  const out: Float64Array[] = [];
  const D = model.config.hiddenSize;
  noGrad(() => {
    for (let s = 0; s < prompts.length; s += batchSize) {
      const chunk = prompts.slice(s, s + batchSize);
      const ids = padRight(chunk, padId);
      const L = ids.shape[1]!;
      const h = model.forward(ids, { keepHidden: [layer], stopAfterLayer: layer }).hidden.get(layer)!.f32('lastTokenHidden');
      chunk.forEach((p, b) => out.push(Float64Array.from(h.subarray((b * L + p.length - 1) * D, (b * L + p.length) * D))));
    }
  });
  return out;
}

/** A ridge-regression classifier (one-vs-rest least squares to one-hot targets) over standardised features. */
export interface LinearProbe {
  classes: string[];
  predict(features: readonly Float64Array[]): string[];
}

/**
 * Fits W = (XᵀX + λI)⁻¹XᵀY in closed form: deterministic, no learning rate to tune, and a linear read-out is
 * exactly the question asked (is the attribute linearly decodable from the activations?).
 */
export function fitLinearProbe(features: readonly Float64Array[], labels: readonly string[], ridge = 1): LinearProbe {
  if (features.length === 0 || features.length !== labels.length) throw new RangeError('the probe needs as many labels as feature rows, and at least one');
  const d = features[0]!.length;
  const classes = [...new Set(labels)].sort();
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const f of features) for (let j = 0; j < d; j++) mean[j]! += f[j]! / features.length;
  for (const f of features) for (let j = 0; j < d; j++) std[j]! += (f[j]! - mean[j]!) ** 2 / features.length;
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]!) || 1;
  // A bias column of ones, not standardised and not penalised much (it is one of d+1 penalised weights).
  const row = (f: Float64Array): number[] => [...Array.from(f, (v, j) => (v - mean[j]!) / std[j]!), 1];
  const X = new Matrix(features.map(row));
  const Y = new Matrix(labels.map((l) => classes.map((c) => (c === l ? 1 : 0))));
  const A = X.transpose().mmul(X);
  for (let j = 0; j < d + 1; j++) A.set(j, j, A.get(j, j) + ridge);
  const W = new CholeskyDecomposition(A).solve(X.transpose().mmul(Y));
  return {
    classes,
    predict: (fs) => fs.map((f) => {
      const scores = new Matrix([row(f)]).mmul(W).getRow(0);
      let best = 0;
      for (let k = 1; k < scores.length; k++) if (scores[k]! > scores[best]!) best = k;
      return classes[best]!;
    }),
  };
}

export interface ProbeResult {
  layer: number;
  /** Fraction of test prompts whose attribute the probe recovers from the activations. */
  probeAccuracy: number;
  /** The best a probe could do without reading the activations: the most frequent training label's rate in the test set. */
  chance: number;
  trainAccuracy: number;
  predictions: string[];
}

/**
 * Trains a linear probe on one set of subjects (e.g. retain persons) and tests it on another (forget persons). High
 * probe accuracy next to low output accuracy means the model still represents the attribute and only stopped
 * saying it: suppression, not forgetting.
 */
export function probeAttribute(model: CausalLM, train: readonly ProbeExample[], test: readonly ProbeExample[], options: { layer: number; padId: number; ridge?: number }): ProbeResult {
  const featuresOf = (xs: readonly ProbeExample[]): Float64Array[] => lastTokenHidden(model, xs.map((x) => x.ids), options.layer, options.padId);
  const trainFeatures = featuresOf(train);
  const probe = fitLinearProbe(trainFeatures, train.map((x) => x.label), options.ridge ?? 1);
  const accuracy = (xs: readonly ProbeExample[], predicted: string[]): number => predicted.filter((p, i) => p === xs[i]!.label).length / Math.max(1, xs.length);
  const predictions = probe.predict(featuresOf(test));
  const counts = new Map<string, number>();
  for (const x of train) counts.set(x.label, (counts.get(x.label) ?? 0) + 1);
  const majority = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
  return {
    layer: options.layer,
    probeAccuracy: accuracy(test, predictions),
    chance: test.filter((x) => x.label === majority).length / Math.max(1, test.length),
    trainAccuracy: accuracy(train, probe.predict(trainFeatures)),
    predictions,
  };
}
