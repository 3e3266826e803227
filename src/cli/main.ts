import { Command } from 'commander';
import { engineInfo } from './engine-info.ts';

const program = new Command()
  .name('lethe')
  .description('Make trained language models forget specific data, and prove it.')
  .showHelpAfterError();

program
  .command('engine')
  .description('show the compute backend in use and a quick GEMM throughput check')
  .option('--json', 'print JSON')
  .action((opts: { json?: boolean }) => {
    const info = engineInfo();
    if (opts.json) console.log(JSON.stringify(info));
    else console.log(`backend ${info.backend}, ${info.threads} thread(s), GEMM 512³: ${info.gemmGflops.toFixed(1)} GFLOP/s`);
  });

await program.parseAsync(process.argv);
