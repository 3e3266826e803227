import { Command } from 'commander';
import type { SgtmLog } from '../train/run.ts';

/** One line per SGTM run: what was designated, the steps of each kind, and whether the written model is ablated. */
export function formatSgtmLog(s: SgtmLog): string {
  const d = s.designation;
  return `SGTM: ${d.mlpUnits} MLP unit(s) and ${d.heads} head(s) in layer(s) ${d.layers.join(',')} designated (${s.forgetParameters.toLocaleString('en-US')} parameters); `
    + `steps: ${s.steps.forget} forget (embeddings and norms ${s.shared === 'freeze' ? 'frozen' : 'updated'}), ${s.steps['retain-masked']} retain-masked, ${s.steps.default} default; `
    + (s.ablated ? 'written ablated (forget parameters zeroed)' : 'written as trained (not ablated: `lethe sgtm ablate` removes the forget parameters)');
}

/** `lethe sgtm ablate MODEL --out DIR`. */
export function sgtmCommand(): Command {
  const sgtm = new Command('sgtm').description('selective gradient masking: remove what an SGTM run localised');
  sgtm.command('ablate')
    .description('zero the forget parameters that MODEL\'s config designates (from `lethe train --sgtm`) and write the result')
    .argument('<model>', 'Hugging Face folder trained with --sgtm')
    .requiredOption('--out <dir>', 'where the ablated folder is written, whole or not at all; refused if it exists, unless --force')
    .option('--force', 'replace an existing --out whole')
    .action(async (model: string, o: { out: string; force?: boolean }) => {
      const { ablateFolder } = await import('../train/sgtm-ablate.ts');
      const r = ablateFolder(model, o.out, o.force ?? false);
      const d = r.designation;
      console.log(`zeroed ${r.zeroed.toLocaleString('en-US')} forget parameters (${d.mlpUnits} MLP unit(s), ${d.heads} head(s), layer(s) ${d.layers.join(',')})${r.alreadyAblated ? ' — the source was already ablated' : ''}; wrote ${o.out}`);
    });
  return sgtm;
}
