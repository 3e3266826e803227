/**
 * The report's charts as Vega-Lite specs, rendered server-side to SVG so the HTML page needs no network and no
 * JavaScript. Every spec is built from the EvalReport alone (no randomness: the same report gives the same SVG
 * modulo the ids, which `renderSvg` scopes per chart so several SVGs can share one page).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { EvalReport, ModelEvaluation, RelearnSummary } from '../report-types.ts';
import { fmtNum, fmtP, MODE_LABEL, miaAuc, relearnModes, relearnOf } from './format.ts';

/** One chart of the report: what it is called, a caption for the page, and its spec. */
export interface ReportChart {
  /** Stable identifier (also the id prefix of the rendered SVG): "headline", "relearn-forget-part", … */
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

const REFERENCE_COLOR = '#7f7f7f';
const TARGET_COLOR = '#d62728';
const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#72b7b2', '#eeca3b', '#9d755d', '#ff9da6', '#17becf', '#bcbd22'];
const FORGET_COLOR = '#e45756';
const HOLDOUT_COLOR = '#4c78a8';
/** −log10 of the smallest p-value drawn; p = 0 (underflow) is drawn at this cap. */
const NEG_LOG10_CAP = 300;

/** Room around each chart so an underestimated label cannot touch the SVG's edge. */
export const PADDING = { left: 10, right: 10, top: 6, bottom: 6 };

export const CONFIG = {
  background: 'white',
  font: 'sans-serif',
  view: { stroke: '#ddd' },
  title: { fontSize: 14, anchor: 'start' as const, subtitleColor: '#555', subtitleFontSize: 11 },
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 180 },
  header: { labelFontSize: 12, titleFontSize: 12, labelLimit: 260 },
  legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 220 },
};

/** Chart labels for the models: their names, made unique ("npo", "npo (2)") so a duplicate cannot merge two series. */
function modelLabels(report: EvalReport): string[] {
  const seen = new Map<string, number>();
  return report.models.map((m) => {
    const base = m.name === '' ? '(unnamed)' : m.name;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base} (${n})`;
  });
}

/** One colour per model, the same in every chart: target red, reference grey, unlearned models from a palette. */
function modelColors(report: EvalReport): { domain: string[]; range: string[] } {
  const labels = modelLabels(report);
  let next = 0;
  const range = report.models.map((m) => {
    if (m.role === 'target') return TARGET_COLOR;
    if (m.role === 'reference') return REFERENCE_COLOR;
    return PALETTE[next++ % PALETTE.length]!;
  });
  return { domain: labels, range };
}

const ROLE_LABEL: Record<ModelEvaluation['role'], string> = {
  target: 'target (before unlearning)',
  reference: 'reference (never learned)',
  unlearned: 'unlearned',
};

function finite(x: number | null | undefined): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** Colour by model label; with `shown`, the scale (and legend) lists only those models, in their usual colours. */
function colorEncoding(report: EvalReport, legend: boolean, shown?: readonly string[]) {
  const all = modelColors(report);
  const keep = shown ? all.domain.map((d) => shown.includes(d)) : all.domain.map(() => true);
  const domain = all.domain.filter((_, i) => keep[i]);
  const range = all.range.filter((_, i) => keep[i]);
  return {
    field: 'model',
    type: 'nominal' as const,
    title: 'Model',
    scale: { domain, range },
    sort: domain,
    ...(legend ? {} : { legend: null }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Headline metrics

const HEADLINE = [
  { key: 'forgetProbability', label: 'Forget probability', get: (m: ModelEvaluation) => m.forget.probability },
  { key: 'forgetRouge', label: 'Forget ROUGE-L', get: (m: ModelEvaluation) => m.forget.rougeRecall },
  { key: 'retainProbability', label: 'Retain probability', get: (m: ModelEvaluation) => m.retain.probability },
  { key: 'modelUtility', label: 'Model utility', get: (m: ModelEvaluation) => m.modelUtility },
] as const;

/** Small multiples of horizontal bars: one panel per headline metric (all in [0, 1]), one bar per model. */
function headlineSpec(report: EvalReport): TopLevelSpec {
  const labels = modelLabels(report);
  const values: { model: string; metric: string; value: number; text: string }[] = [];
  report.models.forEach((m, i) => {
    for (const h of HEADLINE) {
      const v = h.get(m);
      if (finite(v)) values.push({ model: labels[i]!, metric: h.label, value: v, text: fmtNum(v) });
    }
  });
  return {
    title: { text: 'Headline metrics', subtitle: 'Forget scores: down to the reference\'s. Retain and utility: stay at the target\'s.' },
    data: { values },
    facet: {
      column: { field: 'metric', type: 'nominal', sort: HEADLINE.map((h) => h.label), title: null, header: { labelFontWeight: 'bold' } },
    },
    spec: {
      width: 120,
      height: { step: 20 },
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            y: { field: 'model', type: 'nominal', sort: labels, title: null },
            x: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, title: null, axis: { tickCount: 4, format: '.1f' } },
            color: colorEncoding(report, false),
          },
        },
        {
          mark: { type: 'text', align: 'left', dx: 3, fontSize: 10, color: '#333' },
          encoding: {
            y: { field: 'model', type: 'nominal', sort: labels, title: null },
            x: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] } },
            text: { field: 'text', type: 'nominal' },
          },
        },
      ],
    },
    resolve: { scale: { x: 'shared', y: 'shared' } },
    padding: PADDING,
    config: CONFIG,
  };
}

/** Forget quality as −log10 p per model, with p = 0.05 marked: bars left of the rule are indistinguishable from the reference. */
function forgetQualitySpec(report: EvalReport): TopLevelSpec {
  const labels = modelLabels(report);
  const values: { model: string; value: number; text: string }[] = [];
  report.models.forEach((m, i) => {
    const p = m.forgetQuality;
    if (!finite(p) || p < 0) return;
    const v = p === 0 ? NEG_LOG10_CAP : Math.min(NEG_LOG10_CAP, -Math.log10(Math.min(1, p)));
    values.push({ model: labels[i]!, value: v, text: `p = ${fmtP(p)}` });
  });
  const threshold = -Math.log10(0.05);
  const max = Math.max(threshold * 1.6, ...values.map((v) => v.value * 1.25));
  const shown = labels.filter((l) => values.some((v) => v.model === l));
  return {
    title: {
      text: 'Forget quality (KS test vs the reference)',
      subtitle: 'Bar = −log10 p; left of the dashed line (p ≥ 0.05) = indistinguishable.',
      offset: 16,
    },
    width: 460,
    height: { step: 22 },
    layer: [
      {
        data: { values },
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'model', type: 'nominal', sort: shown, title: null },
          x: { field: 'value', type: 'quantitative', scale: { domain: [0, max], nice: false }, title: '−log10 (forget quality p-value)' },
          color: colorEncoding(report, false),
        },
      },
      {
        data: { values },
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#333' },
        encoding: {
          y: { field: 'model', type: 'nominal', sort: shown },
          x: { field: 'value', type: 'quantitative' },
          text: { field: 'text', type: 'nominal' },
        },
      },
      {
        data: { values: [{ x: threshold, label: 'p = 0.05' }] },
        layer: [
          { mark: { type: 'rule', strokeDash: [5, 4], color: '#222' }, encoding: { x: { field: 'x', type: 'quantitative' } } },
          {
            mark: { type: 'text', align: 'center', baseline: 'bottom', dy: -3, fontSize: 10, color: '#222' },
            encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label', type: 'nominal' } },
          },
        ],
      },
    ],
    padding: PADDING,
    config: CONFIG,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Relearning

/** Held-out forget probability vs attack step, one line per model; the reference (the "never learned" bar) dashed. */
function relearnSpec(report: EvalReport, mode: RelearnSummary['mode']): TopLevelSpec {
  const labels = modelLabels(report);
  const values: { model: string; line: string; step: number; score: number }[] = [];
  const shown: string[] = [];
  report.models.forEach((m, i) => {
    const r = relearnOf(m, mode);
    if (!r) return;
    const n = Math.min(r.steps.length, r.score.length);
    if (n > 0) shown.push(labels[i]!);
    for (let k = 0; k < n; k++) {
      const step = r.steps[k];
      const score = r.score[k];
      if (finite(step) && finite(score)) {
        values.push({ model: labels[i]!, line: m.role === 'reference' ? 'reference: never learned' : 'relearning', step, score });
      }
    }
  });
  return {
    title: {
      text: `Relearning attack: fine-tuned on ${MODE_LABEL[mode]}`,
      subtitle: 'Truly forgotten ≈ climbs no faster than the dashed reference (never learned).',
    },
    width: 460,
    height: 260,
    data: { values },
    mark: { type: 'line', point: { filled: true, size: 30 }, strokeWidth: 2 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'Attack step' },
      y: { field: 'score', type: 'quantitative', title: 'Held-out forget probability', scale: { zero: true } },
      color: colorEncoding(report, true, shown),
      strokeDash: {
        field: 'line',
        type: 'nominal',
        legend: null,
        scale: { domain: ['relearning', 'reference: never learned'], range: [[1, 0], [6, 4]] },
      },
      detail: { field: 'model', type: 'nominal' },
    },
    padding: PADDING,
    config: CONFIG,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Membership inference

const MIA_BINS = 24;
const FORGET_SET = 'forget (members)';
const HOLDOUT_SET = 'holdout (non-members)';

/** Histogram bins shared by all panels: equal widths over the pooled range (a degenerate range gets width 1). */
export function sharedBins(samples: readonly (readonly number[])[], bins: number): { lo: number; width: number; bins: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of samples) for (const v of s) if (finite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!finite(lo) || !finite(hi)) return { lo: 0, width: 1, bins: 1 };
  if (hi === lo) return { lo: lo - 0.5, width: 1, bins: 1 };
  return { lo, width: (hi - lo) / bins, bins };
}

function histogram(values: readonly number[], b: { lo: number; width: number; bins: number }): number[] {
  const counts = new Array<number>(b.bins).fill(0);
  for (const v of values) {
    if (!finite(v)) continue;
    const k = Math.min(b.bins - 1, Math.max(0, Math.floor((v - b.lo) / b.width)));
    counts[k]!++;
  }
  return counts;
}

function miaPanels(report: EvalReport): number[] {
  return report.models.flatMap((m, i) => (m.samples.lossForget.length > 0 || m.samples.lossHoldout.length > 0 ? [i] : []));
}

/** LOSS-attack score histograms, forget (members) vs holdout (non-members), one panel per model, as fractions of each set. */
function miaHistogramSpec(report: EvalReport): TopLevelSpec {
  const labels = modelLabels(report);
  const panels = miaPanels(report);
  const b = sharedBins(panels.flatMap((i) => [report.models[i]!.samples.lossForget, report.models[i]!.samples.lossHoldout]), MIA_BINS);
  const values: { panel: string; set: string; x0: number; x1: number; fraction: number }[] = [];
  const order: string[] = [];
  for (const i of panels) {
    const m = report.models[i]!;
    const auc = miaAuc(m, 'loss');
    const panel = `${labels[i]!} · LOSS AUC ${fmtNum(auc)}`;
    order.push(panel);
    for (const [set, xs] of [[FORGET_SET, m.samples.lossForget], [HOLDOUT_SET, m.samples.lossHoldout]] as const) {
      const n = xs.filter(finite).length;
      if (n === 0) continue;
      histogram(xs, b).forEach((c, k) => {
        values.push({ panel, set, x0: b.lo + k * b.width, x1: b.lo + (k + 1) * b.width, fraction: c / n });
      });
    }
  }
  return {
    title: {
      text: 'Membership inference: LOSS attack scores',
      subtitle: 'Forget items vs held-out items; overlap like the reference\'s = nothing left to detect.',
    },
    data: { values },
    facet: { field: 'panel', type: 'nominal', sort: order, title: null },
    columns: 3,
    spec: {
      width: 165,
      height: 120,
      mark: { type: 'bar', opacity: 0.55, binSpacing: 0 },
      encoding: {
        x: { field: 'x0', type: 'quantitative', bin: 'binned', title: 'LOSS score', axis: { tickCount: 5 } },
        x2: { field: 'x1' },
        y: { field: 'fraction', type: 'quantitative', title: 'Fraction of set', stack: null },
        color: {
          field: 'set',
          type: 'nominal',
          title: null,
          scale: { domain: [FORGET_SET, HOLDOUT_SET], range: [FORGET_COLOR, HOLDOUT_COLOR] },
          legend: { orient: 'top', direction: 'horizontal' },
        },
      },
    },
    resolve: { scale: { y: 'independent' } },
    padding: PADDING,
    config: CONFIG,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Forget vs utility

/** Forget probability (x) vs model utility (y), one labelled point per model; target and reference drawn distinctly. */
function tradeoffSpec(report: EvalReport): TopLevelSpec {
  const labels = modelLabels(report);
  const values = report.models.flatMap((m, i) =>
    finite(m.forget.probability) && finite(m.modelUtility)
      ? [{ model: labels[i]!, role: ROLE_LABEL[m.role], forget: m.forget.probability, utility: m.modelUtility }]
      : []);
  const roleDomain = [ROLE_LABEL.unlearned, ROLE_LABEL.target, ROLE_LABEL.reference];
  return {
    title: {
      text: 'Forgetting vs utility',
      subtitle: 'Aim: the reference\'s forget probability at the target\'s utility.',
    },
    width: 420,
    height: 280,
    data: { values },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 110, opacity: 0.9, stroke: '#222', strokeWidth: 0.6 },
        encoding: {
          x: { field: 'forget', type: 'quantitative', title: 'Forget probability (lower = forgets more)', scale: { zero: true } },
          y: { field: 'utility', type: 'quantitative', title: 'Model utility (higher = keeps more)', scale: { zero: false, padding: 12 } },
          color: colorEncoding(report, false),
          shape: {
            field: 'role',
            type: 'nominal',
            title: 'Role',
            scale: { domain: roleDomain, range: ['circle', 'square', 'diamond'] },
          },
        },
      },
      {
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 9, fontSize: 11, color: '#222' },
        encoding: {
          x: { field: 'forget', type: 'quantitative' },
          y: { field: 'utility', type: 'quantitative' },
          text: { field: 'model', type: 'nominal' },
        },
      },
    ],
    padding: PADDING,
    config: CONFIG,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Truth-ratio distributions

function referenceIndex(report: EvalReport): number {
  return report.models.findIndex((m) => m.role === 'reference' && m.samples.forgetTruthRatios.some(finite));
}

function truthRatioPanels(report: EvalReport): number[] {
  const ref = referenceIndex(report);
  if (ref < 0) return [];
  return report.models.flatMap((m, i) => (i !== ref && m.samples.forgetTruthRatios.some(finite) ? [i] : []));
}

/** (x, F(x)) for a step ECDF, starting at (min, 0). */
function ecdf(xs: readonly number[]): { x: number; y: number }[] {
  const s = xs.filter(finite).sort((a, b) => a - b);
  if (s.length === 0) return [];
  const out = [{ x: s[0]!, y: 0 }];
  s.forEach((x, k) => {
    if (k + 1 < s.length && s[k + 1] === x) return; // one point per distinct value
    out.push({ x, y: (k + 1) / s.length });
  });
  return out;
}

/** Empirical CDFs of per-item forget truth ratios, each model vs the reference (the two samples the KS test compares). */
function truthRatioSpec(report: EvalReport): TopLevelSpec {
  const labels = modelLabels(report);
  const ref = referenceIndex(report);
  const panels = truthRatioPanels(report);
  const refCurve = ref >= 0 ? ecdf(report.models[ref]!.samples.forgetTruthRatios) : [];
  const refName = ref >= 0 ? labels[ref]! : 'reference';
  const values: { panel: string; series: string; x: number; y: number }[] = [];
  const order: string[] = [];
  for (const i of panels) {
    const m = report.models[i]!;
    const panel = `${labels[i]!} · p = ${fmtP(m.forgetQuality)}`;
    order.push(panel);
    for (const p of ecdf(m.samples.forgetTruthRatios)) values.push({ panel, series: 'this model', ...p });
    for (const p of refCurve) values.push({ panel, series: `reference (${refName})`, ...p });
  }
  const all = values.map((v) => v.x);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const logScale = all.length > 0 && lo > 0 && hi / lo > 100;
  return {
    title: {
      text: 'Forget truth ratios vs the reference',
      subtitle: 'Empirical CDFs; forget quality p is the KS test on their largest gap.',
    },
    data: { values },
    facet: { field: 'panel', type: 'nominal', sort: order, title: null },
    columns: 3,
    spec: {
      width: 180,
      height: 130,
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: 'Truth ratio', scale: logScale ? { type: 'log' } : { zero: false } },
        y: { field: 'y', type: 'quantitative', title: 'Fraction ≤ x', scale: { domain: [0, 1] } },
        color: {
          field: 'series',
          type: 'nominal',
          title: null,
          scale: { domain: ['this model', `reference (${refName})`], range: [PALETTE[0]!, REFERENCE_COLOR] },
        },
        strokeDash: {
          field: 'series',
          type: 'nominal',
          title: null,
          scale: { domain: ['this model', `reference (${refName})`], range: [[1, 0], [6, 4]] },
        },
      },
    },
    padding: PADDING,
    config: CONFIG,
  };
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * The charts the report shows, in page order. A chart without data is left out (no forget-quality values, no
 * relearning run in a mode, no LOSS samples, no reference truth ratios), so every entry renders to one SVG.
 */
export function buildCharts(report: EvalReport): ReportChart[] {
  const charts: ReportChart[] = [];
  if (report.models.length === 0) return charts;
  charts.push({
    id: 'headline',
    title: 'Headline metrics',
    caption: 'Forget probability and ROUGE-L on the forget set, probability on the retain set, and model utility, per model.',
    spec: headlineSpec(report),
  });
  if (report.models.some((m) => finite(m.forgetQuality) && m.forgetQuality >= 0)) {
    charts.push({
      id: 'forget-quality',
      title: 'Forget quality',
      caption: 'KS-test p-value between each model\'s and the reference\'s per-item forget truth ratios; p ≥ 0.05 means indistinguishable.',
      spec: forgetQualitySpec(report),
    });
  }
  if (report.models.some((m) => finite(m.forget.probability) && finite(m.modelUtility))) {
    charts.push({
      id: 'tradeoff',
      title: 'Forgetting vs utility',
      caption: 'Each model\'s forget probability against its model utility.',
      spec: tradeoffSpec(report),
    });
  }
  for (const mode of relearnModes(report)) {
    const any = report.models.some((m) => {
      const r = relearnOf(m, mode);
      return r !== undefined && Math.min(r.steps.length, r.score.length) > 0;
    });
    if (!any) continue;
    charts.push({
      id: `relearn-${mode}`,
      title: `Relearning attack (${MODE_LABEL[mode]})`,
      caption: `An attacker fine-tunes each model on ${MODE_LABEL[mode]} and watches held-out forget items; the reference model shows how fast a model that never learned them picks them up.`,
      spec: relearnSpec(report, mode),
    });
  }
  if (miaPanels(report).length > 0) {
    charts.push({
      id: 'mia-loss',
      title: 'Membership inference (LOSS)',
      caption: 'Distribution of the LOSS attack\'s scores on forget items (members) and on held-out items (non-members).',
      spec: miaHistogramSpec(report),
    });
  }
  if (truthRatioPanels(report).length > 0) {
    charts.push({
      id: 'truth-ratio',
      title: 'Forget truth ratios vs the reference',
      caption: 'The two samples behind forget quality: each model\'s per-item forget truth ratios against the reference\'s.',
      spec: truthRatioSpec(report),
    });
  }
  return charts;
}

/**
 * Prefixes every id in an SVG string (and its url(#…) / href="#…" references) so that several SVGs inlined in one
 * HTML page cannot resolve each other's clip paths or gradients.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  const ids = new Set<string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) ids.add(m[1]!);
  if (ids.size === 0) return svg;
  const p = prefix.replace(/[^A-Za-z0-9_-]/g, '_');
  return svg
    .replace(/(\sid=")([^"]+)(")/g, (all, a: string, id: string, b: string) => (ids.has(id) ? `${a}${p}-${id}${b}` : all))
    .replace(/url\(#([^)]+)\)/g, (all, id: string) => (ids.has(id) ? `url(#${p}-${id})` : all))
    .replace(/(href=")#([^"]+)(")/g, (all, a: string, id: string, b: string) => (ids.has(id) ? `${a}#${p}-${id}${b}` : all));
}

// Text widths. Without a canvas Vega guesses 0.8 em per character, about 1.6× what a browser draws, which leaves
// wide empty margins and truncates legend labels early. These are Helvetica's advance widths (1/1000 em) for
// ASCII, scaled up a little toward DejaVu Sans (the usual "sans-serif" on Linux) so that text never overflows.
const ASCII_WIDTHS = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space ! " # $ % & ' ( ) * + , - . /
  556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0-9 : ; < = > ?
  1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @ A-O
  667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P-Z [ \ ] ^ _
  333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // ` a-o
  556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, //        p-z { | } ~
];
const WIDE = new Set(['—', '…', '\u2003']);
const FONT_SCALE = 1.15;

function charWidth(c: string): number {
  const code = c.codePointAt(0)!;
  if (code >= 32 && code < 127) return ASCII_WIDTHS[code - 32]!;
  if (WIDE.has(c)) return 1000;
  return 600;
}

/** Estimated width in pixels of one line of text in a Vega text item (its fontSize and fontWeight). */
function estimateTextWidth(item: { fontSize?: number; fontWeight?: string | number }, text: unknown): number {
  const line = text === null || text === undefined ? '' : String(text).trim();
  const size = typeof item.fontSize === 'number' ? item.fontSize : 11;
  const weight = item.fontWeight;
  const bold = weight === 'bold' || weight === 'bolder' || (typeof weight === 'number' && weight >= 600) || (typeof weight === 'string' && Number(weight) >= 600);
  let units = 0;
  for (const c of line) units += charWidth(c);
  return (units / 1000) * size * FONT_SCALE * (bold ? 1.08 : 1);
}

type TextWidth = (item: never, text: unknown) => number;
let activeRenders = 0;
let savedWidth: TextWidth | undefined;

/** Installs the width estimate for the duration of one or more (possibly overlapping) renders. */
function withTextMetrics<T>(vega: object, run: () => Promise<T>): Promise<T> {
  // textMetrics is exported by vega (vega-scenegraph) but not declared in its typings.
  const metrics = (vega as unknown as { textMetrics?: { width: TextWidth } }).textMetrics;
  if (!metrics) return run();
  if (activeRenders++ === 0) {
    savedWidth = metrics.width;
    metrics.width = estimateTextWidth as TextWidth;
  }
  return run().finally(() => {
    if (--activeRenders === 0 && savedWidth) metrics.width = savedWidth;
  });
}

/**
 * Compiles a Vega-Lite spec and renders it headless (no canvas, no DOM) to an SVG string. With idPrefix, the SVG's
 * ids are scoped (see scopeSvgIds). Deterministic: the same spec gives the same string.
 */
export async function renderSvg(spec: TopLevelSpec, idPrefix?: string): Promise<string> {
  // Loaded on first use: Vega takes about a second to import, which every CLI command would otherwise pay.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  // Warnings (e.g. a dropped empty series) would only clutter the CLI's output; errors still surface.
  const compiled = compile(spec, { logger: vega.logger(vega.Error) }).spec;
  // Vega numbers clip paths and gradients from module-level counters; restart them so the same spec always gives
  // the same SVG (the ids are scoped per chart below, so restarting cannot make two charts' ids collide).
  vega.resetSVGDefIds();
  return withTextMetrics(vega, async () => {
    const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
    try {
      const svg = await view.toSVG();
      return idPrefix ? scopeSvgIds(svg, idPrefix) : svg;
    } finally {
      view.finalize();
    }
  });
}
