import { basename } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { CONFIG, PADDING, type ReportChart } from '../../eval/report/charts.ts';
import { fmtNum } from '../../eval/report/format.ts';
import type { ModelVerification } from '../verify/types.ts';
import type { DpoReport } from './report-data.ts';
import { fmtProb, shortLabel } from './residual-risk.ts';

/**
 * The DPO report's charts as Vega-Lite specs, in the eval report's style (its config, padding and server-side SVG
 * renderer, src/eval/report/charts.ts): per verified model, each criterion's value against its bar and the value
 * before erasure; and the probability of the subject's answers before and after, per model.
 */
const MET = '#2e8540';
const MISSED = '#c62828';
const BEFORE = '#9e9e9e';
const BAND = '#d9efdc';
const SERIES = ['before erasure', 'after: within the bar', 'after: above the bar'] as const;

/** Value (after), bar and before of each judged criterion of one model, on the AUC scale (0.5 = chance). */
function criteriaSpec(m: ModelVerification, twoSided: boolean): TopLevelSpec {
  const judged = m.criteria.filter((c) => c.value !== null && c.status !== 'not-judged');
  const order = judged.map((c) => shortLabel(c.label));
  const points = judged.flatMap((c) => [
    ...(c.before === null ? [] : [{ criterion: shortLabel(c.label), series: SERIES[0], value: c.before, text: '' }]),
    { criterion: shortLabel(c.label), series: c.status === 'met' ? SERIES[1] : SERIES[2], value: c.value!, text: fmtNum(c.value, 2) },
  ]);
  const bands = judged.filter((c) => c.bar !== null).map((c) => ({ criterion: shortLabel(c.label), lo: twoSided ? Math.min(1 - c.bar!, c.bar!) : 0, hi: c.bar!, bar: `bar ${fmtNum(c.bar, 2)}` }));
  const y = { field: 'criterion', type: 'nominal' as const, sort: order, title: null, axis: { labelLimit: 320 } };
  const x = { field: 'value', type: 'quantitative' as const, scale: { domain: [0, 1] }, title: 'AUC: subject\'s records vs never-seen ones (0.5 = chance)' };
  return {
    title: { text: `Verification: ${basename(m.model)}`, subtitle: 'Green band: values that meet the bar. Dashed line: chance (0.5).' },
    width: 440,
    height: { step: 30 },
    layer: [
      {
        data: { values: bands },
        mark: { type: 'bar', color: BAND, height: { band: 0.7 } },
        encoding: { y, x: { field: 'lo', type: 'quantitative', scale: { domain: [0, 1] }, title: x.title }, x2: { field: 'hi' }, tooltip: { field: 'bar' } },
      },
      {
        data: { values: [{ value: 0.5 }] },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#555' },
        encoding: { x: { field: 'value', type: 'quantitative' } },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 90, opacity: 1, stroke: '#222', strokeWidth: 0.5 },
        encoding: {
          y, x,
          color: { field: 'series', type: 'nominal', title: null, scale: { domain: [...SERIES], range: [BEFORE, MET, MISSED] }, legend: { orient: 'bottom', direction: 'horizontal' } },
        },
      },
      {
        data: { values: points.filter((p) => p.text !== '') },
        mark: { type: 'text', align: 'left', dx: 8, fontSize: 10, color: '#222' },
        encoding: { y, x, text: { field: 'text', type: 'nominal' } },
      },
    ],
    padding: PADDING,
    config: CONFIG,
  };
}

/** Mean probability of the subject's answers, before and after erasure (and on never-seen records), per model. */
function probabilitySpec(rows: { model: string; series: string; value: number }[]): TopLevelSpec {
  const series = ['before erasure', 'after erasure', 'never-seen records'];
  return {
    title: { text: 'Probability of the subject\'s answers', subtitle: 'Mean over the subject\'s records; never-seen records: the level of a model that never learned them.' },
    data: { values: rows.map((r) => ({ ...r, text: fmtProb(r.value) })) },
    width: 440,
    height: { step: 16 },
    encoding: {
      y: { field: 'model', type: 'nominal', title: null },
      yOffset: { field: 'series', type: 'nominal', sort: series },
      x: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, title: 'Probability' },
    },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: { color: { field: 'series', type: 'nominal', title: null, sort: series, scale: { domain: series, range: ['#e45756', '#4c78a8', BEFORE] }, legend: { orient: 'bottom', direction: 'horizontal' } } },
      },
      { mark: { type: 'text', align: 'left', dx: 3, fontSize: 10, color: '#333' }, encoding: { text: { field: 'text', type: 'nominal' } } },
    ],
    padding: PADDING,
    config: CONFIG,
  };
}

/** The charts of a report, in page order; a chart without data is left out. */
export function buildDpoCharts(report: DpoReport): ReportChart[] {
  const charts: ReportChart[] = [];
  const last = report.verification.status === 'verified' ? report.verification.record.attempts.at(-1) : undefined;
  for (const [i, m] of (last?.models ?? []).entries()) {
    if (!m.criteria.some((c) => c.value !== null && c.status !== 'not-judged')) continue;
    charts.push({
      id: `criteria-${i}`,
      title: `Verification of ${basename(m.model)}`,
      caption: 'Each test\'s AUC after erasure (green: within the bar, red: above it) and before erasure (grey). Tests that could not be judged are not drawn; the table lists them.',
      spec: criteriaSpec(m, report.verification.status === 'verified' && report.verification.record.policy.twoSided),
    });
  }
  const rows = last
    ? last.models.flatMap((m) => [
      { model: basename(m.model), series: 'before erasure', value: m.forgetProbability.before },
      { model: basename(m.model), series: 'after erasure', value: m.forgetProbability.after },
      ...(m.forgetProbability.nonMember === null ? [] : [{ model: basename(m.model), series: 'never-seen records', value: m.forgetProbability.nonMember }]),
    ])
    : report.done.erasures.flatMap((e) => (e.forgetProbability
      ? [{ model: basename(e.output), series: 'before erasure', value: e.forgetProbability.before }, { model: basename(e.output), series: 'after erasure', value: e.forgetProbability.after }]
      : []));
  if (rows.length > 0) {
    charts.push({
      id: 'forget-probability',
      title: 'Probability of the subject\'s answers',
      caption: last
        ? 'Measured by the verification on the subject\'s records, and on records of the same form the model never saw.'
        : 'Measured by the unlearning run itself on the records it was given; not a verification.',
      spec: probabilitySpec(rows),
    });
  }
  return charts;
}
