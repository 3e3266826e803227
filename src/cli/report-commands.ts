import { Command } from 'commander';
import { storeOptions, withEnv, type StoreCliOptions } from './workflow-commands.ts';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

interface ReportCliOptions extends StoreCliOptions {
  out?: string;
  set: string[];
  recipient: string[];
  responsible?: string;
}

/**
 * `lethe report ID`: the DPO report of a request — report.json and a self-contained report.html side by side — after
 * recording any operator fields given (backups, recipients notified, responsible person). The implementation is loaded
 * when the command runs, like the workflow library (see workflow-lib.ts).
 */
export function reportCommand(): Command {
  return storeOptions(new Command('report').argument('<id>'))
    .description('write the DPO report of a request: report.json and a self-contained report.html (what was asked, found, done, verified; residual risk; deadline; backups and recipients)')
    .option('--out <dir>', 'where to write them (default: <data-dir>/reports/<id>/)')
    .option('--set <key=value>', 'record an operator field first: backups=…, responsible=…, exceptions=…, recipients=… (an empty value clears it; repeatable)', collect, [])
    .option('--recipient <who>', 'add a recipient notified of the erasure (GDPR Art. 17(2), Art. 19), e.g. "Acme Analytics (processor), e-mailed 2026-03-20" (repeatable)', collect, [])
    .option('--responsible <name>', 'record the person responsible for this erasure')
    .option('--json', 'print report.json')
    .action(async (id: string, o: ReportCliOptions) => {
      const [{ parseSetArguments, updateOperatorFields }, { writeDpoReport }] = await Promise.all([
        import('../workflow/report/operator-fields.ts'), import('../workflow/report/write-report.ts'),
      ]);
      const set = { ...parseSetArguments(o.set), ...(o.responsible !== undefined ? { responsible: o.responsible } : {}) };
      const written = await withEnv(o, async (env, actor, L) => {
        await L.getRequest(env, id); // the request must exist before anything is written for it
        if (Object.keys(set).length > 0 || o.recipient.length > 0) updateOperatorFields(env.dataDir, id, { set, addRecipients: o.recipient }, actor, new Date());
        return writeDpoReport(env, id, o.out ? { outDir: o.out } : {});
      });
      if (o.json) {
        console.log(JSON.stringify(written.report, null, 2));
        return;
      }
      const r = written.report;
      const verification = r.verification.status === 'verified' ? r.verification.result : 'not verified';
      const todo = r.operator.missing.length > 0 ? `; to fill in: ${r.operator.missing.join(', ')}` : '';
      console.log(`${id}: ${r.request.state}, verification ${verification}, deadline ${r.deadline.status}${todo}\n${written.html}\n${written.json}`);
    });
}
