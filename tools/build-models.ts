/**
 * Recreates the embedded default models under models/ (`npm run build:models`):
 *   1. the persons corpus in data/persons (generated from seed 1 if missing),
 *   2. a byte-level BPE tokenizer trained on the target's training text,
 *   3. the target model (everything but the holdout) and one retain model per forget split (everything but that
 *      split), all with the same recipe and seed; and retain90-seed2, retain90's data with seed 2.
 * Each model is a Hugging Face folder with training_log.json. Options: --only NAME (repeatable), --steps N (to try
 * a shorter recipe), --out DIR. Training is deterministic for a given thread count.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readTrainingRecords } from '../src/data/jsonl.ts';
import { writePersonsCorpus } from '../src/data/persons/index.ts';
import { formatJsonl } from '../src/data/jsonl.ts';
import { trainByteLevelBpe, writeTokenizer } from '../src/model/bpe-train.ts';
import { qaAnswer, qaPrompt } from '../src/model/qa-format.ts';
import { runTraining } from '../src/train/run.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    steps: { type: 'string' },
    out: { type: 'string', default: 'models' },
    data: { type: 'string', default: 'data/persons' },
  },
});

/** The recipe shared by every model, so retain models differ from the target only in their data. */
export const RECIPE = {
  vocabSize: 2048,
  fresh: { layers: 4, dModel: 256, heads: 4, context: 192 },
  options: { steps: 3000, batchSize: 32, gradAccum: 1, lr: 2e-3, minLr: 1e-4, warmupSteps: 100, weightDecay: 0, clip: 1, seed: 1, evalEvery: 500, saveEvery: 250 },
} as const;

/**
 * Each model's excluded forget split and seed. retain90-seed2 repeats retain90 with another seed: the retain model
 * scored against it is the sanity check of forget quality (two models that never saw the persons must look alike).
 */
const MODELS: Record<string, { forget: string | null; seed: number }> = {
  target: { forget: null, seed: 1 },
  retain99: { forget: 'forget01', seed: 1 },
  retain95: { forget: 'forget05', seed: 1 },
  retain90: { forget: 'forget10', seed: 1 },
  'retain90-seed2': { forget: 'forget10', seed: 2 },
};

const dataDir = values.data!;
const outDir = values.out!;
if (!existsSync(join(dataDir, 'manifest.json'))) writePersonsCorpus(dataDir, { seed: 1 });
const manifest = JSON.parse(readFileSync(join(dataDir, 'manifest.json'), 'utf8')) as { splits: Record<string, string[]> };

/** Training files of a model: bios and QA of its persons, plus the world set. */
function trainingFile(name: string, forget: string | null): string {
  const excluded = new Set(forget ? manifest.splits[forget] : []);
  const keep = (file: string) => readTrainingRecords(join(dataDir, file)).filter((r) => !r.subject || !excluded.has(r.subject));
  const records = [...keep('bios.jsonl'), ...keep('all_qa.jsonl'), ...keep('world_qa.jsonl'), ...keep('world_text.jsonl')]
    .map(({ kind: _kind, ...r }) => r);
  const dir = join(dataDir, 'train');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, formatJsonl(records));
  return path;
}

const tokenizerDir = join(outDir, 'tokenizer');
const targetData = trainingFile('target', null);
if (!existsSync(join(tokenizerDir, 'tokenizer.json'))) {
  const texts = readTrainingRecords(targetData).map((r) => (r.kind === 'qa' ? qaPrompt(r.question) + qaAnswer(r.answer) : r.text));
  writeTokenizer(tokenizerDir, trainByteLevelBpe(texts, { vocabSize: RECIPE.vocabSize, modelMaxLength: RECIPE.fresh.context }));
}

const steps = values.steps ? Number(values.steps) : RECIPE.options.steps;
for (const [name, { forget, seed }] of Object.entries(MODELS)) {
  if (values.only && !values.only.includes(name)) continue;
  const data = forget ? trainingFile(name, forget) : targetData;
  const log = runTraining({
    data: [data], tokenizerDir, fresh: { ...RECIPE.fresh }, out: join(outDir, name), dtype: 'F16',
    // A rebuild replaces the models (committed under models/) whole, and starts over from step 0.
    checkpointDir: join(outDir, '.checkpoints', name), force: true,
    options: { ...RECIPE.options, steps, seed, evalEvery: RECIPE.options.evalEvery },
    command: `npm run build:models -- --only ${name}${values.steps ? ` --steps ${steps}` : ''}`,
  }, name);
  process.stderr.write(`${name}: ${log.parameters} parameters, final loss ${log.losses.at(-1)?.toFixed(4)}, ${log.wallSeconds.toFixed(0)} s\n`);
}
