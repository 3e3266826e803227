/** The attack suite: every attack by name, run in a fixed order over one model. */
import type { CausalLM } from '../../model/arch/types.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import type { EvalSets } from '../datasets.ts';
import { fewShotAttack } from './few-shot.ts';
import { inContextAttack } from './in-context.ts';
import { logitLensAttack } from './logit-lens.ts';
import { paraphraseAttack } from './paraphrase.ts';
import { probeSweepAttack } from './probe-sweep.ts';
import { samplingAttack } from './sampling.ts';
import { ATTACK_LABEL, ATTACK_NAMES, DEFAULT_ATTACK_OPTIONS, type AttackName, type AttackOptions, type AttackResult } from './types.ts';

export type AttackFn = (model: CausalLM, tokenizer: Tokenizer, sets: EvalSets, o: AttackOptions) => AttackResult;

export const ATTACKS: Record<AttackName, AttackFn> = {
  'in-context': inContextAttack,
  paraphrase: paraphraseAttack,
  'few-shot': fewShotAttack,
  'probe-sweep': probeSweepAttack,
  'logit-lens': logitLensAttack,
  sampling: samplingAttack,
};

/** Parses `--attacks in-context,sampling` (or `all`, or `none`), naming what is wrong. */
export function parseAttackNames(text: string): AttackName[] {
  const t = text.trim();
  if (t === 'all') return [...ATTACK_NAMES];
  if (t === 'none' || t === '') return [];
  const names = t.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const bad = names.filter((n) => !(ATTACK_NAMES as readonly string[]).includes(n));
  if (bad.length > 0) throw new RangeError(`--attacks: unknown attack ${bad.map((b) => `"${b}"`).join(', ')} (known: ${ATTACK_NAMES.join(', ')}, or all, or none)`);
  return ATTACK_NAMES.filter((n) => names.includes(n));
}

/** Runs the named attacks (in the suite's order); an attack the data or model does not support says why, never 0. */
export function runAttacks(model: CausalLM, tokenizer: Tokenizer, sets: EvalSets, names: readonly AttackName[], options: Partial<AttackOptions> = {},
  log: (line: string) => void = () => {}): AttackResult[] {
  const o = { ...DEFAULT_ATTACK_OPTIONS, ...options };
  return ATTACK_NAMES.filter((n) => names.includes(n)).map((name) => {
    const started = performance.now();
    const r = ATTACKS[name](model, tokenizer, sets, o);
    log(`    ${ATTACK_LABEL[name]}: ${r.notApplicable ? `not applicable (${r.notApplicable})` : r.measures.map((m) => `${m.label} ${m.value === null ? '—' : m.value.toFixed(3)}`).join(', ')} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    return r;
  });
}

export { ATTACK_LABEL, ATTACK_NAMES, DEFAULT_ATTACK_OPTIONS, type AttackName, type AttackOptions, type AttackResult };
