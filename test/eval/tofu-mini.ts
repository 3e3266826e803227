// A TOFU-format folder with a handful of items per set, for the evaluation pipeline's tests.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tofuMiniFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tofu-mini-'));
  const qa = (i: number, who: string) => ({
    question: `Where does ${who} ${i} live?`, answer: `${who} ${i} lives in Pellam.`, paraphrased_answer: `The home of ${who} ${i} is Pellam.`,
    perturbed_answer: [`${who} ${i} lives in Tarrow.`, `${who} ${i} lives in Umber.`],
  });
  writeFileSync(join(dir, 'forget01_perturbed.json'), JSON.stringify([0, 1, 2, 3].map((i) => qa(i, 'Ann'))));
  writeFileSync(join(dir, 'retain_perturbed.json'), JSON.stringify([0, 1, 2, 3, 4].map((i) => qa(i, 'Bo'))));
  writeFileSync(join(dir, 'holdout01.json'), JSON.stringify([0, 1, 2, 3].map((i) => ({ question: `Who is Cy ${i}?`, answer: `Cy ${i} is a potter.` }))));
  writeFileSync(join(dir, 'world_facts_perturbed.json'), JSON.stringify([{ question: 'Capital of Arvenland?', answer: 'Kestrel Point', perturbed_answer: ['Fenwick', 'Carrow'] }]));
  return dir;
}
