/**
 * The comparison table `lethe eval` prints: one row per model, the summary table's columns in compact form,
 * numbers right-aligned, text left-aligned, the verdict last and unpadded.
 */
import type { EvalReport, ModelEvaluation } from '../report-types.ts';
import { DASH, fmtAttacks, fmtNum, fmtP, fmtProbe, fmtRelearnPair, fmtSigned, hasAttacks, miaAuc, relearnModes, relearnOf } from './format.ts';

interface Column {
  head: string;
  align: 'left' | 'right';
  cell: (m: ModelEvaluation) => string;
}

const MODE_SHORT = { 'forget-part': 'part', related: 'rel' } as const;

/** The table's columns for this report (one relearning column per mode any model was attacked with). */
function columns(report: EvalReport): Column[] {
  const modes = relearnModes(report);
  return [
    { head: 'model', align: 'left', cell: (m) => m.name },
    { head: 'role', align: 'left', cell: (m) => m.role },
    { head: 'f.prob', align: 'right', cell: (m) => fmtNum(m.forget.probability) },
    { head: 'f.rougeL', align: 'right', cell: (m) => fmtNum(m.forget.rougeRecall) },
    { head: 'f.TR', align: 'right', cell: (m) => fmtNum(m.forget.truthRatio) },
    { head: 'f.quality', align: 'right', cell: (m) => fmtP(m.forgetQuality) },
    { head: 'r.prob', align: 'right', cell: (m) => fmtNum(m.retain.probability) },
    { head: 'utility', align: 'right', cell: (m) => fmtNum(m.modelUtility) },
    { head: 'auc.loss', align: 'right', cell: (m) => fmtNum(miaAuc(m, 'loss')) },
    { head: 'auc.mk++', align: 'right', cell: (m) => fmtNum(miaAuc(m, 'min-k++')) },
    { head: 'privleak', align: 'right', cell: (m) => fmtSigned(m.privLeak) },
    { head: 'extract', align: 'right', cell: (m) => fmtNum(m.extractionStrength) },
    ...modes.map((mode): Column => ({
      head: modes.length === 1 && mode === 'forget-part' ? 'relearn50/90' : `rl.${MODE_SHORT[mode]}50/90`,
      align: 'right',
      cell: (m) => fmtRelearnPair(relearnOf(m, mode)),
    })),
    { head: 'probe/out', align: 'right', cell: (m) => fmtProbe(m) },
    // Attacks (relearning included) recovering clearly more than from the retain model, of those judged.
    ...(hasAttacks(report) ? [{ head: 'attacks>bar', align: 'right', cell: (m) => fmtAttacks(report, m) } satisfies Column] : []),
    { head: 'verdict', align: 'left', cell: (m) => m.verdict ?? DASH },
  ];
}

/** Strips line breaks and control characters so one model stays on one line. */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

/** The report's models as an aligned plain-text table (header, rule, one line per model), ending without a newline. */
export function formatComparisonTable(report: EvalReport): string {
  const cols = columns(report);
  const rows = report.models.map((m) => cols.map((c) => oneLine(c.cell(m))));
  const widths = cols.map((c, j) => Math.max(c.head.length, ...rows.map((r) => r[j]!.length)));
  const last = cols.length - 1;
  const line = (cells: string[]) => cells
    .map((s, j) => (j === last ? s : cols[j]!.align === 'right' ? s.padStart(widths[j]!) : s.padEnd(widths[j]!)))
    .join('  ')
    .trimEnd();
  const rule = widths.map((w, j) => '-'.repeat(j === last ? cols[j]!.head.length : w)).join('  ');
  // A dash must not stand alone where a measurement could not be made: say why under the table.
  const skipped = [...new Set(report.models.flatMap((m) => (m.probeSkipped ? [m.probeSkipped] : [])))];
  const notes = skipped.map((why) => `probe/out ${DASH}: ${oneLine(why)}`);
  return [line(cols.map((c) => c.head)), rule, ...rows.map(line), ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}
