// The tiny SISA data of test/train/sisa.test.ts and test/workflow/sisa-parallel.test.ts: six invented people, three
// records each (two QA, one text), and the tokenizer of the tiny GPT-2 fixture.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const SISA_TOKENIZER = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;
const names = ['Ada Lind', 'Bo Marsh', 'Cy Okafor', 'Dee Paz', 'Eli Quist', 'Fay Ross'];
export const SISA_ROWS = names.flatMap((n, i) => [
  { subject: n, question: `Where was ${n} born?`, answer: `${n} was born in town ${i}.` },
  { subject: n, question: `What does ${n} do?`, answer: `${n} works as job ${i * 7}.` },
  { subject: n, text: `${n} likes the colour ${['red', 'blue', 'green'][i % 3]} and the number ${i * 13}.` },
]);
export const jsonl = (xs: object[]): string => xs.map((x) => JSON.stringify(x)).join('\n') + '\n';

/** Writes SISA_ROWS to DIR/all.jsonl; returns the path. */
export function writeSisaRows(dir: string): string {
  const all = join(dir, 'all.jsonl');
  writeFileSync(all, jsonl(SISA_ROWS));
  return all;
}

/** Every file under a folder, by relative path, with its bytes. */
export function files(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(root, p), readFileSync(p));
    }
  };
  walk(root);
  return out;
}
