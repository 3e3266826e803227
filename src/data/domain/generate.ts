import { Draw } from '../persons/draw.ts';
import type { QaRecord, RecordLabel, TextRecord } from '../schema.ts';
import { COMPOUND_QA, compoundDocument } from './compound-text.ts';
import { generateCompound } from './compounds.ts';
import { PRODUCT_QA, productDocument } from './product-text.ts';
import { generateProduct } from './products.ts';
import { subjectQa } from './qa.ts';
import type { Compound, Product, QaTemplate } from './types.ts';

export interface DomainOptions {
  seed: number;
  /** Compounds of the forget domain (default 100). */
  compounds?: number;
  /** Products of the adjacent domain (default 100). */
  products?: number;
}

/** Share of each domain's subjects that no model trains on: they measure held-out domain loss. */
export const HELDOUT_FRACTION = 0.2;

/** The records of one domain, per subject in generation order: its document, then its QA. */
export interface DomainSplit<S> {
  train: S[];
  heldout: S[];
  records: Map<string, (TextRecord | QaRecord)[]>;
}

export interface DomainCorpus {
  seed: number;
  forget: DomainSplit<Compound>;
  adjacent: DomainSplit<Product>;
}

const pad = (i: number): string => String(i + 1).padStart(3, '0');

/** Subjects are generated in random order, so the last 20% are a random held-out set that a seed fixes. */
function split<S>(all: S[]): { train: S[]; heldout: S[] } {
  const k = all.length - Math.round(all.length * HELDOUT_FRACTION);
  return { train: all.slice(0, k), heldout: all.slice(k) };
}

/**
 * Generates both domains from a seed. One `Draw` is consumed in a fixed order (compounds, products, then per
 * compound its document and QA, then per product), so the same seed always gives the same corpus.
 */
export function buildDomainCorpus(opts: DomainOptions): DomainCorpus {
  const draw = new Draw(opts.seed);
  const names = new Set<string>();
  const compounds = Array.from({ length: opts.compounds ?? 100 }, (_, i) => generateCompound(draw, names, `f${pad(i)}`));
  const brands = new Set<string>();
  const products = Array.from({ length: opts.products ?? 100 }, (_, i) => generateProduct(draw, brands, `a${pad(i)}`));
  const recordsOf = <S extends { id: string; name: string }>(
    subjects: S[], doc: (s: S, d: Draw) => string, qa: readonly QaTemplate<S>[], label: RecordLabel,
  ): Map<string, (TextRecord | QaRecord)[]> => new Map(subjects.map((s) => [s.id, [
    { id: `${s.id}-doc`, subject: s.name, label, text: doc(s, draw) },
    ...subjectQa(s, qa, draw, label),
  ]]));
  return {
    seed: opts.seed,
    forget: { ...split(compounds), records: recordsOf(compounds, compoundDocument, COMPOUND_QA, 'forget') },
    adjacent: { ...split(products), records: recordsOf(products, productDocument, PRODUCT_QA, 'adjacent') },
  };
}
