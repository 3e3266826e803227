// The evaluation report: charts (server-rendered SVG), the self-contained HTML page, the printed table, the writer.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { EvalReport, ModelEvaluation, SetMetrics } from '../../src/eval/report-types.ts';
import { buildCharts, renderSvg, scopeSvgIds, sharedBins } from '../../src/eval/report/charts.ts';
import { fmtP, fmtSigned } from '../../src/eval/report/format.ts';
import { escapeHtml, jsonForScript, renderReportHtml } from '../../src/eval/report/html.ts';
import { formatComparisonTable } from '../../src/eval/report/table.ts';
import { writeReport } from '../../src/eval/report/write.ts';

/** A small deterministic generator (LCG) so the samples are the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function draws(n: number, seed: number, centre: number, spread: number): number[] {
  const r = lcg(seed);
  return Array.from({ length: n }, () => Number((centre + spread * (r() + r() + r() - 1.5)).toFixed(4)));
}

function set(items: number, probability: number, rougeRecall: number, truthRatio: number | null): SetMetrics {
  return { items, probability, rougeRecall, truthRatio };
}

const EVIL = '<b>&x';

function syntheticReport(): EvalReport {
  const unlearned: ModelEvaluation = {
    name: EVIL,
    role: 'unlearned',
    dir: '/runs/evil',
    forget: set(40, 0.1234, 0.2468, 0.61),
    retain: set(40, 0.8123, 0.7701, 0.52),
    world: set(30, 0.4567, 0.8001, 0.55),
    modelUtility: 0.5912,
    forgetQuality: 3.21e-5,
    extractionStrength: 0.0815,
    exactMemorisation: 0.412,
    mia: [{ attack: 'loss', auc: 0.6172 }, { attack: 'zlib', auc: 0.6 }, { attack: 'min-k++', auc: 0.5531 }],
    privLeak: 12.34,
    relearn: [
      { mode: 'forget-part', steps: [0, 5, 10, 15, 20, 25, 30], score: [0.1, 0.3, 0.5, 0.7, 0.8, 0.85, 0.9], steps50: 10, steps90: 25 },
      { mode: 'related', steps: [0, 10, 20, 30], score: [0.1, 0.15, 0.22, 0.3], steps50: null, steps90: null },
    ],
    probe: { attribute: 'birthplace', layer: 3, probeAccuracy: 0.85, outputAccuracy: 0.1, chance: 0.2 },
    samples: { forgetTruthRatios: draws(40, 1, 0.45, 0.4), lossForget: draws(40, 2, 1.6, 1.2), lossHoldout: draws(40, 3, 2.4, 1.2) },
    verdict: 'Still separable from the reference (p < 0.05); </script><script>alert(1)</script> & "quotes"',
    seconds: 12.5,
  };
  const sparse: ModelEvaluation = {
    name: 'npo+sage',
    role: 'unlearned',
    dir: null,
    forget: set(40, 0.3, 0.41, null),
    retain: set(40, 0.79, 0.75, null),
    world: null,
    modelUtility: 0.55,
    forgetQuality: null,
    extractionStrength: 0.2,
    exactMemorisation: 0.5,
    mia: [],
    privLeak: null,
    relearn: [],
    probe: null,
    samples: { forgetTruthRatios: [], lossForget: [], lossHoldout: [] },
    verdict: null,
    seconds: null,
  };
  const target: ModelEvaluation = {
    name: 'target',
    role: 'target',
    dir: '/models/target',
    forget: set(40, 0.912, 0.934, 0.4),
    retain: set(40, 0.85, 0.81, 0.53),
    world: set(30, 0.47, 0.82, 0.56),
    modelUtility: 0.6123,
    forgetQuality: 1.5e-12,
    extractionStrength: 0.731,
    exactMemorisation: 0.95,
    mia: [{ attack: 'loss', auc: 0.9412 }, { attack: 'min-k++', auc: 0.9011 }],
    privLeak: -0.04,
    relearn: [{ mode: 'forget-part', steps: [0, 20, 40], score: [0.2, 0.25, 0.3], steps50: null, steps90: null }],
    probe: { attribute: 'birthplace', layer: 3, probeAccuracy: 0.9, outputAccuracy: 0.88, chance: 0.2 },
    samples: { forgetTruthRatios: draws(40, 4, 0.25, 0.3), lossForget: draws(40, 5, 0.4, 0.5), lossHoldout: draws(40, 6, 2.5, 1.2) },
    verdict: 'Before unlearning.',
    seconds: 10,
  };
  const reference: ModelEvaluation = {
    name: 'retain90',
    role: 'reference',
    dir: '/models/retain90',
    forget: set(40, 0.1001, 0.3012, 0.68),
    retain: set(40, 0.84, 0.8, 0.54),
    world: set(30, 0.46, 0.81, 0.55),
    modelUtility: 0.6051,
    forgetQuality: null,
    extractionStrength: 0.05,
    exactMemorisation: 0.38,
    mia: [{ attack: 'loss', auc: 0.5493 }, { attack: 'min-k++', auc: 0.5312 }],
    privLeak: null,
    relearn: [
      { mode: 'forget-part', steps: [0, 5, 10, 15, 20, 25, 30], score: [0.1, 0.2, 0.3, 0.45, 0.55, 0.7, 0.8], steps50: 20, steps90: null },
      { mode: 'related', steps: [0, 10, 20, 30], score: [0.1, 0.12, 0.15, 0.2], steps50: null, steps90: null },
    ],
    probe: null,
    samples: { forgetTruthRatios: draws(40, 7, 0.65, 0.4), lossForget: draws(40, 8, 2.3, 1.2), lossHoldout: draws(40, 9, 2.4, 1.2) },
    verdict: null,
    seconds: 9.75,
  };
  return {
    title: 'Forget 10% of persons — <synthetic>',
    created: '2025-01-02T03:04:05.000Z',
    data: { forget: '/data/forget10.jsonl', retain: '/data/retain90.jsonl', holdout: '/data/holdout10.jsonl' },
    models: [unlearned, sparse, target, reference],
  };
}

const EXPECTED_CHARTS = ['headline', 'forget-quality', 'tradeoff', 'relearn-forget-part', 'relearn-related', 'mia-loss', 'truth-ratio'];

let htmlCache: Promise<string> | undefined;
function html(): Promise<string> {
  htmlCache ??= renderReportHtml(syntheticReport());
  return htmlCache;
}

test('formatting: p-values switch to scientific notation below 0.001; signs; missing is a dash', () => {
  assert.equal(fmtP(3.21e-5), '3.2e-5');
  assert.equal(fmtP(0.0421), '0.042');
  assert.equal(fmtP(0.001), '0.001');
  assert.equal(fmtP(0), '0');
  assert.equal(fmtP(null), '—');
  assert.equal(fmtP(Number.NaN), '—');
  assert.equal(fmtSigned(12.34), '+12.3');
  assert.equal(fmtSigned(-4), '-4.0');
  assert.equal(fmtSigned(-0.04), '0.0');
  assert.equal(fmtSigned(null), '—');
});

test('the chart list follows the data; every chart renders to one deterministic SVG', async () => {
  const report = syntheticReport();
  const charts = buildCharts(report);
  assert.deepEqual(charts.map((c) => c.id), EXPECTED_CHARTS);
  const first = await renderSvg(charts[0]!.spec, 'x');
  assert.match(first, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal(await renderSvg(charts[0]!.spec, 'x'), first);
  // Without relearning, samples, forget quality or a reference, those charts drop out.
  const bare = syntheticReport();
  bare.models = [bare.models[1]!];
  assert.deepEqual(buildCharts(bare).map((c) => c.id), ['headline', 'tradeoff']);
  assert.deepEqual(buildCharts({ ...bare, models: [] }), []);
});

test('SVG ids are scoped per chart, references included', () => {
  const svg = '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"></g><use href="#clip1"/><a id="other"/></svg>';
  const out = scopeSvgIds(svg, 'chart-a');
  assert.equal(out, '<svg><defs><clipPath id="chart-a-clip1"><rect/></clipPath></defs><g clip-path="url(#chart-a-clip1)"></g><use href="#chart-a-clip1"/><a id="chart-a-other"/></svg>');
});

test('histogram bins are shared and survive a degenerate range', () => {
  assert.deepEqual(sharedBins([[1, 2], [3]], 4), { lo: 1, width: 0.5, bins: 4 });
  assert.deepEqual(sharedBins([[2, 2]], 4), { lo: 1.5, width: 1, bins: 1 });
  assert.deepEqual(sharedBins([[], []], 4), { lo: 0, width: 1, bins: 1 });
});

test('the HTML page is self-contained: one inline SVG per chart, no URLs, no script code', async () => {
  const page = await html();
  assert.ok(page.startsWith('<!doctype html>'));
  assert.equal(page.match(/<svg[\s>]/g)?.length, EXPECTED_CHARTS.length);
  for (const id of EXPECTED_CHARTS) assert.match(page, new RegExp(`<figure id="chart-${id}"[^>]*><svg`));
  assert.doesNotMatch(page, /This chart could not be rendered/);
  const urls = page.match(/https?:\/\/[^\s"'<>)]*/gi) ?? [];
  assert.ok(urls.length > 0);
  for (const u of urls) assert.ok(u.startsWith('http://www.w3.org/'), `unexpected URL ${u}`);
  assert.doesNotMatch(page, /<script[^>]*\ssrc\s*=/i);
  assert.doesNotMatch(page, /<link\b|<img\b|<iframe\b|@import|url\((?!#)/i);
  const scripts = page.match(/<script\b[^>]*>/gi) ?? [];
  assert.deepEqual(scripts, ['<script type="application/json" id="metrics">']);
  assert.doesNotMatch(page, /\son[a-z]+\s*=/i); // no inline event handlers
  // SVG ids are unique across the page.
  const ids = [...page.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids).size, ids.length);
});

test('the embedded metrics JSON parses back to the report', async () => {
  const page = await html();
  const m = /<script type="application\/json" id="metrics">([\s\S]*?)<\/script>/.exec(page);
  assert.ok(m);
  assert.deepEqual(JSON.parse(m[1]!), syntheticReport());
  assert.equal(JSON.parse(jsonForScript('</script><!--\u2028')), '</script><!--\u2028');
  assert.doesNotMatch(jsonForScript('</script>'), /</);
});

test('text is escaped everywhere, charts included', async () => {
  const page = await html();
  assert.ok(!page.includes(EVIL));
  assert.ok(!page.includes('<b>'));
  assert.ok(!page.includes('<synthetic>'));
  assert.ok(page.includes(escapeHtml(EVIL)));
  assert.ok(page.includes('&lt;b&gt;&amp;x'));
  assert.ok(page.includes('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;'));
  assert.equal(page.match(/<\/script>/g)?.length, 1);
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('the summary table shows the formatted numbers, dashes for what is missing', async () => {
  const page = await html();
  const summary = /<table class="summary">([\s\S]*?)<\/table>/.exec(page)?.[1] ?? '';
  const rows = summary.split('<tbody>')[1]!.split('</tr>').filter((r) => r.includes('<tr'));
  assert.equal(rows.length, 4);
  const cells = (row: string) => [...row.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!.replace(/<[^>]+>/g, ''));
  const evil = cells(rows[0]!);
  assert.deepEqual(evil.slice(0, 16), [
    '&lt;b&gt;&amp;x', 'unlearned', '0.123', '0.247', '0.610', '3.2e-5', '0.812', '0.591', '0.617', '0.553', '+12.3', '0.082',
    '10/25', '&gt;30/&gt;30', '0.85/0.10',
    'Still separable from the reference (p &lt; 0.05); &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;',
  ]);
  const sparse = cells(rows[1]!);
  assert.deepEqual(sparse.slice(0, 16), [
    'npo+sage', 'unlearned', '0.300', '0.410', '—', '—', '0.790', '0.550', '—', '—', '—', '0.200', '—', '—', '—', '—',
  ]);
  assert.equal(cells(rows[2]!)[5], '1.5e-12');
  assert.equal(cells(rows[2]!)[12], '&gt;40/&gt;40');
  assert.equal(cells(rows[3]!)[12], '20/&gt;30');
  assert.match(page, /What the numbers mean/);
  assert.match(page, /Kolmogorov–Smirnov/);
});

test('a report with no models, or models with nothing but the required numbers, still renders', async () => {
  const empty = await renderReportHtml({ title: '', created: '', data: {}, models: [] });
  assert.doesNotMatch(empty, /<svg/);
  assert.match(empty, /No models were evaluated/);
  const report = syntheticReport();
  report.models = [report.models[1]!];
  const page = await renderReportHtml(report);
  assert.equal(page.match(/<svg[\s>]/g)?.length, 2);
  assert.equal(formatComparisonTable({ title: '', created: '', data: {}, models: [] }).split('\n').length, 2);
});

test('the printed table: one aligned row per model, compact numbers', () => {
  const table = formatComparisonTable(syntheticReport());
  const lines = table.split('\n');
  assert.equal(lines.length, 2 + 4);
  const [head, rule, ...rows] = lines as [string, string, ...string[]];
  assert.match(rule, /^-+( +-+)+$/);
  assert.ok(rows[0]!.startsWith(EVIL)); // plain text: nothing to escape in a terminal
  assert.ok(rows[1]!.startsWith('npo+sage'));
  assert.ok(rows[2]!.startsWith('target'));
  assert.ok(rows[3]!.startsWith('retain90'));
  // Every row's verdict starts where the header's does, so the columns before it line up.
  const verdictAt = head.indexOf('verdict');
  assert.ok(verdictAt > 0);
  assert.equal(rows[0]!.indexOf('Still separable'), verdictAt);
  assert.equal(rows[1]!.slice(verdictAt), '—');
  assert.equal(rows[2]!.indexOf('Before unlearning.'), verdictAt);
  // Right-aligned numeric columns end where their headers end.
  const qEnd = head.indexOf('f.quality') + 'f.quality'.length;
  assert.equal(rows[0]!.slice(0, qEnd).trimEnd().split(/\s+/).at(-1), '3.2e-5');
  assert.equal(rows[1]!.slice(0, qEnd).trimEnd().split(/\s+/).at(-1), '—');
  assert.equal(rows[2]!.slice(0, qEnd).trimEnd().split(/\s+/).at(-1), '1.5e-12');
  const tokens = rows[0]!.slice(0, verdictAt).trim().split(/\s+/);
  assert.deepEqual(tokens, [EVIL, 'unlearned', '0.123', '0.247', '0.610', '3.2e-5', '0.812', '0.591', '0.617', '0.553', '+12.3', '0.082', '10/25', '>30/>30', '0.85/0.10']);
  assert.deepEqual(rows[1]!.slice(0, verdictAt).trim().split(/\s+/),
    ['npo+sage', 'unlearned', '0.300', '0.410', '—', '—', '0.790', '0.550', '—', '—', '—', '0.200', '—', '—', '—']);
  assert.deepEqual(head.split(/\s+/).slice(12, 14), ['rl.part50/90', 'rl.rel50/90']);
  for (const line of lines) assert.ok(!line.includes('\n'));
});

test('writeReport writes metrics.json and report.html atomically into a new folder', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lethe-report-'));
  try {
    const dir = join(root, 'a', 'b');
    const report = syntheticReport();
    const written = await writeReport(dir, report);
    assert.equal(written.metrics, join(dir, 'metrics.json'));
    assert.equal(written.html, join(dir, 'report.html'));
    assert.deepEqual(JSON.parse(readFileSync(written.metrics, 'utf8')), report);
    assert.ok(readFileSync(written.metrics, 'utf8').endsWith('}\n'));
    const page = readFileSync(written.html, 'utf8');
    assert.ok(page.startsWith('<!doctype html>'));
    assert.equal(page, await renderReportHtml(report)); // deterministic
    assert.deepEqual(readdirSync(dir).sort(), ['metrics.json', 'report.html']); // no temp files left behind
    // Writing again replaces both.
    report.title = 'second';
    await writeReport(dir, report);
    assert.equal(JSON.parse(readFileSync(written.metrics, 'utf8')).title, 'second');
    assert.ok(existsSync(written.html));
    if (process.env['LETHE_REPORT_SAMPLE']) writeFileSync(process.env['LETHE_REPORT_SAMPLE'], page);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
