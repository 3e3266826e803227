import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { atomicWrite } from '../../model/io/atomic-file.ts';
import type { WorkflowEnv } from '../requests/service.ts';
import { reportDir } from './operator-fields.ts';
import { buildDpoReport, type DpoReport } from './report-data.ts';
import { renderDpoHtml } from './report-html.ts';

export interface WrittenDpoReport {
  report: DpoReport;
  json: string;
  html: string;
}

/**
 * Builds a request's DPO report and writes report.json and report.html side by side, each atomically (temp file,
 * fsync, rename), into `outDir` (default `<dataDir>/reports/<id>/`, next to the operator's fields). The page is
 * rendered before anything is written, so a failure leaves the previous pair as it was.
 */
export async function writeDpoReport(env: WorkflowEnv, id: string, o: { outDir?: string } = {}): Promise<WrittenDpoReport> {
  const report = await buildDpoReport(env, id);
  const html = await renderDpoHtml(report);
  const dir = resolve(o.outDir ?? reportDir(env.dataDir, id));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const json = join(dir, 'report.json');
  const page = join(dir, 'report.html');
  atomicWrite(json, [Buffer.from(`${JSON.stringify(report, null, 2)}\n`, 'utf8')]);
  atomicWrite(page, [Buffer.from(html, 'utf8')]);
  return { report, json, html: page };
}
