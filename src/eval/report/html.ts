/**
 * The evaluation report as one self-contained HTML page: inline CSS, charts as inline SVG rendered server-side,
 * no scripts (the only <script> is a JSON data block carrying the raw metrics), no fonts, no images, no URLs.
 * A Content-Security-Policy meta tag forbids the page from loading anything even if a value slipped through.
 */
import type { AttackJudgement } from '../attacks/bar.ts';
import { ATTACK_LABEL as SUITE_LABEL } from '../attacks/types.ts';
import type { EvalReport, MiaResult, ModelEvaluation, SetMetrics } from '../report-types.ts';
import { buildCharts, renderSvg, type ReportChart } from './charts.ts';
import {
  attackSummaryOf, DASH, fmtAttacks, fmtNum, fmtP, fmtProbe, fmtRelearnPair, fmtRelearnSteps, fmtSigned, hasAttacks, MODE_LABEL, miaAuc, relearnModes, relearnOf,
} from './format.ts';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * JSON safe inside <script type="application/json">: "<", ">" and "&" as \u escapes (so "</script>" or "<!--"
 * in a value cannot end the block) plus U+2028/2029; JSON.parse of the block's text gives the value back.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0; color: #1d1d1f; background: #f6f6f4; line-height: 1.45; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 32px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 1rem; margin: 18px 0 6px; }
h4 { font-size: 0.92rem; margin: 14px 0 4px; }
.meta { color: #555; margin: 0 0 8px; }
.scroll { overflow-x: auto; background: #fff; border: 1px solid #ddd; border-radius: 6px; }
table { border-collapse: collapse; font-size: 0.86rem; }
th, td { padding: 5px 9px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
thead th { background: #fafafa; border-bottom: 1px solid #ccc; font-weight: 600; white-space: nowrap; }
thead tr.group th { text-align: center; color: #555; font-weight: 500; border-bottom: 1px solid #e2e2e2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { font-weight: 600; white-space: nowrap; }
td.verdict { min-width: 240px; max-width: 420px; }
tr.role-reference td { background: #f3f3f3; }
tr.role-target td { background: #fff5f4; }
.role { display: inline-block; font-size: 0.75rem; padding: 0 6px; border-radius: 8px; background: #e8eef7; color: #2b4c7e; white-space: nowrap; }
.role-reference .role { background: #e6e6e6; color: #444; }
.role-target .role { background: #fbe0de; color: #9b1c1c; }
.pass { color: #1b7a2f; font-weight: 600; }
.fail { color: #b42318; }
.muted { color: #888; }
table.kv td:first-child { font-weight: 600; white-space: nowrap; }
table.kv td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.82rem; word-break: break-all; }
table.kv td:first-child { font-family: inherit; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px; max-width: 100%; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 0.82rem; color: #555; margin-top: 6px; max-width: 700px; }
.error { color: #b42318; }
dl.defs { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px 18px; margin: 0; }
dl.defs dt { font-weight: 600; margin-top: 10px; }
dl.defs dt:first-child { margin-top: 0; }
dl.defs dd { margin: 2px 0 0 0; color: #333; }
p.note { font-size: 0.82rem; color: #555; }
footer { margin-top: 36px; font-size: 0.8rem; color: #777; }
`;

const ROLE_TEXT: Record<ModelEvaluation['role'], string> = { target: 'target', reference: 'reference', unlearned: 'unlearned' };

function td(text: string, cls = 'num', title?: string): string {
  const t = title !== undefined && title !== text ? ` title="${escapeHtml(title)}"` : '';
  return `<td class="${cls}"${t}>${escapeHtml(text)}</td>`;
}

/** A number cell with its full value on hover. */
function numTd(x: number | null | undefined, text: string, extraClass = ''): string {
  const full = typeof x === 'number' && Number.isFinite(x) ? String(x) : undefined;
  return td(text, extraClass ? `num ${extraClass}` : 'num', full);
}

function qualityClass(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return '';
  return p >= 0.05 ? 'pass' : 'fail';
}

function summaryTable(report: EvalReport): string {
  const modes = relearnModes(report);
  const attacks = hasAttacks(report);
  const relearnHeads = modes.map((mode) => `<th title="Relearning attack on ${escapeHtml(MODE_LABEL[mode])}: steps to recover 50% / 90% of the target's held-out forget score">Relearn 50/90<br><span class="muted">${escapeHtml(MODE_LABEL[mode])}</span></th>`);
  const head = [
    '<thead>',
    `<tr class="group"><th colspan="2"></th><th colspan="4">Forget set</th><th colspan="2">Retain &amp; utility</th><th colspan="3">Privacy</th><th colspan="${2 + modes.length + (attacks ? 1 : 0)}">Robustness</th><th></th></tr>`,
    '<tr>',
    '<th>Model</th><th>Role</th>',
    '<th>Probability</th><th>ROUGE-L</th><th>Truth ratio</th><th>Forget quality</th>',
    '<th>Probability</th><th>Model utility</th>',
    '<th>MIA AUC<br><span class="muted">LOSS</span></th><th>MIA AUC<br><span class="muted">Min-K%++</span></th><th>PrivLeak</th>',
    '<th>Extraction strength</th>',
    ...relearnHeads,
    '<th>Probe / output acc.</th>',
    ...(attacks ? ['<th title="Attacks (relearning included) that recover clearly more than from the retain model, of those judged against it">Attacks above bar</th>'] : []),
    '<th>Verdict</th>',
    '</tr>',
    '</thead>',
  ].join('');
  const rows = report.models.map((m) => {
    const probeTitle = m.probe
      ? `attribute ${m.probe.attribute}, layer ${m.probe.layer}: probe ${m.probe.probeAccuracy}, output ${m.probe.outputAccuracy}, chance ${m.probe.chance}`
      : m.probeSkipped ? `not run: ${m.probeSkipped}` : undefined;
    const cells = [
      td(m.name, 'name'),
      `<td><span class="role">${escapeHtml(ROLE_TEXT[m.role] ?? String(m.role))}</span></td>`,
      numTd(m.forget.probability, fmtNum(m.forget.probability)),
      numTd(m.forget.rougeRecall, fmtNum(m.forget.rougeRecall)),
      numTd(m.forget.truthRatio, fmtNum(m.forget.truthRatio)),
      numTd(m.forgetQuality, fmtP(m.forgetQuality), qualityClass(m.forgetQuality)),
      numTd(m.retain.probability, fmtNum(m.retain.probability)),
      numTd(m.modelUtility, fmtNum(m.modelUtility)),
      numTd(miaAuc(m, 'loss'), fmtNum(miaAuc(m, 'loss'))),
      numTd(miaAuc(m, 'min-k++'), fmtNum(miaAuc(m, 'min-k++'))),
      numTd(m.privLeak, fmtSigned(m.privLeak)),
      numTd(m.extractionStrength, fmtNum(m.extractionStrength)),
      ...modes.map((mode) => td(fmtRelearnPair(relearnOf(m, mode)))),
      td(fmtProbe(m), 'num', probeTitle),
      ...(attacks ? [td(fmtAttacks(report, m))] : []),
      td(m.verdict ?? DASH, 'verdict'),
    ];
    return `<tr class="role-${escapeHtml(m.role)}">${cells.join('')}</tr>`;
  });
  return `<div class="scroll"><table class="summary">${head}<tbody>${rows.join('\n')}</tbody></table></div>`;
}

function setCells(s: SetMetrics | null): string[] {
  if (!s) return [td(DASH), td(DASH), td(DASH), td(DASH)];
  return [td(String(s.items)), numTd(s.probability, fmtNum(s.probability)), numTd(s.rougeRecall, fmtNum(s.rougeRecall)), numTd(s.truthRatio, fmtNum(s.truthRatio))];
}

const ATTACKS: readonly MiaResult['attack'][] = ['loss', 'zlib', 'min-k', 'min-k++', 'reference'];
const ATTACK_LABEL: Record<MiaResult['attack'], string> = { loss: 'LOSS', zlib: 'zlib', 'min-k': 'Min-K%', 'min-k++': 'Min-K%++', reference: 'Reference' };

function detailTables(report: EvalReport): string {
  const sets = report.models.map((m) => `<tr class="role-${escapeHtml(m.role)}">${[
    td(m.name, 'name'), ...setCells(m.forget), ...setCells(m.retain), ...setCells(m.world),
    numTd(m.exactMemorisation, fmtNum(m.exactMemorisation)),
    td(m.seconds === null || !Number.isFinite(m.seconds) ? DASH : `${m.seconds.toFixed(1)} s`),
  ].join('')}</tr>`);
  const setHead = (name: string) => `<th colspan="4">${name}</th>`;
  const perSet = `<div class="scroll"><table><thead><tr class="group"><th></th>${setHead('Forget')}${setHead('Retain')}${setHead('World facts')}<th colspan="2"></th></tr>`
    + `<tr><th>Model</th>${'<th>Items</th><th>Prob.</th><th>ROUGE-L</th><th>Truth ratio</th>'.repeat(3)}<th>Exact memorisation</th><th>Time</th></tr></thead>`
    + `<tbody>${sets.join('\n')}</tbody></table></div>`;

  const mia = report.models.map((m) => `<tr class="role-${escapeHtml(m.role)}">${[
    td(m.name, 'name'), ...ATTACKS.map((a) => numTd(miaAuc(m, a), fmtNum(miaAuc(m, a)))), numTd(m.privLeak, fmtSigned(m.privLeak)),
  ].join('')}</tr>`);
  const miaTable = `<div class="scroll"><table><thead><tr><th>Model</th>${ATTACKS.map((a) => `<th>${ATTACK_LABEL[a]} AUC</th>`).join('')}<th>PrivLeak (LOSS)</th></tr></thead>`
    + `<tbody>${mia.join('\n')}</tbody></table></div>`;

  const modes = relearnModes(report);
  let relearn = '';
  if (modes.length > 0) {
    const rows = report.models.map((m) => `<tr class="role-${escapeHtml(m.role)}">${[
      td(m.name, 'name'),
      ...modes.flatMap((mode) => {
        const r = relearnOf(m, mode);
        const first = r?.score[0];
        const last = r?.score.at(-1);
        const lastStep = r?.steps.at(-1);
        return [
          td(fmtRelearnSteps(r, 50)), td(fmtRelearnSteps(r, 90)),
          numTd(first, fmtNum(first)), numTd(last, fmtNum(last)), td(lastStep === undefined ? DASH : String(lastStep)),
        ];
      }),
    ].join('')}</tr>`);
    relearn = `<h3>Relearning attack</h3><div class="scroll"><table><thead><tr class="group"><th></th>${modes.map((mode) => `<th colspan="5">${escapeHtml(MODE_LABEL[mode])}</th>`).join('')}</tr>`
      + `<tr><th>Model</th>${'<th>Steps to 50%</th><th>Steps to 90%</th><th>Score at start</th><th>Score at end</th><th>Steps run</th>'.repeat(modes.length)}</tr></thead>`
      + `<tbody>${rows.join('\n')}</tbody></table></div>`
      + '<p class="note">Steps to recover 50% / 90% of the target\'s held-out forget probability; "&gt;N": not reached within the N steps the attack ran.</p>';
  }

  let probe = '';
  const probed = report.models.filter((m) => m.probe !== null);
  if (probed.length > 0) {
    const rows = report.models.map((m) => {
      const p = m.probe;
      return `<tr class="role-${escapeHtml(m.role)}">${[
        td(m.name, 'name'),
        td(p ? p.attribute : DASH, ''), td(p ? String(p.layer) : DASH),
        numTd(p?.probeAccuracy, fmtNum(p?.probeAccuracy)), numTd(p?.outputAccuracy, fmtNum(p?.outputAccuracy)), numTd(p?.chance, fmtNum(p?.chance)),
      ].join('')}</tr>`;
    });
    probe = `<h3>Hidden-state probe</h3><div class="scroll"><table><thead><tr><th>Model</th><th>Attribute</th><th>Layer</th><th>Probe accuracy</th><th>Output accuracy</th><th>Chance</th></tr></thead>`
      + `<tbody>${rows.join('\n')}</tbody></table></div>`;
  }
  return `<h3>Per-set scores</h3>${perSet}<h3>Membership inference (AUC, forget vs holdout)</h3>${miaTable}${relearn}${probe}${attackTables(report)}`;
}

const STATUS_TEXT: Record<AttackJudgement['status'], string> = {
  passed: 'at the retain model\'s level', failed: 'ABOVE the bar', uninformative: 'at the bar, uninformative (the target is not above it either)', 'not measured': 'not measured',
};

/** A layer curve as "0.20 · 0.15 · 0.30" (layer 0 first). */
function curveText(m: ModelEvaluation, attack: string, key: string | undefined): string {
  const c = key === undefined ? undefined : m.attacks?.find((a) => a.attack === attack)?.layers?.find((l) => l.key === key);
  return c ? c.values.map((v) => fmtNum(v, 2)).join(' · ') : '';
}

/** Which layer curve a max-over-layers measure is the maximum of. */
const CURVE_OF: Record<string, string> = { 'max-accuracy': 'accuracy', 'max-top1': 'top1', 'max-probability': 'probability' };

/**
 * One table per model: each attack's numbers, the target's (what the attack finds before unlearning), the retain
 * model's (the bar), how far above the bar still counts as "at its level", and the result. The retain model's own
 * numbers are the bars, so it gets no table.
 */
function attackTables(report: EvalReport): string {
  if (!hasAttacks(report)) return '';
  const reference = report.models.find((m) => m.role === 'reference');
  const target = report.models.find((m) => m.role === 'target');
  const tables = report.models.filter((m) => m !== reference && (m.attacks ?? []).length + m.relearn.length > 0).map((m) => {
    const summary = attackSummaryOf(report, m);
    let rows: string[];
    if (!summary) {
      // No retain model: the numbers only, nothing judged.
      rows = (m.attacks ?? []).flatMap((a) => {
        const label = SUITE_LABEL[a.attack];
        if (a.notApplicable) return [`<tr>${td(label, '')}<td colspan="6" class="muted">${escapeHtml(`not applicable: ${a.notApplicable}`)}</td></tr>`];
        return a.measures.map((x) => {
          const t = m === target ? undefined : target?.attacks?.find((r) => r.attack === a.attack)?.measures.find((r) => r.key === x.key)?.value;
          return `<tr>${[td(label, ''), td(x.label + (x.layer !== undefined ? ` (layer ${x.layer})` : ''), ''), numTd(x.value, fmtNum(x.value)), numTd(t, fmtNum(t)),
            td(DASH), td(DASH), td('not judged: no retain model', 'muted')].join('')}</tr>`;
        });
      });
    } else {
      rows = summary.judged.flatMap((j) => {
        const cls = j.status === 'failed' ? 'fail' : j.status === 'passed' ? 'pass' : 'muted';
        if (j.status === 'not measured') return [`<tr>${td(j.label, '')}<td colspan="6" class="muted">${escapeHtml(`not measured: ${j.why ?? ''}`)}</td></tr>`];
        const measureRows = j.measures.map((x) => {
          const curve = curveText(m, j.attack, CURVE_OF[x.key]);
          return `<tr>${[td(j.label, ''), td(`${x.label}${x.layer !== undefined ? ` (layer ${x.layer})` : ''}`, '', curve ? `per layer: ${curve}` : undefined),
            numTd(x.value, fmtNum(x.value)), numTd(x.target, fmtNum(x.target)), numTd(x.bar, fmtNum(x.bar)), numTd(x.allowed, `+${fmtNum(x.allowed)}`),
            td(x.passed ? STATUS_TEXT[j.status === 'uninformative' ? 'uninformative' : 'passed'] : 'ABOVE the bar', x.passed ? cls : 'fail')].join('')}</tr>`;
        });
        const speed = j.speed ? [`<tr>${[td(j.label, ''), td('steps to 50% of the target\'s score', ''), td(j.speed.steps50 === null ? `>${j.speed.lastStep ?? '?'}` : String(j.speed.steps50)), td(DASH),
          td(j.speed.barSteps50 === null ? `>${j.speed.lastStep ?? '?'}` : String(j.speed.barSteps50)), td('not fewer'), td(j.speed.passed ? 'not faster than the retain model' : 'FASTER than the retain model', j.speed.passed ? 'pass' : 'fail')].join('')}</tr>`] : [];
        return [...measureRows, ...speed];
      });
      if (summary.worst) rows.push(`<tr><td colspan="7" class="muted">${escapeHtml(`worst: ${summary.worst.label}, ${summary.worst.measure.label} ${fmtNum(summary.worst.measure.value)} vs ${fmtNum(summary.worst.measure.bar)} (allowed +${fmtNum(summary.worst.measure.allowed)})`)}</td></tr>`);
    }
    return `<h4>${escapeHtml(m.name)} <span class="role">${escapeHtml(ROLE_TEXT[m.role] ?? String(m.role))}</span></h4><div class="scroll"><table><thead><tr><th>Attack</th><th>Number</th><th>This model</th><th>Target</th><th>Retain model (bar)</th><th>Allowed above bar</th><th>Result</th></tr></thead>`
      + `<tbody>${rows.join('\n')}</tbody></table></div>`;
  });
  return `<h3>Attacks (the retain model's value is the bar)</h3>${tables.join('\n')}`
    + '<p class="note">Each number is a mean over items of a score in [0, 1]; higher means more of the forget set came back. An attack fails when it recovers more than the allowance above the retain model\'s value: max(0.05, two standard errors of the difference). "Uninformative": the target itself is not above the bar, so passing shows nothing. Hover a probe or logit-lens number for its value at every layer.</p>';
}

const DEFINITIONS: readonly [string, string][] = [
  ['Probability', 'exp(−mean answer-token negative log-likelihood), averaged over the items of a set. On the forget set it should fall to the reference model\'s level, not to zero.'],
  ['ROUGE-L', 'Recall of the longest common subsequence between the greedy answer and the true answer (rouge-score tokenisation: lower-case, non-alphanumerics to spaces; Porter stemming), averaged over items.'],
  ['Truth ratio (TR)', 'exp(−mean NLL of perturbed, wrong answers) / exp(−NLL of a paraphrased true answer), length-normalised per answer. Forget-set aggregate: mean of min(TR, 1/TR); other sets: mean of max(0, 1 − TR).'],
  ['Forget quality', 'Two-sample Kolmogorov–Smirnov p-value between the per-item forget truth ratios of this model and of the reference (retain) model (exact distribution up to 10,000 samples, as scipy\'s ks_2samp). p ≥ 0.05: the two are statistically indistinguishable; tiny p: the model still behaves differently on the forget set.'],
  ['Model utility', 'Harmonic mean of probability, ROUGE-L and truth ratio on the retain persons and on the world-facts set; any zero gives zero. Should stay at the target\'s level.'],
  ['Membership inference (MIA) AUC', 'How well an attack score separates forget items (members) from held-out items never trained on (non-members); 0.5 = indistinguishable. Attacks: LOSS (the loss), zlib (loss / zlib-compressed length), Min-K% (mean of the lowest 40% token log-probs), Min-K%++ (token log-probs standardised by the model\'s own next-token distribution), reference (loss minus a reference model\'s loss). AUCs use Mann–Whitney average ranks for ties.'],
  ['PrivLeak', '(AUC of this model − AUC of the reference) / AUC of the reference × 100, on the LOSS attack. Near 0 is good; large positive = forget items still look like members; large negative = over-unlearned (they look less familiar than never-seen data, which is itself detectable).'],
  ['Extraction strength', '1 − k/|y|, where k is the shortest answer prefix after which greedy decoding reproduces the rest of the answer; 0 = not extractable. Exact memorisation is the teacher-forced argmax accuracy of the answer tokens.'],
  ['Relearning attack', 'Fine-tune the model on part of the forget set (and, separately, on loosely related data only) and evaluate the held-out part every few steps. Steps to 50% / 90%: first step at which the held-out forget probability recovers that fraction of the target\'s. A model that truly forgot should need about as many steps as the reference, which never learned the data.'],
  ['Attack suite', 'After Lynch et al. 2024: the forget questions with some of the subject\'s other facts in the prompt (in-context relearning), reworded or as plain-text completions (paraphrase), after QA pairs about other persons (few-shot), the hidden-state probe at every layer, the logit lens (the model\'s read-out applied to every layer), and sampling 8 answers per question instead of one (any sample containing the answer is a hit). Each number is compared with the retain model\'s on the same items; docs/verification.md says what each measures.'],
  ['Hidden-state probe', 'A linear probe trained on layer activations of retain persons, tested on forget persons, tries to recover the forgotten attribute. High probe accuracy with low output accuracy means the knowledge is suppressed, not forgotten.'],
];

function definitions(): string {
  return `<dl class="defs">${DEFINITIONS.map(([t, d]) => `<dt>${escapeHtml(t)}</dt><dd>${escapeHtml(d)}</dd>`).join('\n')}</dl>`;
}

function dataTable(report: EvalReport): string {
  const entries = Object.entries(report.data ?? {});
  if (entries.length === 0) return `<p class="muted">${DASH}</p>`;
  return `<div class="scroll"><table class="kv"><tbody>${entries.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(String(v))}</td></tr>`).join('\n')}</tbody></table></div>`;
}

/** The start of a self-contained page, up to its stylesheet: nothing loads from elsewhere (the CSP forbids it). */
export function documentHead(o: { generator: string; title: string; css: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="${escapeHtml(o.generator)}">
<title>${escapeHtml(o.title)}</title>
<style>${o.css}</style>`;
}

/** Each chart as an inline-SVG figure; a chart that fails to render becomes a line saying why (the page is still written). */
export async function renderFigures(charts: readonly ReportChart[]): Promise<string[]> {
  const figures: string[] = [];
  for (const chart of charts) {
    let body: string;
    try {
      body = await renderSvg(chart.spec, `chart-${chart.id}`);
    } catch (err) {
      body = `<p class="error">This chart could not be rendered: ${escapeHtml(err instanceof Error ? err.message : String(err))}</p>`;
    }
    figures.push(`<figure id="chart-${escapeHtml(chart.id)}" aria-label="${escapeHtml(chart.title)}">${body}<figcaption>${escapeHtml(chart.caption)}</figcaption></figure>`);
  }
  return figures;
}

/** The report as one self-contained HTML document (charts inlined as SVG; raw metrics in a JSON data block). */
export async function renderReportHtml(report: EvalReport): Promise<string> {
  const figures = await renderFigures(buildCharts(report));
  const title = report.title || 'Unlearning evaluation';
  const counts = (['unlearned', 'target', 'reference'] as const)
    .map((r) => [r, report.models.filter((m) => m.role === r).length] as const)
    .filter(([, n]) => n > 0)
    .map(([r, n]) => `${n} ${r}`)
    .join(', ');
  return `${documentHead({ generator: 'lethe eval', title, css: CSS })}
</head>
<body>
<main>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="meta">Created <time datetime="${escapeHtml(report.created)}">${escapeHtml(report.created)}</time> · ${report.models.length} model${report.models.length === 1 ? '' : 's'}${counts ? ` (${escapeHtml(counts)})` : ''}</p>
</header>
<section>
<h2>Data</h2>
${dataTable(report)}
</section>
<section>
<h2>Summary</h2>
${report.models.length > 0 ? summaryTable(report) : `<p class="muted">No models were evaluated.</p>`}
<p class="note">Forget quality in <span class="pass">green</span>: p ≥ 0.05, indistinguishable from the reference; in <span class="fail">red</span>: p &lt; 0.05. Relearn "&gt;N": not recovered within the N attack steps. ${DASH}: not measured. Hover a number for its full value.</p>
</section>
<section>
<h2>Charts</h2>
${figures.length > 0 ? `<div class="charts">\n${figures.join('\n')}\n</div>` : '<p class="muted">No data to chart.</p>'}
</section>
<section>
<h2>Details</h2>
${report.models.length > 0 ? detailTables(report) : `<p class="muted">${DASH}</p>`}
</section>
<section>
<h2>What the numbers mean</h2>
${definitions()}
</section>
<footer>The raw metrics are embedded in this page as JSON (element id "metrics"); the same data is in metrics.json next to it.</footer>
</main>
<script type="application/json" id="metrics">
${jsonForScript(report)}
</script>
</body>
</html>
`;
}
