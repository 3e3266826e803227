// A longer fuzz campaign over the same cases as test/fuzz/fuzz.test.ts (test/fuzz/cases.ts), split evenly over
// the four kinds of untrusted file and run two workers at a time:
//   npx tsx tools/fuzz.ts --cases 10000 --seed 1 [--kinds safetensors,config] [--jobs 2]
// Prints the counts by outcome and the first failures; exits 1 if any case crashed, hung or was accepted corrupt.
import { parseArgs } from 'node:util';
import { runCampaign, mergeReports, RESULTS, type CampaignReport } from '../test/fuzz/campaign.ts';
import { KINDS, type Kind } from '../test/fuzz/cases.ts';

const { values } = parseArgs({ options: { cases: { type: 'string', default: '10000' }, seed: { type: 'string', default: '1' }, kinds: { type: 'string', default: KINDS.join(',') }, jobs: { type: 'string', default: '2' } } });
const kinds = values.kinds.split(',') as Kind[];
const total = Number(values.cases);
const seed = Number(values.seed);
const jobs = Math.max(1, Number(values.jobs));
// Chunks of 250 cases, so two workers share the load and a failure is found quickly.
const chunks: { kind: Kind; start: number; count: number }[] = [];
kinds.forEach((kind, k) => {
  const n = Math.floor(total / kinds.length) + (k < total % kinds.length ? 1 : 0);
  for (let start = 0; start < n; start += 250) chunks.push({ kind, start, count: Math.min(250, n - start) });
});

const t0 = performance.now();
const reports = new Map<Kind, CampaignReport[]>(kinds.map((k) => [k, []]));
let nextChunk = 0;
await Promise.all(Array.from({ length: jobs }, async () => {
  while (nextChunk < chunks.length) {
    const c = chunks[nextChunk++]!;
    reports.get(c.kind)!.push(await runCampaign({ kind: c.kind, seed, start: c.start, count: c.count }));
  }
}));

const rows = kinds.map((k) => [k, mergeReports(reports.get(k)!)] as const);
const all = mergeReports(rows.map(([, r]) => r));
const head = ['kind', 'cases', ...RESULTS, 'slowest ms'];
const table = [...rows, ['total', all] as const].map(([k, r]) => [k, String(r.cases), ...RESULTS.map((x) => String(r.counts[x])), String(r.slowestMs)]);
const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const fmt = (row: readonly string[]): string => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(`seed ${seed}, ${all.cases} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(fmt(head));
for (const row of table) console.log(fmt(row));
console.log(`slowest case: ${all.slowestMs} ms, ${all.slowestCase}`);
for (const f of all.failures.slice(0, 20)) console.log(`${f.result}: ${f.kind} #${f.index} (${f.what}) ${f.detail}`);
process.exit(all.counts['crash'] + all.counts['hang'] + all.counts['corrupt-accepted'] > 0 ? 1 : 0);
