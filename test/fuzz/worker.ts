// Child process of the fuzz campaign: runs cases [start, start + count) of one kind and prints one JSON line per
// case, so the parent can tell which case a crash (a V8 abort, an exit) or a hang happened in.
//   node --import tsx test/fuzz/worker.ts <kind> <seed> <start> <count> <dir>
import { writeSync } from 'node:fs';
import { checkCase, KINDS, makeCase, type Kind } from './cases.ts';

const [kind, seed, start, count, dir] = process.argv.slice(2);
if (!KINDS.includes(kind as Kind) || !dir) throw new Error(`usage: worker.ts <${KINDS.join('|')}> <seed> <start> <count> <dir>`);
for (let i = Number(start); i < Number(start) + Number(count); i++) {
  const c = makeCase(kind as Kind, Number(seed), i);
  const t0 = performance.now();
  let result: { outcome: string; detail: string };
  try {
    result = checkCase(c, dir);
  } catch (err) {
    // An exception escaping the check itself (not Lethe's loader) is reported, not fatal.
    result = { outcome: 'unclean-error', detail: `check threw: ${String(err).slice(0, 300)}` };
  }
  // writeSync, not console.log: the line must be out before the next case can crash the process.
  writeSync(1, JSON.stringify({ i, ms: Math.round(performance.now() - t0), what: c.what.join('; ').slice(0, 200), ...result }) + '\n');
}
