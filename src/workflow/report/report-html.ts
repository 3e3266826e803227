import { basename } from 'node:path';
import { DASH, fmtNum } from '../../eval/report/format.ts';
import { CSS, documentHead, escapeHtml, jsonForScript, renderFigures } from '../../eval/report/html.ts';
import type { CriterionResult, VerificationRecord } from '../verify/types.ts';
import { buildDpoCharts } from './report-charts.ts';
import { fmtProb } from './residual-risk.ts';
import type { DpoReport } from './report-data.ts';

/**
 * The DPO report as one self-contained HTML page, in the eval report's style (its CSS, its server-side SVG charts,
 * no scripts but a JSON data block carrying report.json, a Content-Security-Policy that forbids loading anything).
 * Sections, each with a stable id: summary, asked, deadline, found, done, evidence, residual-risk, copies, operator,
 * timeline, certificate, privacy.
 */
const DPO_CSS = `
main { max-width: 1100px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 14px 0 0; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 190px; }
.card .k { font-size: 0.72rem; color: #666; text-transform: uppercase; letter-spacing: 0.04em; }
.card .v { font-size: 1.05rem; font-weight: 600; margin-top: 2px; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 10px; font-weight: 600; font-size: 0.85rem; }
.badge.ok { background: #e3f3e6; color: #1b6e2f; }
.badge.bad { background: #fde7e6; color: #a3261b; }
.badge.warn { background: #fff4d6; color: #7a5a00; }
.badge.none { background: #ececec; color: #444; }
.box { background: #fff; border: 1px solid #ddd; border-left: 5px solid #888; border-radius: 6px; padding: 12px 16px; }
.box.ok { border-left-color: #2e8540; } .box.bad { border-left-color: #c62828; } .box.warn { border-left-color: #d39e00; } .box.none { border-left-color: #888; }
.box p { margin: 0; }
ul.risk { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px 18px 10px 34px; margin: 10px 0; }
ul.risk li { margin: 6px 0; }
ul.risk li.missed { color: #8c1d18; } ul.risk li.not-judged { color: #6b5500; }
.todo { color: #7a5a00; font-weight: 600; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.82rem; }
table.kv { width: 100%; }
table.kv td { font-family: inherit; font-size: 0.88rem; word-break: normal; }
table.kv td:first-child { width: 240px; }
.scroll table { width: 100%; }
td.wrap { white-space: normal; word-break: break-all; min-width: 280px; }
td time { white-space: nowrap; }
td.met { color: #1b6e2f; font-weight: 600; } td.missed { color: #a3261b; font-weight: 600; } td.not-judged { color: #7a5a00; font-weight: 600; }
details { margin-top: 8px; } summary { cursor: pointer; color: #2b4c7e; }
`;

const esc = (s: string | null | undefined): string => (s === null || s === undefined || s === '' ? DASH : escapeHtml(s));

function kv(rows: readonly [string, string][]): string {
  return `<div class="scroll"><table class="kv"><tbody>${rows.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${v}</td></tr>`).join('\n')}</tbody></table></div>`;
}

function table(head: readonly string[], rows: readonly string[][], cls = ''): string {
  if (rows.length === 0) return `<p class="muted">${DASH}</p>`;
  return `<div class="scroll"><table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`
    + `<tbody>${rows.map((r) => `<tr>${r.join('')}</tr>`).join('\n')}</tbody></table></div>`;
}

const td = (html: string, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${html}</td>`;
const short = (hex: string): string => `<span class="mono" title="${escapeHtml(hex)}">${escapeHtml(hex.slice(0, 12))}…</span>`;
const day = (iso: string | null): string => (iso ? `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'))}</time>` : DASH);

type Tone = 'ok' | 'bad' | 'warn' | 'none';

function verificationTone(r: DpoReport): [string, Tone] {
  if (r.verification.status === 'not-verified') return ['NOT VERIFIED', 'none'];
  return [r.verification.result, r.verification.result === 'PASSED' ? 'ok' : r.verification.result === 'FAILED' ? 'bad' : 'warn'];
}

const DEADLINE_TONE: Record<DpoReport['deadline']['status'], [string, Tone]> = {
  met: ['met', 'ok'], missed: ['missed', 'bad'], open: ['open', 'warn'], overdue: ['overdue', 'bad'], 'waiting-for-identity': ['not started', 'none'],
};

const badge = ([text, tone]: [string, Tone]): string => `<span class="badge ${tone}">${escapeHtml(text)}</span>`;

function cards(r: DpoReport): string {
  const state: [string, Tone] = [r.request.state, r.request.state === 'completed' ? 'ok' : r.request.state === 'failed' ? 'bad' : 'none'];
  const op = r.operator.missing.length === 0 ? (['complete', 'ok'] as [string, Tone]) : ([`${r.operator.missing.length} of 3 to fill in`, 'warn'] as [string, Tone]);
  const card = (k: string, v: string) => `<div class="card"><div class="k">${escapeHtml(k)}</div><div class="v">${v}</div></div>`;
  return `<div class="cards">${[
    card('Request', badge(state)), card('Verification', badge(verificationTone(r))), card('Deadline', badge(DEADLINE_TONE[r.deadline.status])),
    card('Records erased', escapeHtml(String(r.found.recordsErased))), card('Operator fields', badge(op)),
  ].join('')}</div>`;
}

function asked(r: DpoReport): string {
  const q = r.request;
  const ids = q.identifiers;
  const total = ids.names + ids.emails + ids.phones + ids.addresses + ids.patterns;
  const kinds = (Object.entries(ids) as [string, number][]).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k === 'emails' ? 'e-mail' : k.replace(/s$/, '')}${n === 1 ? '' : 's'}`);
  return kv([
    ['Request id', `<span class="mono">${escapeHtml(q.id)}</span>`],
    ['Received', day(q.receivedAt)],
    ['Identity verified', q.identityVerifiedAt ? day(q.identityVerifiedAt) : '<span class="todo">not verified</span>'],
    ['Legal ground', `${escapeHtml(q.legalGround.article)}: ${esc(q.legalGround.text)}`],
    ['Requester', esc(q.requester)],
    ['Subject\'s identifiers', `${total} given (${escapeHtml(kinds.join(', '))}); not shown in this report`],
    ['Models in scope', q.scope.models.map((m) => `<span class="mono">${escapeHtml(m)}</span>`).join('<br>') || DASH],
    ['Training data in scope', q.scope.corpora.map((c) => `<span class="mono">${escapeHtml(c)}</span>`).join('<br>') || 'none named: the models\' lineage was searched'],
    ...(q.decision ? [[q.decision.kind === 'denied' ? 'Denied' : 'Canceled', `${escapeHtml(q.decision.reason)}${q.decision.text ? `: ${escapeHtml(q.decision.text)}` : ''}`] as [string, string]] : []),
  ]);
}

function deadline(r: DpoReport): string {
  const d = r.deadline;
  return `<div class="box ${DEADLINE_TONE[d.status][1]}"><p>${badge(DEADLINE_TONE[d.status])} ${escapeHtml(d.text)}</p></div>`
    + kv([
      ['Deadline (GDPR Art. 12(3))', esc(d.dueAt)],
      ...(d.extension ? [['Extended', `from ${esc(d.originalDueAt)} to ${esc(d.extension.until)}: ${esc(d.extension.reason)}`] as [string, string]] : []),
      ['Closed', day(d.closedAt)],
    ]);
}

function found(r: DpoReport): string {
  const f = r.found;
  if (!f.assessed) return '<p class="muted">Not assessed yet: nothing has been searched.</p>';
  const rows = f.corpora.map((c) => [
    td(`<span class="mono">${escapeHtml(c.path)}</span>`, 'wrap'), td(short(c.sha256)), td(String(c.records), 'num'), td(String(c.erased), 'num'), td(String(c.exact), 'num'),
    td(c.fuzzyConfirmed + c.fuzzyRejected + c.fuzzyUndecided === 0 ? 'none' : `${c.fuzzyConfirmed} confirmed, ${c.fuzzyRejected} rejected${c.fuzzyUndecided > 0 ? `, <span class="todo">${c.fuzzyUndecided} undecided</span>` : ''}`),
  ]);
  const hashes = f.corpora.flatMap((c) => c.recordHashes.map((h) => `<li><span class="mono">${escapeHtml(h)}</span> <span class="muted">in ${escapeHtml(basename(c.path))}</span></li>`));
  const models = f.models.map((m) => [td(`<span class="mono">${escapeHtml(m.model)}</span>`, 'wrap'), td(String(m.recordsFound), 'num'), td(`${escapeHtml(m.method)} (${escapeHtml(m.kind)})`), td(esc(m.why))]);
  return `<p>Outcome: <strong>${esc(f.outcome)}</strong>. ${f.recordsErased} distinct record${f.recordsErased === 1 ? '' : 's'} of the subject are covered by the erasure.</p>`
    + table(['Training-data file', 'SHA-256', 'Records', 'Subject\'s records', 'Exact matches', 'Fuzzy matches'], rows)
    + (hashes.length > 0 ? `<details><summary>Record hashes (${hashes.length}; SHA-256 of each record, first 12 digits)</summary><ul>${hashes.join('')}</ul></details>` : '')
    + (f.notSearched.length > 0 ? `<p class="todo">Not searched (named in a model's lineage, but missing):</p>${table(['File', 'Model', 'Named by'], f.notSearched.map((n) => [td(escapeHtml(n.path), 'wrap'), td(escapeHtml(n.model), 'wrap'), td(escapeHtml(n.namedBy))]))}` : '')
    + `<h3>Models trained on them</h3>${table(['Model', 'Records', 'Method chosen', 'Why'], models)}`;
}

function done(r: DpoReport): string {
  const e = r.done.erasures;
  const rows = e.map((x) => [
    td(`<span class="mono">${escapeHtml(x.model)}</span><br>→ <span class="mono">${escapeHtml(x.output)}</span><br><span class="muted">weights</span> ${short(x.modelSha256)}`, 'wrap'), td(escapeHtml([x.method, ...x.options].join(' '))), td(x.steps === null ? DASH : String(x.steps), 'num'),
    td(esc(x.stopReasonText ?? x.stopReason)), td(x.forgetProbability ? `${fmtProb(x.forgetProbability.before)} → ${fmtProb(x.forgetProbability.after)}` : DASH, 'num'),
    td(x.changedTensors === null ? DASH : `${x.changedTensors} of ${x.totalTensors}`, 'num'),
  ]);
  const warnings = e.flatMap((x) => x.warnings.map((w) => `<li>${escapeHtml(basename(x.output))}: ${escapeHtml(w)}</li>`));
  const jobs = r.done.jobs.map((j) => [td(escapeHtml(j.kind)), td(escapeHtml(j.state)), td(String(j.attempts), 'num'), td(day(j.createdAt)), td(day(j.updatedAt)), td(esc(j.lastError), 'wrap')]);
  return (e.length > 0
    ? table(['Model → erased copy', 'Method', 'Steps', 'Stopped because', 'Forget probability (run\'s own)', 'Tensors changed'], rows)
    : '<p class="muted">Nothing has been erased yet.</p>')
    + (warnings.length > 0 ? `<p class="todo">Warnings of the unlearning run:</p><ul>${warnings.join('')}</ul>` : '')
    + `<h3>Jobs</h3>${table(['Job', 'State', 'Attempts', 'Created', 'Last change', 'Last error'], jobs)}`;
}

function criteriaTable(cs: readonly CriterionResult[]): string {
  const v = (x: number | null) => (x === null ? DASH : fmtNum(x, 3));
  return table(['Test', 'Status', 'Value (AUC)', 'Bar', 'Before erasure', 'Records (subject / never-seen)', 'Note'], cs.map((c) => [
    td(escapeHtml(c.label)), td(escapeHtml(c.status), c.status), td(v(c.value), 'num'), td(v(c.bar), 'num'), td(v(c.before), 'num'),
    td(`${c.n.subject} / ${c.n.reference}`, 'num'), td(esc(c.note)),
  ]));
}

function policyText(p: VerificationRecord['policy']): string {
  return `α = ${p.alpha} (family-wise chance that a model which never saw the subject misses the bar), at least ${p.minRecords} records a side, `
    + `${p.twoSided ? 'two-sided (over-forgetting misses too)' : 'one-sided'}, relearning attack ${p.relearn.steps} steps, `
    // Records from before the key existed were measured in f32.
    + `${(p.precision ?? 'f32') === 'bf16' ? 'measured with bf16 matmul operands and f32 sums' : 'measured in f32'}, up to ${p.maxAttempts} attempts; `
    + `an inconclusive result ${p.inconclusive === 'complete' ? 'completes' : 'fails'} the request`;
}

function evidence(r: DpoReport, figures: string): string {
  const v = r.verification;
  if (v.status === 'not-verified') {
    return `<div class="box none"><p>${badge(['NOT VERIFIED', 'none'])} ${escapeHtml(v.reason)}</p></div>${figures}`;
  }
  const rec = v.record;
  const last = rec.attempts.at(-1);
  const attempts = rec.attempts.map((a) => [td(String(a.attempt), 'num'), td(escapeHtml(a.method)), td(esc(a.options.join(' '))), td(badge([a.result, a.result === 'PASSED' ? 'ok' : a.result === 'FAILED' ? 'bad' : 'warn'])), td(esc(a.summary)), td(day(a.at))]);
  const models = (last?.models ?? []).map((m) => `<h3>${escapeHtml(basename(m.model))} <span class="muted">(${escapeHtml(m.method)} on ${escapeHtml(basename(m.baseModel))}; weights ${short(m.modelSha256)})</span></h3>`
    + `<p class="note">Compared: ${m.compared.subjectRecords} ${escapeHtml(m.compared.kind)} records of the subject against ${m.compared.reference ? `never-seen records from <span class="mono">${escapeHtml(m.compared.reference)}</span>` : 'no never-seen reference'}.</p>`
    + criteriaTable(m.criteria)).join('\n');
  return `<div class="box ${verificationTone(r)[1]}"><p>${badge(verificationTone(r))} decision: ${escapeHtml(rec.decision)}${last ? ` — ${escapeHtml(last.summary)}` : ''}</p></div>`
    + `<p class="note">The bar: ${escapeHtml(policyText(rec.policy))}. Each test asks whether an attacker can tell the subject's records from records the model never saw; 0.5 is chance.</p>`
    + `<h3>Attempts</h3>${table(['#', 'Method', 'Options', 'Result', 'Why', 'At'], attempts)}`
    + models + figures;
}

function residual(r: DpoReport): string {
  const rr = r.residualRisk;
  return (rr.statements.length > 0
    ? `<ul class="risk">${rr.statements.map((s) => `<li class="${escapeHtml(s.status)}">${escapeHtml(s.text)}</li>`).join('\n')}</ul>`
    : `<p>${escapeHtml(rr.summary)}</p>`)
    + `<p class="note">${rr.caveats.map(escapeHtml).join(' ')}</p>`;
}

function copies(r: DpoReport): string {
  return '<p>Copies of the subject\'s records that Lethe knows of and the erasure did not change. Delete or replace them, or record why they are kept under Exceptions below.</p>'
    + table(['What', 'Path', 'Still there'], r.residualCopies.map((c) => [td(escapeHtml(c.what)), td(`<span class="mono">${escapeHtml(c.path)}</span>`, 'wrap'), td(c.exists ? '<span class="todo">yes</span>' : 'no')]));
}

function operator(r: DpoReport): string {
  const o = r.operator;
  const cmd = (flag: string) => `<span class="todo">not filled in</span> — <code>lethe report ${escapeHtml(r.request.id)} ${escapeHtml(flag)}</code>`;
  return kv([
    ['Backups and other copies', o.backups ? escapeHtml(o.backups) : cmd('--set backups="…"')],
    ['Recipients notified (Art. 17(2), Art. 19)', o.recipients.length > 0 ? `<ul>${o.recipients.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>` : cmd('--recipient "…"')],
    ['Responsible person', o.responsible ? escapeHtml(o.responsible) : cmd('--responsible "…"')],
    ['Exceptions (Art. 17(3))', o.exceptions ? escapeHtml(o.exceptions) : 'none recorded'],
    ['Last filled in', o.updatedAt ? `${day(o.updatedAt)} by ${esc(o.updatedBy)}` : DASH],
  ]);
}

function timeline(r: DpoReport): string {
  return table(['#', 'At', 'From', 'To', 'By', 'Reason'], r.timeline.map((h) => [
    td(String(h.seq), 'num'), td(day(h.at)), td(esc(h.from)), td(`<strong>${escapeHtml(h.to)}</strong>`), td(esc(h.actor)), td(esc(h.reason)),
  ]));
}

function certificate(r: DpoReport): string {
  const c = r.certificate;
  if (!c.issued) return `<p>No certificate issued yet${r.request.state === 'completed' ? ` — <code>lethe certificate issue ${escapeHtml(r.request.id)}</code>` : ' (issued once the request is completed)'}.</p>`;
  return `<p>Issued ${day(c.issuedAt)}, signed with key <span class="mono">${esc(c.keyid)}</span>. It verifies offline with <code>lethe verify-certificate</code> and the public key.</p>`;
}

/** Renders the report; charts that fail to render are replaced by a line saying why (the page is still written). */
export async function renderDpoHtml(report: DpoReport): Promise<string> {
  const figures = await renderFigures(buildDpoCharts(report));
  const figs = figures.length > 0 ? `<h3>Charts</h3><div class="charts">${figures.join('\n')}</div>` : '';
  const id = escapeHtml(report.request.id);
  const section = (sid: string, title: string, body: string) => `<section id="${sid}">\n<h2>${escapeHtml(title)}</h2>\n${body}\n</section>`;
  return `${documentHead({ generator: `lethe report ${report.letheVersion}`, title: `Erasure request ${report.request.id} — report for the data-protection officer`, css: CSS + DPO_CSS })}
</head>
<body>
<main>
<header>
<h1>Erasure request <span class="mono">${id}</span></h1>
<p class="meta">Report for the data-protection officer · generated ${day(report.generatedAt)} · Lethe ${escapeHtml(report.letheVersion)}</p>
${cards(report)}
</header>
${section('summary', 'In short', residualSummary(report))}
${section('asked', 'What was asked, and when', asked(report))}
${section('deadline', 'Deadline', deadline(report))}
${section('found', 'What was found', found(report))}
${section('done', 'What was done', done(report))}
${section('evidence', 'Evidence: verification', evidence(report, figs))}
${section('residual-risk', 'Residual risk, in plain words', residual(report))}
${section('copies', 'Copies outside the erased models', copies(report))}
${section('operator', 'Backups, recipients and responsibility (filled in by the operator)', operator(report))}
${section('timeline', 'Timeline', timeline(report))}
${section('certificate', 'Certificate of erasure', certificate(report))}
<footer id="privacy"><p>${escapeHtml(report.privacy.statement)}${report.privacy.redactions > 0 ? ` ${report.privacy.redactions} such replacement${report.privacy.redactions === 1 ? ' was' : 's were'} made in this report.` : ''}</p>
<p>The data of this page are embedded as JSON (element id "report"); the same data are in report.json next to it.</p></footer>
</main>
<script type="application/json" id="report">
${jsonForScript(report)}
</script>
</body>
</html>
`;
}

function residualSummary(r: DpoReport): string {
  return `<div class="box ${verificationTone(r)[1]}"><p>${escapeHtml(r.residualRisk.summary)}</p></div>`
    + `<p class="note">${escapeHtml(r.deadline.text)} ${r.operator.missing.length > 0 ? `To fill in by the operator: ${escapeHtml(r.operator.missing.join(', '))}.` : 'The operator\'s fields are filled in.'}</p>`;
}
