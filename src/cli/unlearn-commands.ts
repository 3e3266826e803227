import { parseFieldMap } from '../data/fields.ts';
import { describeOptions } from '../unlearn/options.ts';
import { METHODS } from '../unlearn/registry.ts';
import { unlearn, type SanitizeRequest, type UnlearnRecord } from '../unlearn/run.ts';
import type { SubjectKind } from '../unlearn/source-free/bank.ts';
import { sourceFreeUnlearn } from '../unlearn/source-free/unlearn.ts';
import { SanitizeOptionsSchema } from '../unlearn/sanitize.ts';
import { Progress } from '../util/progress.ts';
import type { CheckEvent, UnlearnHooks } from '../unlearn/types.ts';

/** One option as `name=default  type  description`; an option without a default is derived at run time. */
function optionLine(opt: ReturnType<typeof describeOptions>[number]): string {
  const value = opt.default === undefined ? '(derived)' : JSON.stringify(opt.default);
  return `    ${`${opt.name}=${value}`.padEnd(28)} ${opt.type.padEnd(10)} ${opt.description}`;
}

/** `lethe methods`: every method with its options, defaults and documentation (from the same schemas that validate). */
export function formatMethods(): string {
  const lines: string[] = [];
  for (const m of METHODS) {
    lines.push(`${m.name} — ${m.summary}${m.retain === 'required' ? ' [needs --retain]' : ''}`);
    for (const opt of describeOptions(m.options)) {
      lines.push(optionLine(opt));
    }
    lines.push('');
  }
  lines.push('--sanitize hard|soft (after any method)');
  for (const opt of describeOptions(SanitizeOptionsSchema)) {
    if (opt.name === 'mode') continue;
    lines.push(optionLine(opt));
  }
  return lines.join('\n');
}

export function methodsJson(): object[] {
  return METHODS.map((m) => ({ name: m.name, summary: m.summary, retain: m.retain, options: describeOptions(m.options) }));
}

export interface UnlearnCliOptions {
  model: string;
  forget: string;
  retain?: string;
  utility?: string;
  field: string[];
  method: string;
  opt: string[];
  sanitize?: 'hard' | 'soft';
  sanitizeEnergy?: number;
  sanitizeStrength?: number;
  sanitizeOthers?: 'keep' | 'revert';
  sanitizeSamples: number;
  out: string;
  force?: boolean;
  allowNoop?: boolean;
  json?: boolean;
}

/** Progress bars per phase, guard checks and messages as notes. */
function cliHooks(o: Pick<UnlearnCliOptions, 'method'>): UnlearnHooks {
  let bar: Progress | null = null;
  let phase = '';
  const hooks: UnlearnHooks = {
    onStep: (e) => {
      if (!bar || e.phase !== phase) {
        phase = e.phase;
        bar = new Progress({ total: e.totalSteps, label: `${o.method} ${e.phase}`, unit: 'steps/s' });
      }
      const parts = Object.entries(e.parts).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(' ');
      bar.update(e.step, 1, `loss ${e.loss.toFixed(3)} (${parts})`);
    },
    onCheck: (c) => {
      const text = `check at step ${c.step}: ${formatCheck(c)}`;
      if (bar) bar.note(text);
      else process.stderr.write(`${text}\n`);
    },
    onMessage: (m) => (bar ? bar.note(m) : process.stderr.write(`${m}\n`)),
  };
  return hooks;
}

function sanitizeOf(o: UnlearnCliOptions): SanitizeRequest | undefined {
  return o.sanitize
    ? { ...SanitizeOptionsSchema.parse({ mode: o.sanitize, energy: o.sanitizeEnergy, strength: o.sanitizeStrength, others: o.sanitizeOthers }), samples: o.sanitizeSamples }
    : undefined;
}

/** Runs `lethe unlearn` with a progress bar per phase, guard checks as notes, and a one-paragraph summary. */
export function unlearnCommand(o: UnlearnCliOptions): UnlearnRecord {
  return unlearn({
    modelDir: o.model, forgetPath: o.forget, retainPath: o.retain, utilityPath: o.utility, fields: parseFieldMap(o.field), method: o.method, options: o.opt,
    sanitize: sanitizeOf(o), outDir: o.out, force: o.force, allowNoop: o.allowNoop,
  }, cliHooks(o));
}

/** `lethe unlearn --subject NAME …`: source-free unlearning (src/unlearn/source-free), with the same hooks and summary. */
export function sourceFreeCommand(o: UnlearnCliOptions & { subject: string[]; subjectKind: SubjectKind; retainSubject: string[] }): UnlearnRecord {
  return sourceFreeUnlearn({
    modelDir: o.model, subjects: o.subject, kind: o.subjectKind, retainSubjects: o.retainSubject, ...(o.retain ? { retainPath: o.retain } : {}),
    ...(o.utility ? { utilityPath: o.utility } : {}), fields: parseFieldMap(o.field), method: o.method, options: o.opt, sanitize: sanitizeOf(o),
    outDir: o.out, force: o.force, allowNoop: o.allowNoop,
  }, cliHooks(o));
}

/** Four decimals, or three significant digits below 0.001, so that 2.5e-6 → 5.1e-6 does not print as 0.0000 → 0.0000. */
function fmt(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(4);
}

function formatCheck(c: CheckEvent): string {
  return [`forget probability ${fmt(c.forgetProb)}`,
    ...(c.retainLoss === null ? [] : [`retain NLL ${c.retainLoss.toFixed(4)}`]),
    ...(c.utilityLoss == null ? [] : [`utility NLL ${c.utilityLoss.toFixed(4)}`])].join(', ');
}

/**
 * The summary of a run, from what the written weights do (measured on them as stored), never from a check the run
 * rejected: after a roll-back it shows the rolled-back weights.
 */
export function formatUnlearnSummary(r: UnlearnRecord, out: string): string {
  const { before, after, changedTensors, totalTensors, utility } = r.result;
  const pair = (name: string, b: number | null | undefined, a: number | null | undefined): string[] =>
    b == null || a == null ? [] : [`${name} ${fmt(b)} → ${fmt(a)}`];
  const measured = [
    ...pair('forget probability', before.forgetProb, after.forgetProb),
    ...pair('retain NLL', before.retainLoss, after.retainLoss),
    ...pair(`utility NLL (${utility.source === 'self-generated' ? 'self-generated text' : 'utility set'})`, before.utilityLoss, after.utilityLoss),
  ].join(', ');
  const from = after.step !== r.steps ? ` (those of the step-${after.step} check)` : '';
  return `${r.method}: ${r.steps} steps in ${r.wallSeconds.toFixed(1)} s (${r.stopReason}: ${r.stopReasonText}); `
    + `written weights${from}: ${measured}; ${changedTensors} of ${totalTensors} tensors changed; wrote ${out} and ${out}/unlearn.json`
    + r.result.warnings.map((w) => `\nwarning: ${w}`).join('');
}
