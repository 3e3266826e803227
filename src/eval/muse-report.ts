/**
 * The MUSE evaluation's files and printed table: metrics.json (the MuseReport), a small self-contained report.html
 * (a table, the definitions, the raw metrics as a JSON block; no scripts, no URLs) and the comparison table.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { atomicWrite } from '../model/io/atomic-file.ts';
import { DASH, fmtNum, fmtSigned } from './report/format.ts';
import { escapeHtml, jsonForScript } from './report/html.ts';
import type { MuseModelResult, MuseReport } from './muse-compare.ts';

interface Column {
  head: string;
  title: string;
  cell: (m: MuseModelResult) => string;
}

const COLUMNS: Column[] = [
  { head: 'model', title: 'model', cell: (m) => m.name },
  { head: 'role', title: 'role', cell: (m) => m.role },
  { head: 'verbmem.f', title: 'VerbMem on the forget set: mean ROUGE-L F1 of the greedy continuation vs the true one (lower: less verbatim memorisation)', cell: (m) => fmtNum(m.verbmem?.rougeLF1) },
  { head: 'knowmem.f', title: 'KnowMem on the forget set: mean ROUGE-L F1 of the greedy answer vs the gold answer (lower: less knowledge)', cell: (m) => fmtNum(m.knowmemForget?.rougeLF1) },
  { head: 'knowmem.r', title: 'KnowMem on the retain set: utility (higher: knowledge kept)', cell: (m) => fmtNum(m.knowmemRetain?.rougeLF1) },
  { head: 'auc.mink', title: "Min-K% (k = 0.4) AUC, forget vs holdout, MUSE's convention (≈0 memorised, ≈0.5 unseen)", cell: (m) => fmtNum(m.privacy?.auc) },
  { head: 'privleak', title: '(AUC − AUC_retain) / AUC_retain × 100; needs a retain model', cell: (m) => (m.privacy ? fmtSigned(m.privacy.privLeak) : DASH) },
  { head: 'summary', title: 'summary', cell: (m) => m.summary },
];

const oneLine = (s: string): string => s.replace(/[\u0000-\u001f\u007f]+/g, ' ');

/** The report's models as an aligned plain-text table, then notes on what could not be judged. */
export function formatMuseTable(report: MuseReport): string {
  const rows = report.models.map((m) => COLUMNS.map((c) => oneLine(c.cell(m))));
  const widths = COLUMNS.map((c, j) => Math.max(c.head.length, ...rows.map((r) => r[j]!.length)));
  const last = COLUMNS.length - 1;
  const line = (cells: string[]): string => cells.map((s, j) => (j === last ? s : j < 2 ? s.padEnd(widths[j]!) : s.padStart(widths[j]!))).join('  ').trimEnd();
  const rule = widths.map((w, j) => '-'.repeat(j === last ? COLUMNS[j]!.head.length : w)).join('  ');
  const notes = [...new Set(report.models.flatMap((m) => (m.privacy?.notJudged ? [`privleak ${DASH}: ${m.privacy.notJudged} (--reference)`] : [])))];
  const counts = Object.entries(report.data).filter(([k]) => k.endsWith('_skipped') || k.endsWith('_truncated')).map(([k, v]) => `${k.replace(/_(skipped|truncated)$/, '')}: ${v}`);
  const extra = [...notes, ...counts];
  return [line(COLUMNS.map((c) => c.head)), rule, ...rows.map(line), ...(extra.length > 0 ? ['', ...extra] : [])].join('\n');
}

const CSS = 'body{font:14px/1.45 system-ui,sans-serif;margin:2em;max-width:70em;color:#222}table{border-collapse:collapse}'
  + 'td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}td:first-child,th:first-child,td.l{text-align:left}'
  + '.muted{color:#666}code{background:#f4f4f4;padding:0 3px}';

/** The MUSE report as one self-contained HTML page. */
export function renderMuseHtml(report: MuseReport): string {
  const head = COLUMNS.map((c) => `<th title="${escapeHtml(c.title)}">${escapeHtml(c.head)}</th>`).join('');
  const rows = report.models.map((m) => `<tr>${COLUMNS.map((c, j) => `<td${j === 1 || j === COLUMNS.length - 1 ? ' class="l"' : ''}>${escapeHtml(c.cell(m))}</td>`).join('')}</tr>`).join('\n');
  const data = Object.entries(report.data).map(([k, v]) => `<li><code>${escapeHtml(k)}</code>: ${escapeHtml(v)}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(report.title)}</title><style>${CSS}</style></head><body>
<h1>${escapeHtml(report.title)}</h1>
<p class="muted">${escapeHtml(report.created)} · MUSE metrics (Shi et al. 2024): VerbMem and KnowMem are mean ROUGE-L F1 (rouge-score, unstemmed) of greedy outputs;
PrivLeak = (AUC − AUC<sub>retain</sub>) / AUC<sub>retain</sub> × 100 on the Min-K% (k = ${report.options.minK}) attack, forget vs holdout texts.</p>
<table><thead><tr>${head}</tr></thead><tbody>
${rows}
</tbody></table>
<h2>Data</h2><ul>${data}</ul>
<script type="application/json" id="metrics">${jsonForScript(report)}</script>
</body></html>
`;
}

/** Creates dir if needed and writes metrics.json and report.html into it, each atomically; returns their paths. */
export function writeMuseReport(dir: string, report: MuseReport): { metrics: string; html: string } {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const metrics = join(out, 'metrics.json');
  const html = join(out, 'report.html');
  atomicWrite(metrics, [Buffer.from(`${JSON.stringify(report, null, 2)}\n`, 'utf8')]);
  atomicWrite(html, [Buffer.from(renderMuseHtml(report), 'utf8')]);
  return { metrics, html };
}
