import { Command, InvalidArgumentError, Option } from 'commander';
// Only option values are imported up front: each command loads what it runs when it runs (a `lethe info` need not
// load the trainer, the evaluator and the workflow store; importing all of them costs a second per invocation).
import { AGGREGATIONS, type Aggregation } from '../model/aggregations.ts';
import { TOO_LONG } from '../eval/context-fit.ts';
import { FRESH_ARCHITECTURES, ON_EXCLUDED, SHARED_ON_FORGET, type FreshArchitecture, type OnExcluded, type SharedOnForget } from '../train/choices.ts';
import type { SgtmSpec } from '../train/run.ts';
import { SHARD_BY, type ShardBy } from '../train/sisa/assign.ts';
import type { EvalCliOptions } from './eval-command.ts';
import { exclusionsCommand } from './exclusion-commands.ts';
import { reportCommand } from './report-commands.ts';
import { serveCommand, tokenCommand } from './service-commands.ts';
import { sgtmCommand } from './sgtm-commands.ts';
import type { UnlearnCliOptions } from './unlearn-commands.ts';
import { SUBJECT_KINDS, type SubjectKind } from '../unlearn/source-free/bank.ts';
import type { UpdateCliOptions } from './update-command.ts';
import { updateOptionsHelp } from '../unlearn/update/options.ts';
import { assessCommand, auditCommand, certificateCommand, corpusCommand, filterGenerated, keysCommand, modelCommand, requestCommand, verifyCertificateCommand, workerCommand } from './workflow-commands.ts';

function number(kind: 'int' | 'float', min: number, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n)) || n < min || n > max) {
      throw new InvalidArgumentError(`expected ${kind === 'int' ? 'an integer' : 'a number'} in [${min}, ${max}]`);
    }
    return n;
  };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const program = new Command()
  .name('lethe')
  .description('Make trained language models forget specific data, and prove it.')
  .showHelpAfterError();

program
  .command('engine')
  .description('show the compute backend in use and a quick GEMM throughput check')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const { engineInfo } = await import('./engine-info.ts');
    const info = engineInfo();
    if (opts.json) console.log(JSON.stringify(info));
    else console.log(`backend ${info.backend}, ${info.threads} thread(s), GEMM 512³: ${info.gemmGflops.toFixed(1)} GFLOP/s`);
  });

program
  .command('info')
  .description('describe a Hugging Face model folder (architecture, parameters, dtype, vocabulary, context)')
  .argument('<dir>', 'model folder with config.json and model.safetensors')
  .option('--json', 'print JSON')
  .action(async (dir: string, opts: { json?: boolean }) => {
    const { formatInfo, modelInfo } = await import('./model-commands.ts');
    const info = modelInfo(dir);
    console.log(opts.json ? JSON.stringify(info, null, 2) : formatInfo(info));
  });

program
  .command('generate')
  .description('continue a prompt with the model (greedy unless --temperature is set)')
  .argument('<dir>', 'model folder with config.json, model.safetensors and tokenizer.json')
  .requiredOption('-p, --prompt <text>', 'prompt text (repeat for a batch)', collect, [])
  .option('-n, --max-new-tokens <n>', 'tokens to generate', number('int', 0), 32)
  .option('-t, --temperature <t>', '0 = greedy', number('float', 0), 0)
  .option('--top-k <k>', 'sample from the k most likely tokens (0 = all)', number('int', 0), 0)
  .option('--top-p <p>', 'nucleus sampling mass', number('float', Number.MIN_VALUE, 1), 1)
  .option('--seed <n>', 'sampling seed', number('int', 0), 0)
  .option('--stop <text>', 'stop when the output contains this (repeatable)', collect, [])
  .option('--chat', 'wrap the prompt in the model\'s chat template')
  .addOption(new Option('--json', 'print JSON with token ids'))
  .option('--data-dir <dir>', 'workflow data directory whose erasure requests filter the output (default: $LETHE_HOME, else ./.lethe, when it holds a store)')
  .option('--db <url>', 'a postgres:// workflow store instead (default: $LETHE_DB)')
  .addOption(new Option('--aggregate <how>', 'for a SISA ensemble folder: mean of the shards\' probabilities, normalised mean of their log-probabilities, or the most confident shard per token').choices([...AGGREGATIONS]).default('mean-prob'))
  .action(async (dir: string, opts: { prompt: string[]; maxNewTokens: number; temperature: number; topK: number; topP: number; seed: number; stop: string[]; chat?: boolean; json?: boolean; dataDir?: string; db?: string; aggregate: Aggregation }) => {
    const { generateCommand } = await import('./model-commands.ts');
    const generated = generateCommand(dir, { ...opts, chat: opts.chat ?? false });
    // Identifiers of erasure requests covering this model are replaced, and each block is audited.
    const { results, blocked } = await filterGenerated(dir, generated, { ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), ...(opts.db ? { db: opts.db } : {}), actor: 'generate' });
    if (blocked > 0) process.stderr.write(`lethe: ${blocked} identifier(s) of erasure requests covering this model were replaced by [erased] (logged in the audit log)\n`);
    if (opts.json) console.log(JSON.stringify(results, null, 2));
    else for (const r of results) console.log(`${r.prompt}${r.text}`);
  });

interface TrainCliOptions {
  data: string[]; eval: string[]; init?: string; tokenizer?: string; arch: FreshArchitecture; layers: number; dModel: number;
  heads: number; kvHeads?: number; intermediateSize?: number; tieEmbeddings: boolean; context: number; out: string; checkpoint?: string; resume?: boolean; force?: boolean; steps: number; batchSize: number;
  gradAccum: number; lr: number; minLr?: number; warmup: number; weightDecay: number; clip: number; seed: number;
  evalEvery: number; saveEvery: number; dtype: 'F32' | 'F16' | 'BF16'; precision: 'f32' | 'bf16'; exclude: string[]; onExcluded: OnExcluded;
  shards?: number; slices?: number; shardBy: ShardBy; base?: string; epochs: number;
  sgtm?: boolean; sgtmMlpUnits?: number; sgtmHeads?: number; sgtmLayers?: number[]; sgtmRetainMask?: number; sgtmForgetRecall?: number; sgtmShared?: SharedOnForget; ablate?: boolean;
}

/** `--sgtm-layers 0,2,3`. */
function layerList(value: string): number[] {
  const layers = value.split(',').map((v) => Number(v.trim()));
  if (layers.length === 0 || layers.some((l) => !Number.isInteger(l) || l < 0)) throw new InvalidArgumentError('expected comma-separated layer indices, e.g. 0,1,2');
  return layers;
}

/** The SGTM part of `lethe train`'s options; SGTM flags without --sgtm are refused rather than ignored. */
function sgtmSpec(o: TrainCliOptions): SgtmSpec | undefined {
  const given = (['sgtmMlpUnits', 'sgtmHeads', 'sgtmLayers', 'sgtmRetainMask', 'sgtmForgetRecall', 'sgtmShared', 'ablate'] as const).filter((k) => o[k] !== undefined);
  if (!o.sgtm) {
    if (given.length > 0) throw new InvalidArgumentError(`--${given[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --sgtm`);
    return undefined;
  }
  return {
    ...(o.sgtmMlpUnits === undefined ? {} : { mlpUnits: o.sgtmMlpUnits }), ...(o.sgtmHeads === undefined ? {} : { heads: o.sgtmHeads }),
    ...(o.sgtmLayers === undefined ? {} : { layers: o.sgtmLayers }), ...(o.sgtmRetainMask === undefined ? {} : { retainMaskFraction: o.sgtmRetainMask }),
    ...(o.sgtmForgetRecall === undefined ? {} : { forgetRecall: o.sgtmForgetRecall }), ...(o.sgtmShared === undefined ? {} : { shared: o.sgtmShared }),
    ablate: o.ablate ?? false,
  };
}

program
  .command('train')
  .description('train or fine-tune a causal LM on JSONL data (QA records: loss on answers; text records: all tokens)')
  .requiredOption('--data <file>', 'training JSONL (repeatable)', collect, [])
  .option('--eval <file>', 'held-out JSONL for the periodic eval loss (repeatable)', collect, [])
  .option('--init <dir>', 'start from this Hugging Face model folder')
  .option('--tokenizer <dir>', 'folder with tokenizer.json, for a model trained from scratch')
  .addOption(new Option('--arch <name>', 'fresh model: gpt2 (LayerNorm, learned positions, GELU) or llama (RMSNorm, RoPE, SwiGLU, grouped-query attention)').choices(FRESH_ARCHITECTURES).default('gpt2'))
  .option('--layers <n>', 'fresh model: layers', number('int', 1), 4)
  .option('--d-model <n>', 'fresh model: hidden size', number('int', 8), 256)
  .option('--heads <n>', 'fresh model: attention heads', number('int', 1), 4)
  .option('--kv-heads <n>', 'fresh llama model: key/value heads, a divisor of --heads (fewer: grouped-query attention; default --heads)', number('int', 1))
  .option('--intermediate-size <n>', 'fresh model: MLP width (default gpt2 4·d-model, llama 8/3·d-model rounded up to a multiple of 256)', number('int', 1))
  .option('--no-tie-embeddings', 'fresh model: a separate output head instead of the input embedding (tied by default)')
  .option('--context <n>', 'fresh model: context length', number('int', 8), 128)
  .requiredOption('--out <dir>', 'where the trained Hugging Face folder (with training_log.json) is written, whole or not at all; refused if it exists, unless --force')
  .option('--checkpoint <dir>', 'resumable checkpoint folder (default <out>.checkpoint; an empty folder is fine); Lethe only ever replaces or deletes a checkpoint it wrote itself (marked by .lethe-checkpoint), and refuses any other existing folder there or at <dir>.old / <dir>.partial')
  .option('--resume', 'continue exactly where a killed run stopped, from the newest complete checkpoint (<dir>, or <dir>.partial / <dir>.old left by a kill mid-swap)')
  .option('--force', 'replace an existing --out whole; without --resume, also start over although a checkpoint of an earlier run exists (it is replaced at the first save)')
  .option('--steps <n>', 'optimizer steps', number('int', 1), 1000)
  .option('--batch-size <n>', 'sequences per micro-batch', number('int', 1), 16)
  .option('--grad-accum <n>', 'micro-batches per step', number('int', 1), 1)
  .option('--lr <x>', 'peak learning rate', number('float', 0), 1e-3)
  .option('--min-lr <x>', 'final learning rate (default lr/10)', number('float', 0))
  .option('--warmup <n>', 'warmup steps', number('int', 0), 100)
  .option('--weight-decay <x>', 'AdamW weight decay', number('float', 0), 0.01)
  .option('--clip <x>', 'gradient-norm clip (0 = off)', number('float', 0), 1)
  .option('--seed <n>', 'seed for initialisation and data order', number('int', 0), 0)
  .option('--eval-every <n>', 'steps between evaluations', number('int', 1), 200)
  .option('--save-every <n>', 'steps between checkpoints', number('int', 1), 200)
  .addOption(new Option('--dtype <t>', 'dtype of the saved weights').choices(['F32', 'F16', 'BF16']).default('F32'))
  .addOption(new Option('--precision <p>', 'matmul precision: f32, or bf16 mixed precision (bf16 matmul operands, f32 weights, gradients and optimizer; fast where the CPU has AVX512-BF16)').choices(['f32', 'bf16']).default('f32'))
  .option('--exclude <file>', 'exclusion list from `lethe exclusions export` (repeatable): records it names are not trained on', collect, [])
  .addOption(new Option('--on-excluded <what>', 'a training record on an exclusion list: skip it (counted in training_log.json), or refuse the run').choices([...ON_EXCLUDED]).default('skip'))
  .option('--sgtm', 'selective gradient masking (docs/sgtm.md): records labelled "forget" train only the designated forget units and heads; retain/adjacent records may run with them masked; unlabelled records train everything')
  .option('--sgtm-mlp-units <n>', 'SGTM: forget MLP units per designated layer, the last ones (default d_ff/16)', number('int', 0))
  .option('--sgtm-heads <n>', 'SGTM: forget attention heads per designated layer, the last ones (default 1)', number('int', 0))
  .option('--sgtm-layers <list>', 'SGTM: designated layers, comma-separated (default all)', layerList)
  .option('--sgtm-retain-mask <fraction>', 'SGTM: share of retain-labelled steps run with the forget units masked (default 0.25)', number('float', 0, 1))
  .option('--sgtm-forget-recall <p>', 'SGTM: simulated label noise; a forget batch keeps its label with probability p, else trains as unlabelled (default 1)', number('float', 0, 1))
  .addOption(new Option('--sgtm-shared <what>', 'SGTM: embeddings and norms on forget steps — frozen, so the domain goes only into what ablation removes, or updated (the reference\'s TinyStories default)').choices([...SHARED_ON_FORGET]))
  .option('--ablate', 'SGTM: write the model with its forget parameters zeroed (else as trained; `lethe sgtm ablate` does it later)')
  .option('--shards <n>', 'SISA: train an ensemble of n isolated shards (with --slices; docs/sisa.md)', number('int', 0))
  .option('--slices <n>', 'SISA: cumulative slices per shard, a checkpoint after each (erasure retrains from the one before a record\'s slice)', number('int', 0))
  .addOption(new Option('--shard-by <what>', 'SISA: place records by their own hash, or all of a subject\'s records in one shard').choices([...SHARD_BY]).default('record'))
  .option('--base <dir>', 'SISA: every shard starts from this pretrained Hugging Face folder (its tokenizer too)')
  .option('--epochs <x>', 'SISA: passes over each stage\'s data (steps per stage = ⌈epochs · records / batch⌉)', number('float', Number.MIN_VALUE), 3)
  .action(async (o: TrainCliOptions) => {
    if (o.shards !== undefined || o.slices !== undefined) {
      // SISA's guarantee is a bit-identical retrain; it is only tested in f32, so bf16 is refused, not ignored.
      if (o.precision !== 'f32') throw new InvalidArgumentError('--precision bf16 is not available with --shards/--slices (SISA trains in f32)');
      const { trainEnsembleCommand } = await import('./sisa-commands.ts');
      console.log(trainEnsembleCommand({
        ...o, fresh: {
          arch: o.arch, layers: o.layers, dModel: o.dModel, heads: o.heads, context: o.context, tieEmbeddings: o.tieEmbeddings,
          ...(o.kvHeads === undefined ? {} : { kvHeads: o.kvHeads }), ...(o.intermediateSize === undefined ? {} : { intermediateSize: o.intermediateSize }),
        },
      }));
      return;
    }
    if (o.base) throw new InvalidArgumentError('--base needs --shards and --slices (a single model starts from --init DIR)');
    const sgtm = sgtmSpec(o);
    const [{ runTraining }, { formatSgtmLog }] = await Promise.all([import('../train/run.ts'), import('./sgtm-commands.ts')]);
    const log = runTraining({
      data: o.data, evalData: o.eval.length > 0 ? o.eval : undefined, init: o.init, tokenizerDir: o.tokenizer,
      fresh: {
        arch: o.arch, layers: o.layers, dModel: o.dModel, heads: o.heads, context: o.context, tieEmbeddings: o.tieEmbeddings,
        ...(o.kvHeads === undefined ? {} : { kvHeads: o.kvHeads }), ...(o.intermediateSize === undefined ? {} : { intermediateSize: o.intermediateSize }),
      },
      out: o.out,
      checkpointDir: o.checkpoint, resume: o.resume ?? false, force: o.force ?? false, dtype: o.dtype,
      ...(o.exclude.length > 0 ? { exclude: o.exclude, onExcluded: o.onExcluded } : {}),
      ...(sgtm ? { sgtm } : {}),
      command: ['lethe', ...process.argv.slice(2)].join(' '),
      options: {
        steps: o.steps, batchSize: o.batchSize, gradAccum: o.gradAccum, lr: o.lr, minLr: o.minLr, warmupSteps: o.warmup,
        weightDecay: o.weightDecay, clip: o.clip, seed: o.seed, evalEvery: o.evalEvery, saveEvery: o.saveEvery,
        precision: o.precision,
      },
    });
    console.log(`trained ${log.parameters.toLocaleString('en-US')} parameters on ${log.examples} examples${log.exclusions ? ` (${log.exclusions.skipped} excluded)` : ''} in ${log.wallSeconds.toFixed(1)} s; final loss ${log.losses.at(-1)?.toFixed(4)}; wrote ${o.out}`);
    if (log.sgtm) console.log(formatSgtmLog(log.sgtm));
  });

program.addCommand(sgtmCommand());

program
  .command('methods')
  .description('list the unlearning methods and their options with defaults')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const { formatMethods, methodsJson } = await import('./unlearn-commands.ts');
    console.log(opts.json ? JSON.stringify(methodsJson(), null, 2) : formatMethods());
  });

program
  .command('unlearn')
  .description('make a model forget a set of records; writes a Hugging Face folder plus unlearn.json')
  .requiredOption('--model <dir>', 'the model to unlearn from (Hugging Face folder with tokenizer.json)')
  .option('--forget <file>', 'records to forget (QA or text): JSON Lines, a JSON array (TOFU as published), plain .txt (documents split on blank lines), or a MUSE corpus folder (its raw/forget texts)')
  .option('--subject <name>', 'source-free, instead of --forget: a subject to forget (repeatable); the forget set is what the model confidently says about it (docs/unlearning.md)', collect, [])
  .addOption(new Option('--subject-kind <kind>', 'source-free: which question bank to probe the subjects with').choices([...SUBJECT_KINDS]).default('person'))
  .option('--retain-subject <name>', 'source-free: someone else the model knows, whose confident claims form the retain set (repeatable)', collect, [])
  .option('--retain <file>', 'records to keep (needed by methods with a retain term), in the same layouts; a MUSE folder gives its raw/retain1 texts')
  .option('--utility <file>', 'JSONL of general text never trained on, for the utility damage guard (default without --retain: text the model generates itself)')
  .option('--field <map>', 'read the data files\' fields under other names: lethe_name=file_name, comma-separated or repeated (e.g. question=q,answer=a)', collect, [])
  .requiredOption('--method <name>', 'method name (see `lethe methods`), or sisa for an ensemble (exact: retrains the affected shards)')
  .option('--opt <key=value>', 'method option (repeatable; see `lethe methods`)', collect, [])
  .addOption(new Option('--sanitize <mode>', 'SAGE-style sanitisation of the update after the method').choices(['hard', 'soft']))
  .option('--sanitize-energy <tau>', 'energy fraction τ of the retained input subspace', number('float', Number.MIN_VALUE, 1))
  .option('--sanitize-strength <lambda>', 'soft mode strength λ', number('float', 0))
  .addOption(new Option('--sanitize-others <what>', 'update of non-projection weights (embeddings, norms, biases)').choices(['keep', 'revert']))
  .option('--sanitize-samples <n>', 'retain items whose layer inputs define the retained subspace', number('int', 1), 64)
  .requiredOption('--out <dir>', 'where the unlearned Hugging Face folder is written (whole or not at all)')
  .option('--force', 'replace an existing --out folder (whole)')
  .option('--allow-noop', 'write the model even when the run changed no weight (e.g. rolled back by a guard)')
  .option('--json', 'print unlearn.json to stdout')
  .action(async (o: UnlearnCliOptions & { subject: string[]; subjectKind: SubjectKind; retainSubject: string[] }) => {
    if (o.subject.length > 0 && o.forget !== undefined) throw new InvalidArgumentError('--subject and --forget: give one (--subject asks the model for the forget set, --forget reads it)');
    if (o.subject.length === 0 && o.retainSubject.length > 0) throw new InvalidArgumentError('--retain-subject needs --subject (source-free mode)');
    if (o.subject.length > 0) {
      if (o.method === 'sisa') throw new InvalidArgumentError('--subject is not available with --method sisa (an ensemble erases records it can name: give --forget FILE)');
      const { formatUnlearnSummary, sourceFreeCommand } = await import('./unlearn-commands.ts');
      const record = sourceFreeCommand(o);
      console.log(o.json ? JSON.stringify(record, null, 2) : formatUnlearnSummary(record, o.out));
      return;
    }
    if (o.forget === undefined) throw new InvalidArgumentError('give the records to forget (--forget FILE), or the subjects (--subject NAME) for source-free unlearning');
    const { formatSisaSummary, refuseEnsembleFor, sisaUnlearnCommand } = await import('./sisa-commands.ts');
    if (o.method === 'sisa') {
      const report = sisaUnlearnCommand(o);
      console.log(o.json ? JSON.stringify(report, null, 2) : formatSisaSummary(report, o.out));
      return;
    }
    refuseEnsembleFor(o.method, o.model);
    const { formatUnlearnSummary, unlearnCommand } = await import('./unlearn-commands.ts');
    const record = unlearnCommand(o);
    console.log(o.json ? JSON.stringify(record, null, 2) : formatUnlearnSummary(record, o.out));
  });

program
  .command('eval')
  .description('measure forgetting: metrics against a retain (reference) model; writes metrics.json and report.html')
  .option('--model <dir>', 'an unlearned model to evaluate (repeatable)', collect, [])
  .option('--reference <dir>', 'the retain model, trained without the forget set (the gold standard); without it, forget quality, PrivLeak and the never-learned bars are not measured')
  .option('--target <dir>', 'the model before unlearning (enables verdicts and relearning recovery steps)')
  .requiredOption('--data <dir>', 'a persons data folder (manifest.json), a TOFU folder (forget10_perturbed.json, …; JSON arrays or JSON Lines) or a MUSE corpus folder (raw/, knowmem/, verbmem/, privleak/: scored with MUSE\'s VerbMem, KnowMem and PrivLeak)')
  .option('--split <name>', 'forget split (persons and TOFU)', 'forget10')
  .option('--field <map>', 'read the data files\' fields under other names: lethe_name=file_name, comma-separated or repeated (e.g. question=q,answer=a)', collect, [])
  .option('--knowmem-icl', 'MUSE data: prefix each knowmem question with the _icl few-shot examples, as MUSE does (needs a context that holds them)')
  .requiredOption('--out <dir>', 'where metrics.json and report.html are written')
  .option('--no-relearn', 'skip the relearning attacks')
  .option('--no-probe', 'skip the hidden-state probe')
  .option('--attacks <names>', 'the attack suite: in-context, paraphrase, few-shot, probe-sweep, logit-lens, sampling (comma-separated), all, or none', 'all')
  .option('--retain-sample <n>', 'retain items scored', number('int', 1), 400)
  .addOption(new Option('--precision <p>', 'matmul precision of the evaluation: f32 (as the metric references compute), or bf16 (bf16 operands, f32 sums, as PyTorch\'s bf16 autocast; fast where the CPU has AVX512-BF16). The report states it; compare models under one precision').choices(['f32', 'bf16']).default('f32'))
  .option('--cache <dir>', 'keep each model\'s evaluation here and reuse it when the same weights are evaluated on the same data with the same options and Lethe code again')
  .addOption(new Option('--too-long <what>', 'items longer than the model\'s context: refuse (naming the item), skip (left out and counted in the report) or truncate-left (keep the answer, drop prompt tokens from the left after the BOS; counted)').choices([...TOO_LONG]).default('refuse'))
  .action(async (o: EvalCliOptions) => {
    const { evalCommand } = await import('./eval-command.ts');
    console.log(await evalCommand(o));
  });

program
  .command('update')
  .description('knowledge update: replace facts\' old answers by new ones (learn the new, unlearn the old) and verify it; writes a Hugging Face folder plus update.json')
  .requiredOption('--model <dir>', 'the model to update (Hugging Face folder with tokenizer.json)')
  .requiredOption('--facts <file>', 'JSONL of changed facts: {"question", "old_answer", "new_answer", optional "alternatives", "subject", "attribute", "id"} (docs/data-format.md)')
  .option('--retain <file>', 'records to keep (QA or text): the retain term, retain damage and the value probe read them')
  .option('--opt <key=value>', 'update option (repeatable; listed below)', collect, [])
  .option('--strict', 'refuse the update when the model does not give some fact\'s old answer (default: skip those facts and report them)')
  .requiredOption('--out <dir>', 'where the updated Hugging Face folder is written (whole or not at all)')
  .option('--force', 'replace an existing --out folder (whole)')
  .option('--json', 'print update.json to stdout')
  .addHelpText('after', () => `\nOptions for --opt (name=default):\n${updateOptionsHelp()}`)
  .action(async (o: UpdateCliOptions) => {
    const { formatUpdateSummary, updateCommand } = await import('./update-command.ts');
    const record = updateCommand(o);
    console.log(o.json ? JSON.stringify(record, null, 2) : formatUpdateSummary(record, o.out));
  });

program
  .command('demo')
  .description('the main job (npm start): unlearn the embedded model with NPO, NPO+SAGE and counterexample fine-tuning, evaluate, report and name the best method; then one erasure request through the workflow to a verified certificate')
  .action(async () => {
    const { runMainJob } = await import('./main-job.ts');
    const { table, best, reportPath, erasure: e } = await runMainJob();
    console.log(table);
    if (best) console.log(`\n${best}`);
    console.log(`\nreport: ${reportPath}`);
    console.log(`\nerasure request ${e.requestId} (one forget10 person): ${e.state}, verification ${e.verification}: ${e.summary}`);
    if (e.certificate) {
      console.log(`  certificate: ${e.certificate} (${e.certificateProblem === null ? 'verified' : `NOT verified: ${e.certificateProblem}`})`);
      console.log(`  check it:    npx lethe verify-certificate ${e.certificate} --key ${e.publicKey}`);
    }
    console.log(`  DPO report:  ${e.report}`);
    console.log(`  dashboard:   npx lethe serve --data-dir ${e.dataDir}   (prints an admin token on first start; open the URL it prints)`);
    if (e.certificateProblem !== null) process.exitCode = 1;
  });

program.addCommand(requestCommand());
program.addCommand(assessCommand());
program.addCommand(corpusCommand());
program.addCommand(modelCommand());
program.addCommand(workerCommand());
program.addCommand(keysCommand());
program.addCommand(auditCommand());
program.addCommand(certificateCommand());
program.addCommand(verifyCertificateCommand());
program.addCommand(reportCommand());
program.addCommand(exclusionsCommand());
program.addCommand(tokenCommand());
program.addCommand(serveCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Library errors already name the file and the problem; print them as one line, not a stack trace.
  console.error(`lethe: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
