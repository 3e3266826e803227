import { getMethod } from '../../unlearn/registry.ts';
import { METHOD_POLICY } from '../assess/policy.ts';

/** The exact method: verification that misses the bar after it fails the request rather than escalating. */
export const EXACT_METHOD = 'sisa';

/** What one erasure attempt runs: the method, its `key=value` options, and why (recorded with the attempt). */
export interface AttemptPlan {
  attempt: number;
  method: string;
  options: string[];
  why: string;
}

/** A method's default passes over the forget set (its schema's default), or null for a method without epochs. */
function defaultEpochs(method: string): number | null {
  const parsed = getMethod(method).options.safeParse({});
  const epochs = parsed.success ? (parsed.data as { epochs?: unknown }).epochs : undefined;
  return typeof epochs === 'number' ? epochs : null;
}

/**
 * The escalation ladder when verification misses the bar: attempt 1 runs the recommended method with its defaults;
 * attempt 2 the same method with twice the passes over the forget set (stronger settings); every later attempt the
 * next method of the written policy (src/workflow/assess/policy.ts) whose needs the data meet, with its defaults.
 */
export function planAttempt(attempt: number, recommended: string, hasRetain: boolean, budget: readonly string[] = []): AttemptPlan {
  // Exact unlearning has no stronger setting and no fallback: a retrain from the same checkpoints is the same model,
  // and an approximate method on top would certify less, not more. A step budget does not apply to it.
  if (recommended === EXACT_METHOD) return { attempt, method: EXACT_METHOD, options: [], why: 'the model was trained in shards: the affected shards retrained from their checkpoints (exact)' };
  // An operator's step budget (`lethe worker --erase-option steps=N`) fixes the steps; "stronger" then doubles them.
  const budgetSteps = budget.map((o) => /^steps=(\d+)$/.exec(o)).find((m) => m)?.[1];
  const rest = budget.filter((o) => !o.startsWith('steps='));
  const withBudget = (options: string[], stronger: boolean): string[] => budgetSteps === undefined ? [...options, ...rest]
    : [...options.filter((o) => !o.startsWith('epochs=')), `steps=${stronger ? 2 * Number(budgetSteps) : budgetSteps}`, ...rest];
  if (attempt <= 1) {
    const given = budget.length > 0 ? ` and the worker's options (${budget.join(' ')})` : '';
    return { attempt, method: recommended, options: withBudget([], false), why: `the recommended method with its defaults${given}` };
  }
  const epochs = defaultEpochs(recommended);
  if (attempt === 2 && (epochs !== null || budgetSteps !== undefined)) {
    return { attempt, method: recommended, options: withBudget(epochs === null ? [] : [`epochs=${2 * epochs}`], true), why: `the bar was missed: ${recommended} again with twice the optimisation (${budgetSteps !== undefined ? `${2 * Number(budgetSteps)} steps` : `${2 * epochs!} epochs`})` };
  }
  const ladder = METHOD_POLICY.filter((e) => e.method !== recommended && (!e.needsRetain || hasRetain));
  const next = ladder[(attempt - (epochs !== null || budgetSteps !== undefined ? 3 : 2)) % Math.max(1, ladder.length)];
  if (!next) return { attempt, method: recommended, options: withBudget([], false), why: 'the bar was missed and the policy names no other method: the recommended method again' };
  return { attempt, method: next.method, options: withBudget([], false), why: `the bar was missed: the next method of the policy, ${next.method} (${next.evidence})` };
}
