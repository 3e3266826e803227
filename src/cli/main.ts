import { Command, InvalidArgumentError, Option } from 'commander';
import { engineInfo } from './engine-info.ts';
import { formatInfo, generateCommand, modelInfo } from './model-commands.ts';

function number(kind: 'int' | 'float', min: number, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n)) || n < min || n > max) {
      throw new InvalidArgumentError(`expected ${kind === 'int' ? 'an integer' : 'a number'} in [${min}, ${max}]`);
    }
    return n;
  };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

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

program
  .command('info')
  .description('describe a Hugging Face model folder (architecture, parameters, dtype, vocabulary, context)')
  .argument('<dir>', 'model folder with config.json and model.safetensors')
  .option('--json', 'print JSON')
  .action((dir: string, opts: { json?: boolean }) => {
    const info = modelInfo(dir);
    console.log(opts.json ? JSON.stringify(info, null, 2) : formatInfo(info));
  });

program
  .command('generate')
  .description('continue a prompt with the model (greedy unless --temperature is set)')
  .argument('<dir>', 'model folder with config.json, model.safetensors and tokenizer.json')
  .requiredOption('-p, --prompt <text>', 'prompt text (repeat for a batch)', collect, [])
  .option('-n, --max-new-tokens <n>', 'tokens to generate', number('int', 0), 32)
  .option('-t, --temperature <t>', '0 = greedy', number('float', 0), 0)
  .option('--top-k <k>', 'sample from the k most likely tokens (0 = all)', number('int', 0), 0)
  .option('--top-p <p>', 'nucleus sampling mass', number('float', Number.MIN_VALUE, 1), 1)
  .option('--seed <n>', 'sampling seed', number('int', 0), 0)
  .option('--stop <text>', 'stop when the output contains this (repeatable)', collect, [])
  .option('--chat', 'wrap the prompt in the model\'s chat template')
  .addOption(new Option('--json', 'print JSON with token ids'))
  .action((dir: string, opts: { prompt: string[]; maxNewTokens: number; temperature: number; topK: number; topP: number; seed: number; stop: string[]; chat?: boolean; json?: boolean }) => {
    const results = generateCommand(dir, { ...opts, chat: opts.chat ?? false });
    if (opts.json) console.log(JSON.stringify(results, null, 2));
    else for (const r of results) console.log(`${r.prompt}${r.text}`);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Library errors already name the file and the problem; print them as one line, not a stack trace.
  console.error(`lethe: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
