/**
 * Writes an evaluation's files: metrics.json (the EvalReport, pretty JSON) and report.html (the self-contained
 * page), each atomically (temp file, fsync, rename) so a reader never sees half a file.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { atomicWrite } from '../../model/io/atomic-file.ts';
import type { EvalReport } from '../report-types.ts';
import { renderReportHtml } from './html.ts';

export interface WrittenReport {
  metrics: string;
  html: string;
}

/** Creates dir if needed and writes metrics.json and report.html into it; returns their absolute paths. */
export async function writeReport(dir: string, report: EvalReport): Promise<WrittenReport> {
  const html = await renderReportHtml(report);
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const metrics = join(out, 'metrics.json');
  const page = join(out, 'report.html');
  atomicWrite(metrics, [Buffer.from(`${JSON.stringify(report, null, 2)}\n`, 'utf8')]);
  atomicWrite(page, [Buffer.from(html, 'utf8')]);
  return { metrics, html: page };
}
