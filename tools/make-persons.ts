// Writes the persons benchmark corpus: `npx tsx tools/make-persons.ts --out data/persons --seed 1`.
// The committed data/persons/ is this command's output; the same seed gives byte-identical files.
import { parseArgs } from 'node:util';
import { writePersonsCorpus } from '../src/data/persons/write.ts';

const { values } = parseArgs({
  options: { out: { type: 'string', default: 'data/persons' }, seed: { type: 'string', default: '1' } },
});
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
  console.error(`make-persons: --seed must be an integer in [0, 2^32), got "${values.seed}"`);
  process.exit(2);
}
const manifest = writePersonsCorpus(values.out, { seed });
let total = 0;
for (const [name, f] of Object.entries(manifest.files)) {
  total += f.bytes;
  console.log(`${name.padEnd(20)} ${String(f.records).padStart(5)} records ${(f.bytes / 1024).toFixed(0).padStart(6)} KiB`);
}
console.log(`wrote ${values.out} (seed ${seed}, ${(total / 1048576).toFixed(2)} MiB)`);
