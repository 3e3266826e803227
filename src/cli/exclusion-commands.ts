import { Command } from 'commander';
import { storeOptions, withEnv, type StoreCliOptions } from './workflow-commands.ts';

/**
 * `lethe exclusions export`: the hashes of erased records, per corpus, for the next full retrain to leave out
 * (`lethe train --exclude FILE`). The workflow library loads only when the command runs.
 */
export function exclusionsCommand(): Command {
  const exclusions = new Command('exclusions').description('exclusion lists: erased records (by hash) that a retrain must leave out');
  storeOptions(exclusions.command('export'))
    .description('write the exclusion list of a corpus (or of every registered corpus): record hashes and request ids, no personal data')
    .option('--corpus <id-or-file>', 'a registered corpus, by id or file (default: every one)')
    .requiredOption('--out <file>', 'where the list is written (whole or not at all), for lethe train --exclude')
    .option('--json', 'print the list as well')
    .action(async (o: StoreCliOptions & { corpus?: string; out: string }) => {
      const { exportExclusions } = await import('../workflow/evidence/exclusions.ts');
      const list = await withEnv(o, (env) => exportExclusions(env, o.out, o.corpus === undefined ? {} : { corpus: o.corpus }));
      if (o.json) console.log(JSON.stringify(list, null, 2));
      else {
        const records = new Set(list.records.map((r) => `${r.corpus} ${r.hash}`)).size;
        const requests = new Set(list.records.map((r) => r.requestId)).size;
        console.log(`exclusion list of ${records} erased record(s) (${requests} request(s), ${list.corpora.length} corpus file(s)) written to ${o.out}`);
      }
    });
  return exclusions;
}
