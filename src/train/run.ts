import { readTrainingRecords } from '../data/jsonl.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { createModel, loadModel, writeModelFolder } from '../model/checkpoint.ts';
import { parseConfig } from '../model/config.ts';
import { initWeights } from '../model/init.ts';
import { checkOutputAgainstInputs, checkOutputFolder, OutputError } from '../model/io/output-folder.ts';
import type { SaveDType } from '../model/safetensors/write.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import { checkpointPaths, checkpointStep, inspectCheckpoint, newestComplete } from './checkpoint-folder.ts';
import { buildExamples } from './examples.ts';
import { formatExclusions, readTrainingExcluding, type ExclusionReport } from './exclusions.ts';
import { FRESH_ARCHITECTURES, type FreshArchitecture, type OnExcluded, type SharedOnForget } from './choices.ts';
import { Progress } from '../util/progress.ts';
import { train, type EvalInfo, type TrainOptions } from './trainer.ts';
import type { RecordLabel } from '../data/schema.ts';
import { ablateInPlace, designate, forgetParameterCount, withDesignation, type SgtmDesignation } from './sgtm.ts';
import { sgtmSource, type SgtmStepKind } from './sgtm-steps.ts';

/** The shape of a model trained from scratch. */
export interface FreshModelSpec {
  /** GPT-2 (LayerNorm, learned positions, GELU MLP) or Llama (RMSNorm, RoPE, SwiGLU, grouped-query attention). Default gpt2. */
  arch?: FreshArchitecture;
  layers: number;
  dModel: number;
  heads: number;
  context: number;
  /** Llama: key/value heads (grouped-query attention when fewer than heads; a divisor of heads). Default: heads. */
  kvHeads?: number;
  /** MLP width. Default: GPT-2 4·dModel; Llama 8/3·dModel rounded up to a multiple of 256, as Llama's reference code. */
  intermediateSize?: number;
  /** Share the input embedding with the output head. Default true. */
  tieEmbeddings?: boolean;
}

/** Llama 2's values (transformers' LlamaConfig defaults, but for its rms_norm_eps of 1e-6), written out in config.json. */
const LLAMA_FRESH = { rmsNormEps: 1e-5, ropeTheta: 10000, initializerRange: 0.02 } as const;

/**
 * The config.json of a fresh model with this tokenizer: what transformers' GPT2LMHeadModel or LlamaForCausalLM
 * loads unchanged. Shape errors are reported against the spec's CLI flags.
 */
export function freshConfig(f: FreshModelSpec, tok: Pick<Tokenizer, 'vocabSize' | 'bosId' | 'eosId'>): Record<string, unknown> {
  const arch = f.arch ?? 'gpt2';
  if (!(FRESH_ARCHITECTURES as readonly string[]).includes(arch)) throw new Error(`--arch ${String(arch)}: not one of ${FRESH_ARCHITECTURES.join(', ')}`);
  if (f.dModel % f.heads !== 0) throw new Error(`--d-model ${f.dModel} is not divisible by --heads ${f.heads}`);
  const tie = f.tieEmbeddings ?? true;
  if (arch === 'gpt2') {
    if (f.kvHeads !== undefined && f.kvHeads !== f.heads) throw new Error(`--kv-heads ${f.kvHeads}: GPT-2 has one key/value head per attention head; grouped-query attention needs --arch llama`);
    return {
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: tok.vocabSize, n_positions: f.context,
      n_embd: f.dModel, n_layer: f.layers, n_head: f.heads, ...(f.intermediateSize ? { n_inner: f.intermediateSize } : {}),
      activation_function: 'gelu_new', bos_token_id: tok.bosId, eos_token_id: tok.eosId, tie_word_embeddings: tie,
    };
  }
  const kvHeads = f.kvHeads ?? f.heads;
  if (!Number.isInteger(kvHeads) || kvHeads < 1 || f.heads % kvHeads !== 0) throw new Error(`--kv-heads ${kvHeads} must divide --heads ${f.heads}`);
  const headDim = f.dModel / f.heads;
  if (headDim % 2 !== 0) throw new Error(`head size ${headDim} (--d-model / --heads) must be even for rotary positions`);
  return {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: tok.vocabSize, hidden_size: f.dModel,
    intermediate_size: f.intermediateSize ?? Math.ceil((8 * f.dModel) / 3 / 256) * 256, num_hidden_layers: f.layers,
    num_attention_heads: f.heads, num_key_value_heads: kvHeads, head_dim: headDim, max_position_embeddings: f.context,
    hidden_act: 'silu', rms_norm_eps: LLAMA_FRESH.rmsNormEps, rope_theta: LLAMA_FRESH.ropeTheta, rope_scaling: null,
    attention_bias: false, attention_dropout: 0, mlp_bias: false, pretraining_tp: 1, initializer_range: LLAMA_FRESH.initializerRange,
    use_cache: true, tie_word_embeddings: tie, bos_token_id: tok.bosId, eos_token_id: tok.eosId,
  };
}

export interface TrainingSpec {
  data: string[];
  evalData?: string[];
  /** Start from this Hugging Face folder (its tokenizer too)… */
  init?: string;
  /** …or build a fresh model of shape `fresh` with this tokenizer folder. */
  tokenizerDir?: string;
  fresh?: FreshModelSpec;
  out: string;
  /** Resumable checkpoints (default: `<out>.checkpoint`). */
  checkpointDir?: string;
  resume?: boolean;
  /** Replace an existing `out` whole, and start over although a complete checkpoint exists (replaced at the first save). */
  force?: boolean;
  dtype?: SaveDType;
  /** Exclusion lists (`lethe exclusions export`): records they name are skipped, or the run refused (onExcluded, default skip). */
  exclude?: string[];
  onExcluded?: OnExcluded;
  options: Omit<TrainOptions, 'padId' | 'checkpointDir' | 'tokenizerDir'>;
  /** Train with selective gradient masking on the records' labels (src/train/sgtm.ts); the folder records the designation. */
  sgtm?: SgtmSpec;
  /** Recorded in the training log so the run can be recreated. */
  command?: string;
}

export interface SgtmSpec {
  /** Forget MLP units per designated layer (default d_ff/16), forget heads (default 1), layers (default all). */
  mlpUnits?: number;
  heads?: number;
  layers?: number[];
  /** Default 0.25 (the reference's TinyStories runs; its Wikipedia runs used 0.1). */
  retainMaskFraction?: number;
  /** Default 1 (every forget label kept). */
  forgetRecall?: number;
  /** Embeddings and norms on forget steps: frozen (default) or learning (see SharedOnForget). */
  shared?: SharedOnForget;
  /** Write the model with its forget parameters zeroed (default: as trained; `lethe sgtm ablate` does it later). */
  ablate?: boolean;
}

/** What an SGTM run designated and did, in its training log. */
export interface SgtmLog {
  designation: SgtmDesignation;
  retainMaskFraction: number;
  forgetRecall: number;
  shared: SharedOnForget;
  /** Steps run of each kind (label noise turns forget steps into default ones). */
  steps: Record<SgtmStepKind, number>;
  forgetParameters: number;
  ablated: boolean;
}

export interface TrainingLog {
  command: string | null;
  spec: Omit<TrainingSpec, 'command'>;
  parameters: number;
  examples: number;
  losses: number[];
  evals: EvalInfo[];
  /** The checkpoint step a resumed run continued from (null: trained from step 0). */
  resumedFrom: number | null;
  /** What the exclusion lists left out (null: none given). */
  exclusions: ExclusionReport | null;
  /** Present for SGTM runs. */
  sgtm?: SgtmLog;
  wallSeconds: number;
  finishedAt: string;
}

function loadRecords(files: readonly string[]) {
  return files.flatMap((f) => readTrainingRecords(f));
}

type Input = { path: string; what: string };

/** What the run reads: no output (the model folder, the checkpoint) may be, contain or lie inside one of them. */
function inputsOf(spec: TrainingSpec): Input[] {
  return [
    ...spec.data.map((path) => ({ path, what: 'training data' })),
    ...(spec.evalData ?? []).map((path) => ({ path, what: 'eval data' })),
    ...(spec.init ? [{ path: spec.init, what: 'initial model (--init)' }] : []),
    ...(spec.tokenizerDir ? [{ path: spec.tokenizerDir, what: 'tokenizer folder' }] : []),
    ...(spec.exclude ?? []).map((path) => ({ path, what: 'exclusion list (--exclude)' })),
  ];
}

/**
 * Everything that can be refused is refused before any data is read or any step is trained: an output or checkpoint
 * that overlaps an input or each other (by real path, so symlinks do not hide it), a symlinked output, an existing
 * output without force, a checkpoint path holding something that is not Lethe's, a resume with nothing to resume,
 * and a fresh run that would discard a complete checkpoint without force.
 */
function checkPaths(spec: TrainingSpec, checkpointDir: string): Input[] {
  const inputs = inputsOf(spec);
  const ck = checkpointPaths(checkpointDir);
  inspectCheckpoint(checkpointDir);
  for (const path of [ck.dir, ck.partial, ck.old]) checkOutputAgainstInputs(path, inputs);
  const checkpoints = [ck.dir, ck.partial, ck.old].map((path) => ({ path, what: 'checkpoint folder' }));
  checkOutputFolder(spec.out, [...inputs, ...checkpoints], spec.force);
  const found = newestComplete(checkpointDir);
  if (spec.resume && !found) throw new Error(`${ck.dir}: nothing to resume (no complete checkpoint there, nor as ${ck.partial} or ${ck.old})`);
  if (!spec.resume && found && !spec.force) {
    const step = checkpointStep(found);
    throw new OutputError(found, `holds the checkpoint of an earlier run${step === null ? '' : ` (step ${step})`}; pass --resume to continue it, or --force to start over (it is replaced at the first save)`);
  }
  return [...inputs, ...checkpoints];
}

/**
 * Where training starts: a pretrained folder (its tokenizer too), or a fresh model of the given shape with that
 * tokenizer, initialised from the seed. `initFlag` names the folder option in the error.
 */
export function startingModel(init: string | undefined, tokenizerDir: string | undefined, fresh: FreshModelSpec | undefined, seed: number,
  initFlag: string): { model: CausalLM; tokenizerDir: string } {
  if (init) return { model: loadModel(init).model, tokenizerDir: init };
  if (!tokenizerDir || !fresh) throw new Error(`give ${initFlag}, or --tokenizer DIR with the model shape, to train from scratch`);
  const model = createModel(parseConfig(freshConfig(fresh, Tokenizer.fromDir(tokenizerDir)), 'the fresh model spec'));
  initWeights(model, seed);
  return { model, tokenizerDir };
}

/** An SGTM run's designation and step source, every option checked before the first step. */
function sgtmPlan(o: SgtmSpec, model: CausalLM, examples: ReturnType<typeof buildExamples>, labels: (RecordLabel | undefined)[],
  options: TrainingSpec['options']) {
  const designation = designate(model.config, o);
  const retainMaskFraction = o.retainMaskFraction ?? 0.25;
  const forgetRecall = o.forgetRecall ?? 1;
  const shared = o.shared ?? 'freeze';
  const source = sgtmSource(examples, labels, options.seed, options.batchSize, { designation, retainMaskFraction, forgetRecall, shared });
  return { designation, retainMaskFraction, forgetRecall, shared, source };
}

/**
 * Reads the data, builds or loads the model, trains with progress (resumable checkpoints in `checkpointDir`), and
 * writes the HF folder plus training_log.json whole or not at all.
 */
export function runTraining(spec: TrainingSpec, progressLabel = 'train', progressStream?: NodeJS.WriteStream): TrainingLog {
  const started = performance.now();
  if (spec.data.length === 0) throw new Error('no training data given');
  // `<out>/` must not put the default checkpoint inside the output.
  const checkpointDir = spec.checkpointDir ?? `${spec.out.replace(/[\\/]+$/, '') || spec.out}.checkpoint`;
  const inputs = checkPaths(spec, checkpointDir);
  const { records, exclusions } = readTrainingExcluding(spec.data, spec.exclude ?? [], spec.onExcluded ?? 'skip');
  if (exclusions) (progressStream ?? process.stderr).write(formatExclusions(exclusions).replace(/^/gm, `${progressLabel}: `) + '\n');
  if (records.length === 0) throw new Error(`${spec.data.join(', ')}: no training records`);
  const start = startingModel(spec.init, spec.tokenizerDir, spec.fresh, spec.options.seed, '--init DIR');
  let model = start.model;
  const tokenizerDir = start.tokenizerDir;
  const tokenizer = Tokenizer.fromDir(tokenizerDir);
  const padId = tokenizer.padId ?? 0;
  const examples = buildExamples(records, tokenizer, model.config.maxPositions);
  const evalExamples = spec.evalData ? buildExamples(loadRecords(spec.evalData), tokenizer, model.config.maxPositions) : [];
  const sgtm = spec.sgtm ? sgtmPlan(spec.sgtm, model, examples, records.map((r) => r.label), spec.options) : null;

  const progress = new Progress({ total: spec.options.steps, label: progressLabel, unit: 'tok/s', ...(progressStream ? { stream: progressStream } : {}) });
  const kinds: Record<SgtmStepKind, number> = { forget: 0, 'retain-masked': 0, default: 0 };
  const result = train(model, examples, { ...spec.options, padId, checkpointDir, tokenizerDir }, {
    onStep: (s) => {
      if (s.kind) kinds[s.kind as SgtmStepKind]++;
      progress.update(s.step, s.tokens, `loss ${s.loss.toFixed(4)} lr ${s.lr.toExponential(2)}${s.kind ? ` ${s.kind}` : ''}`);
    },
    onEval: (e) => progress.note(`step ${e.step}: eval loss ${e.loss.toFixed(4)}`),
  }, evalExamples, spec.resume ?? false, sgtm ? { source: sgtm.source } : {});

  let trained = result.model;
  let sgtmLog: SgtmLog | undefined;
  if (sgtm) {
    const ablated = spec.sgtm?.ablate ?? false;
    trained = withDesignation(result.model, sgtm.designation, ablated);
    const forgetParameters = ablated ? ablateInPlace(trained, sgtm.designation) : forgetParameterCount(trained, sgtm.designation);
    sgtmLog = { designation: sgtm.designation, retainMaskFraction: sgtm.retainMaskFraction, forgetRecall: sgtm.forgetRecall, shared: sgtm.shared, steps: kinds, forgetParameters, ablated };
  }
  const { command, ...rest } = spec;
  const log: TrainingLog = {
    command: command ?? null, spec: rest, parameters: result.model.params.count(), examples: examples.length,
    losses: result.losses, evals: result.evals, resumedFrom: spec.resume ? result.startStep : null, exclusions,
    ...(sgtmLog ? { sgtm: sgtmLog } : {}),
    wallSeconds: (performance.now() - started) / 1000, finishedAt: new Date().toISOString(),
  };
  writeModelFolder(trained, spec.out, {
    dtype: spec.dtype ?? 'F32', copyFrom: tokenizerDir, force: spec.force, inputs,
    extraFiles: { 'training_log.json': JSON.stringify(log, null, 1) + '\n' },
  });
  return log;
}
