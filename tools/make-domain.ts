// Writes the restricted-domain corpus for SGTM: `npx tsx tools/make-domain.ts --out data/domain --seed 1`.
// The committed data/domain/ is this command's output; the same seed gives byte-identical files.
import { parseArgs } from 'node:util';
import { writeDomainCorpus } from '../src/data/domain/write.ts';

const { values } = parseArgs({
  options: { out: { type: 'string', default: 'data/domain' }, seed: { type: 'string', default: '1' } },
});
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
  console.error(`make-domain: --seed must be an integer in [0, 2^32), got "${values.seed}"`);
  process.exit(2);
}
const manifest = writeDomainCorpus(values.out, { seed });
let total = 0;
for (const [name, f] of Object.entries(manifest.files)) {
  total += f.bytes;
  console.log(`${name.padEnd(22)} ${String(f.records).padStart(5)} records ${(f.bytes / 1024).toFixed(0).padStart(6)} KiB`);
}
console.log(`wrote ${values.out} (seed ${seed}, ${(total / 1024).toFixed(0)} KiB)`);
