import type { Draw } from '../persons/draw.ts';
import type { Shelf } from './adjacent-pools.ts';

/** One invented compound of the forget domain: every fact its document and QA state. */
export interface Compound {
  id: string;
  name: string;
  /** Two distinct precursors from the shared pool, in drawn order. */
  precursors: [string, string];
  reagent: string;
  catalyst: string;
  /** Degrees, within the catalyst's band. */
  temperature: number;
  hours: number;
  /** "Thessic class 3": hazard family and level. */
  hazard: string;
  symptom: string;
  antidote: string;
  lab: string;
  year: number;
}

/** One invented household or kitchen product of the adjacent domain. */
export interface Product {
  id: string;
  name: string;
  /** What it is, e.g. "furniture polish". */
  what: string;
  /** Where its ingredients come from: kitchen (food products) or household (cleaning and laundry). */
  shelf: Shelf;
  ingredients: [string, string];
  use: string;
  handling: string;
  shelf_months: number;
  maker: string;
}

/**
 * One question asked about every subject of a domain. The answer functions take the value as an argument so that
 * the paraphrased answer's frame, filled with wrong values, gives the perturbed answers (as in the persons corpus).
 */
export interface QaTemplate<S> {
  attribute: string;
  value: (s: S) => string;
  /** `n` distinct wrong values of the same type, drawn from the domain's pools, none equal to the true value. */
  wrong: (s: S, draw: Draw, n: number) => string[];
  question: (s: S) => string;
  answer: (s: S, value: string) => string;
  paraphrasedQuestion: (s: S) => string;
  paraphrasedAnswer: (s: S, value: string) => string;
}
