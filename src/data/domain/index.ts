/**
 * The restricted-domain corpus for SGTM: a fictitious hazardous chemistry to forget and an invented everyday
 * chemistry to keep, generated from a seed (docs/data-format.md, "The domain corpus").
 */
export { ADJACENT_TERMS } from './adjacent-pools.ts';
export { COMPOUND_QA, compoundDocument } from './compound-text.ts';
export { buildDomainCorpus, HELDOUT_FRACTION, type DomainCorpus, type DomainOptions, type DomainSplit } from './generate.ts';
export { FORGET_TERMS } from './pools.ts';
export { PRODUCT_QA, productDocument } from './product-text.ts';
export { N_PERTURBED } from './qa.ts';
export type { Compound, Product, QaTemplate } from './types.ts';
export { buildDomainManifest, domainCorpusFiles, writeDomainCorpus, type DomainFile, type DomainManifest } from './write.ts';
