/**
 * The restricted-domain models (`npm run build:models -- --only domain`), for SGTM and the relearning race
 * (`npm run bench -- relearn`). All four share one recipe, seed and tokenizer (models/tokenizer) and differ only in
 * data or masking:
 *   domain/target        plain training on everything: forget domain, adjacent domain, retain (persons bios + world)
 *   domain/sgtm          SGTM on the same data (forget-labelled steps train only the designated units), not ablated
 *   domain/sgtm-ablated  the same weights with the forget parameters zeroed (`lethe sgtm ablate`)
 *   domain/sgtm-update   SGTM with embeddings and norms learning on forget steps too (the reference's TinyStories
 *                        default; `sgtm` freezes them, as its Wikipedia runs did), and its -ablated form
 *   domain/filtered      plain training without the forget domain: the gold standard of "never learned"
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatJsonl, readTrainingRecords } from '../src/data/jsonl.ts';
import type { RecordLabel, TrainingRecord } from '../src/data/schema.ts';
import { runTraining, type FreshModelSpec, type SgtmSpec } from '../src/train/run.ts';
import type { TrainOptions } from '../src/train/trainer.ts';
import { ablateFolder } from '../src/train/sgtm-ablate.ts';

export const DOMAIN_MODELS = ['target', 'sgtm', 'sgtm-ablated', 'sgtm-update', 'sgtm-update-ablated', 'filtered'] as const;
export type DomainModel = (typeof DOMAIN_MODELS)[number];

/**
 * Smaller than the persons models (d 128 instead of 256) so that the four build in minutes and fit the repository
 * together; MLP 512, so SGTM's default designates 32 units and 1 of 4 heads per layer. AdamW weight decay 0.1, as
 * the reference: masked parameters then still drift on steps that do not train them, as they do there.
 */
export const DOMAIN_RECIPE: { fresh: FreshModelSpec; options: Omit<TrainOptions, 'padId' | 'checkpointDir' | 'tokenizerDir'>; sgtm: SgtmSpec } = {
  fresh: { arch: 'gpt2', layers: 4, dModel: 128, heads: 4, context: 192 },
  options: { steps: 1500, batchSize: 32, gradAccum: 1, lr: 2e-3, minLr: 1e-4, warmupSteps: 100, weightDecay: 0.1, clip: 1, seed: 1, evalEvery: 500, saveEvery: 250 },
  sgtm: { retainMaskFraction: 0.25, forgetRecall: 1, shared: 'freeze' },
};

export interface DomainPaths {
  /** data/domain (the generated domain corpus). */
  domain: string;
  /** data/persons (its bios and world set are the retain data). */
  persons: string;
  /** models (the domain models go to models/domain/…, the tokenizer is models/tokenizer). */
  models: string;
}

export const DEFAULT_DOMAIN_PATHS: DomainPaths = { domain: 'data/domain', persons: 'data/persons', models: 'models' };

/** A file's records (tagged with their kind, as read) under one label. */
export function labelled(path: string, label: RecordLabel): TrainingRecord[] {
  return readTrainingRecords(path).map((r) => ({ ...r, label }));
}

/** The retain data of the domain models: the persons' biographies and the world set, labelled retain. */
export function domainRetainRecords(p: DomainPaths): TrainingRecord[] {
  return ['bios.jsonl', 'world_text.jsonl', 'world_qa.jsonl'].flatMap((f) => labelled(join(p.persons, f), 'retain'));
}

/** Writes a model's training file (data/domain/train/NAME.jsonl) and returns its path. */
function trainingFile(p: DomainPaths, name: string, withForget: boolean): string {
  const records = [
    ...(withForget ? labelled(join(p.domain, 'forget_train.jsonl'), 'forget') : []),
    ...labelled(join(p.domain, 'adjacent_train.jsonl'), 'adjacent'),
    ...domainRetainRecords(p),
  ];
  const dir = join(p.domain, 'train');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, formatJsonl(records.map(({ kind: _kind, ...r }) => r)));
  return path;
}

export function domainModelDir(p: DomainPaths, name: DomainModel): string {
  return join(p.models, 'domain', name);
}

/** The SGTM model an ablated one is made from. */
const unablated = (name: DomainModel): DomainModel | null => (name.endsWith('-ablated') ? (name.slice(0, -'-ablated'.length) as DomainModel) : null);

/** Builds the named domain models (an -ablated one needs its SGTM model, built first when asked for too or missing). */
export function buildDomainModels(p: DomainPaths, names: readonly DomainModel[], o: { steps?: number; resume?: boolean } = {}): void {
  if (!existsSync(join(p.domain, 'forget_train.jsonl'))) throw new Error(`${p.domain}: no domain corpus (npx tsx tools/make-domain.ts writes it)`);
  const tokenizerDir = join(p.models, 'tokenizer');
  const options = { ...DOMAIN_RECIPE.options, ...(o.steps ? { steps: o.steps } : {}) };
  const needed = (n: DomainModel): boolean => names.includes(n)
    || names.some((m) => unablated(m) === n && !existsSync(join(domainModelDir(p, n), 'model.safetensors')));
  for (const name of DOMAIN_MODELS.filter(needed)) {
    const out = domainModelDir(p, name);
    const source = unablated(name);
    if (source) {
      ablateFolder(domainModelDir(p, source), out, true);
      process.stderr.write(`domain/${name}: forget parameters of domain/${source} zeroed\n`);
      continue;
    }
    const data = trainingFile(p, name === 'filtered' ? 'filtered' : 'target', name !== 'filtered');
    const sgtm = name === 'sgtm' ? DOMAIN_RECIPE.sgtm : name === 'sgtm-update' ? { ...DOMAIN_RECIPE.sgtm, shared: 'update' as const } : null;
    const log = runTraining({
      data: [data], tokenizerDir, fresh: { ...DOMAIN_RECIPE.fresh }, out, dtype: 'F16',
      checkpointDir: join(p.models, '.checkpoints', 'domain', name), force: true, resume: o.resume ?? false, options,
      ...(sgtm ? { sgtm } : {}),
      command: `npm run build:models -- --only domain/${name}${o.steps ? ` --steps ${o.steps}` : ''}`,
    }, `domain/${name}`);
    process.stderr.write(`domain/${name}: ${log.parameters} parameters, final loss ${log.losses.at(-1)?.toFixed(4)}, ${log.wallSeconds.toFixed(0)} s\n`);
  }
}
