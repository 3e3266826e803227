/**
 * The `unlearn` suite: every method with its default options on persons forget10, starting from the embedded
 * target of each architecture (GPT-2: models/target, Llama: models/llama/target; LETHE_BENCH_ARCH=llama or gpt2 runs
 * one). One line per method per architecture: the forget-answer probability against that architecture's retain
 * model's (the exact-unlearning gold standard, trained without the forget persons) as the peer, so ratio = peer /
 * ours and ratio ≥ 0.5 means "at most 2× the retain model's"; then the retain-answer probability (bar: ≥ 0.9× the
 * target's), world-text perplexity, the same numbers for the retain model and the target, wall time and steps.
 * Then one line per attack measure (src/eval/attacks, on 50 forget items with 4 samples, as the main job runs them):
 * the unlearned model's value with the retain model's as the peer, the allowance above it, the target's value, and
 * whether the attack recovers clearly more than from the retain model. The `best` case (unlearn-best.ts) runs the
 * candidates for true forgetting as the main job does and judges them by the bars of src/eval/goals.ts.
 */
import { runAttacks, type AttackName, type AttackResult } from '../../src/eval/attacks/index.ts';
import { allowance } from '../../src/eval/attacks/bar.ts';
import { fitSetsToContext } from '../../src/eval/context-fit.ts';
import { loadEvalSets } from '../../src/eval/datasets.ts';
import type { CausalLM } from '../../src/model/arch/types.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { getMethod } from '../../src/unlearn/registry.ts';
import { parseOptions } from '../../src/unlearn/options.ts';
import { openContext, sanitizeContext } from '../../src/unlearn/run.ts';
import { DEFAULT_SANITIZE } from '../../src/unlearn/sanitize.ts';
import { EMBEDDED, measure, measureFolder, qualitySets, verdict } from '../../tools/unlearn-quality.ts';
import { makeLine, round } from '../lib/report.ts';
import { runBestCase } from './unlearn-best.ts';
import type { Suite } from '../lib/types.ts';

interface UnlearnCase {
  method: string;
  options: string[];
  /** SAGE-style sanitisation after the method, with the default options. */
  sanitize: boolean;
}

const CASES: Record<string, UnlearnCase> = {
  'grad-ascent': { method: 'grad-ascent', options: [], sanitize: false },
  'grad-diff': { method: 'grad-diff', options: [], sanitize: false },
  'grad-diff-kl': { method: 'grad-diff', options: ['retainLoss=kl'], sanitize: false },
  npo: { method: 'npo', options: [], sanitize: false },
  'npo+sage': { method: 'npo', options: [], sanitize: true },
  simnpo: { method: 'simnpo', options: [], sanitize: false },
  wga: { method: 'wga', options: [], sanitize: false },
  satimp: { method: 'satimp', options: [], sanitize: false },
  'ce-u': { method: 'ce-u', options: [], sanitize: false },
  undial: { method: 'undial', options: [], sanitize: false },
  'grad-diff-pdu': { method: 'grad-diff', options: ['primalDual=true'], sanitize: false },
  'idk-ft': { method: 'idk-ft', options: [], sanitize: false },
  'dpo-idk': { method: 'dpo-idk', options: [], sanitize: false },
  counterexample: { method: 'counterexample', options: [], sanitize: false },
  'counterexample-nll': { method: 'counterexample', options: ['form=nll', 'baseLr=1e-3', 'alpha=1', 'epochs=6'], sanitize: false },
  indifference: { method: 'indifference', options: [], sanitize: false },
  'task-vector': { method: 'task-vector', options: [], sanitize: false },
  rmu: { method: 'rmu', options: [], sanitize: false },
  'localized-ablation': { method: 'localized-ablation', options: [], sanitize: false },
};

/** The attacks and their sizes: the main job's (src/cli/main-job.ts), which few-shot prompting is left out of. */
const ATTACKS: AttackName[] = ['in-context', 'paraphrase', 'probe-sweep', 'logit-lens', 'sampling'];
const ATTACK_OPTIONS = { items: 50, samples: 4 };

/** Every attack measure with a value, by "attack/key". */
function attackValues(results: readonly AttackResult[]): Map<string, { value: number; n: number; label: string }> {
  const out = new Map<string, { value: number; n: number; label: string }>();
  for (const r of results) {
    for (const m of r.measures) if (m.value !== null) out.set(`${r.attack}/${m.key}`, { value: m.value, n: m.n, label: m.label });
  }
  return out;
}

/** The architectures to run: LETHE_BENCH_ARCH (a comma-separated list), else all. */
function architectures(): (typeof EMBEDDED)[number][] {
  const wanted = process.env['LETHE_BENCH_ARCH']?.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
  if (!wanted) return [...EMBEDDED];
  const unknown = wanted.filter((a) => !EMBEDDED.some((e) => e.arch === a));
  if (unknown.length > 0) throw new Error(`LETHE_BENCH_ARCH: unknown architecture ${unknown.join(', ')} (known: ${EMBEDDED.map((e) => e.arch).join(', ')})`);
  return EMBEDDED.filter((e) => wanted.includes(e.arch));
}

export const unlearnSuite: Suite = {
  name: 'unlearn',
  description: 'each method\'s defaults on persons forget10, on the GPT-2 and the Llama target: forget/retain answer probability and world perplexity vs that architecture\'s retain model',
  cases: [...Object.keys(CASES), 'best'],
  async run(options, emit) {
    const asked = options.cases.length > 0 ? options.cases : [...Object.keys(CASES), 'best'];
    const names = asked.filter((n) => n !== 'best');
    for (const embedded of names.length > 0 ? architectures() : []) {
      const { ctx } = openContext(embedded.target, 'data/persons/forget10.jsonl', 'data/persons/retain90.jsonl');
      const sets = qualitySets(ctx);
      const target = measure(ctx.model, sets);
      const reference = measureFolder(embedded.retain90, sets);
      const peer = embedded.retain90.replace(/^models\//, '');
      const evalSets = fitSetsToContext(loadEvalSets('data/persons', 'forget10'), ctx.tokenizer, ctx.model.config.maxPositions).sets;
      const attacksOf = (model: CausalLM): ReturnType<typeof attackValues> => attackValues(runAttacks(model, ctx.tokenizer, evalSets, ATTACKS, ATTACK_OPTIONS));
      const referenceAttacks = attacksOf(loadModel(embedded.retain90).model);
      ctx.model.params.restore(ctx.original);
      const targetAttacks = attacksOf(ctx.model);
      for (const name of names) {
        const c = CASES[name]!;
        const method = getMethod(c.method);
        ctx.model.params.restore(ctx.original);
        const started = performance.now();
        process.stderr.write(`unlearn: ${embedded.arch} ${name} ...\n`);
        const out = method.run(ctx, parseOptions(method.options, c.options, method.name), {});
        if (c.sanitize) sanitizeContext(ctx, { ...DEFAULT_SANITIZE, samples: 64 });
        const seconds = (performance.now() - started) / 1000;
        const q = measure(ctx.model, sets);
        const v = verdict(q, target, reference);
        emit(makeLine({
          suite: 'unlearn', caseName: name, metric: 'forget-prob', value: q.forgetProb, peer,
          outcome: { ok: true, value: reference.forgetProb, reps: 1, threads: null },
          extras: {
            arch: embedded.arch,
            retain_prob: round(q.retainProb), retain_ratio: round(q.retainProb / target.retainProb), world_ppl: round(q.worldPpl),
            peer_retain_prob: round(reference.retainProb), peer_world_ppl: round(reference.worldPpl),
            target_forget_prob: round(target.forgetProb), target_retain_prob: round(target.retainProb), target_world_ppl: round(target.worldPpl),
            forget_ok: v.forgetOk, retain_ok: v.retainOk, seconds: round(seconds), steps: out.steps, stop: out.stopReason,
            options: [...c.options, ...(c.sanitize ? ['sanitize=hard'] : [])].join(' '),
          },
        }));
        for (const [key, a] of attacksOf(ctx.model)) {
          const bar = referenceAttacks.get(key);
          const margin = bar ? allowance(a.value, a.n, bar.value, bar.n) : null;
          emit(makeLine({
            suite: 'unlearn', caseName: `${name}/attack:${key}`, metric: 'recovered', value: a.value, peer,
            outcome: bar ? { ok: true, value: bar.value, reps: 1, threads: null } : { ok: false, note: 'the retain model has no value for this measure' },
            extras: {
              arch: embedded.arch, label: a.label, items: a.n, allowance: margin === null ? null : round(margin),
              target_value: targetAttacks.has(key) ? round(targetAttacks.get(key)!.value) : null,
              clearly_more_than_retain_model: bar && margin !== null ? a.value - bar.value > margin : null,
            },
          }));
        }
      }
    }
    // The candidates for true forgetting, run and evaluated as the main job runs its methods (GPT-2 only).
    if (asked.includes('best')) runBestCase(emit);
  },
};
