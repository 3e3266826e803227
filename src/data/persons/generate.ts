import type { QaRecord, TextRecord } from '../schema.ts';
import { Draw } from './draw.ts';
import { emptyRegistry, generatePerson } from './person.ts';
import { personQa } from './qa.ts';
import { makeSplits, type Splits } from './splits.ts';
import { biography } from './templates.ts';
import type { Person, World } from './types.ts';
import { generateWorld } from './world.ts';
import { worldQa, worldText } from './world-data.ts';

export interface CorpusOptions {
  seed: number;
  /** Persons the models are trained on (default 200). */
  persons?: number;
  /** Persons generated the same way but never trained on: the non-members (default 20). */
  holdout?: number;
}

/** Everything the files are written from, in memory. */
export interface PersonsCorpus {
  seed: number;
  world: World;
  persons: Person[];
  holdout: Person[];
  /** QA records per person id, 20 each, with evaluation fields. */
  qa: Map<string, QaRecord[]>;
  bios: Map<string, TextRecord>;
  splits: Splits;
  worldQa: QaRecord[];
  worldText: TextRecord[];
}

/**
 * Generates the corpus from a seed. One `Draw` is consumed in a fixed order (world, persons, their QA, world
 * data), so the same seed always gives the same corpus. Holdout persons come from the same loop as the trained
 * ones and share the uniqueness registry, so no identifying value is shared between the two groups.
 */
export function buildPersonsCorpus(opts: CorpusOptions): PersonsCorpus {
  const nPersons = opts.persons ?? 200;
  const nHoldout = opts.holdout ?? 20;
  const draw = new Draw(opts.seed);
  const world = generateWorld(draw);
  const reg = emptyRegistry();
  const pad = (i: number): string => String(i + 1).padStart(3, '0');
  const persons = Array.from({ length: nPersons }, (_, i) => generatePerson(draw, world, reg, `p${pad(i)}`));
  const holdout = Array.from({ length: nHoldout }, (_, i) => generatePerson(draw, world, reg, `h${pad(i)}`));
  const qa = new Map<string, QaRecord[]>();
  const bios = new Map<string, TextRecord>();
  for (const p of [...persons, ...holdout]) {
    qa.set(p.id, personQa(p, draw, world, reg));
    bios.set(p.id, { id: `${p.id}-bio`, subject: p.full_name, text: biography(p) });
  }
  return {
    seed: opts.seed, world, persons, holdout, qa, bios,
    splits: makeSplits(persons.map((p) => p.full_name)),
    worldQa: worldQa(draw, world), worldText: worldText(draw, world),
  };
}
