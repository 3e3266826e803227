import { update, type UpdateRecord } from '../workflow/knowledge-update/run.ts';
import type { UnlearnHooks } from '../unlearn/types.ts';
import { Progress } from '../util/progress.ts';

export interface UpdateCliOptions {
  model: string;
  facts: string;
  retain?: string;
  opt: string[];
  strict?: boolean;
  out: string;
  force?: boolean;
  json?: boolean;
}

/** Runs `lethe update` with a progress bar and guard checks as notes (the checks' "forget" items are the new answers). */
export function updateCommand(o: UpdateCliOptions): UpdateRecord {
  let bar: Progress | null = null;
  const note = (m: string): void => {
    if (bar) bar.note(m);
    else process.stderr.write(`${m}\n`);
  };
  const hooks: UnlearnHooks = {
    onStep: (e) => {
      bar ??= new Progress({ total: e.totalSteps, label: 'update', unit: 'steps/s' });
      bar.update(e.step, 1, `loss ${e.loss.toFixed(3)} (${Object.entries(e.parts).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(' ')})`);
    },
    onCheck: (c) => note(`check at step ${c.step}: new-answer probability ${c.forgetProb.toFixed(4)}${c.retainLoss === null ? '' : `, retain NLL ${c.retainLoss.toFixed(4)}`}`),
    onMessage: note,
  };
  return update({ modelDir: o.model, factsPath: o.facts, retainPath: o.retain, options: o.opt, strict: o.strict, outDir: o.out, force: o.force }, hooks);
}

const f3 = (x: number): string => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toFixed(3));
const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;

/** The summary: what was updated and skipped, and the verification figures of update.json. */
export function formatUpdateSummary(r: UpdateRecord, out: string): string {
  const v = r.verification;
  const p = v.oldProbability;
  const lines = [
    `update: ${r.updated} fact(s) updated, ${r.skipped} skipped (the model did not give their old answer); ${r.steps} steps in ${r.wallSeconds.toFixed(1)} s (${r.stopReason}: ${r.stopReasonText})`,
    `  new answers, greedy exact match: ${pct(v.newExactMatch.before)} → ${pct(v.newExactMatch.after)}; old answers still given: ${pct(v.oldExactMatch.before)} → ${pct(v.oldExactMatch.after)}`,
    `  old-answer probability: ${f3(p.before)} → ${f3(p.after)}; non-member level ${p.nonMemberLevel === null ? 'not measured (no alternative answers)' : `${f3(p.nonMemberLevel)} (ratio ${f3(p.ratio!)}; ${p.factsAtOrBelowLevel} of ${p.factsWithLevel} facts at or below their level)`}`,
    'skipped' in v.probe
      ? `  value probe: skipped (${v.probe.skipped})`
      : `  value probe (old value read at the best layer): ${pct(v.probe.before.maxOld)} (layer ${v.probe.before.maxOldLayer}) → ${pct(v.probe.after.maxOld)} (layer ${v.probe.after.maxOldLayer}), ${v.probe.after.classes} value classes`,
    v.retain === null
      ? '  retain: no retain set given, damage not measured'
      : `  retain (${v.retain.items} items): probability ${f3(v.retain.probability.before)} → ${f3(v.retain.probability.after)} (×${v.retain.probability.ratio.toFixed(3)}), greedy exact match ${pct(v.retain.exactMatch.before)} → ${pct(v.retain.exactMatch.after)}`,
    `wrote ${out} and ${out}/update.json`,
  ];
  for (const f of r.facts) if (f.status === 'skipped') lines.push(`skipped line ${f.line}${f.id ? ` (${f.id})` : ''}: the model answers ${JSON.stringify(f.answerBefore)}`);
  return lines.join('\n');
}
