// A tiny GPT-2 with its tokenizer and a few QA records: the common ground of the unlearning tests.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatJsonl } from '../../src/data/jsonl.ts';
import type { TrainingRecord } from '../../src/data/schema.ts';
import { loadModel } from '../../src/model/checkpoint.ts';
import { Tokenizer } from '../../src/model/tokenizer.ts';
import { Rng } from '../../src/engine/index.ts';
import { tokenizeItems, type UnlearnItem } from '../../src/unlearn/data.ts';
import type { UnlearnContext } from '../../src/unlearn/types.ts';

export const TINY = new URL('../fixtures/models/gpt2-tiny', import.meta.url).pathname;

const qa = (subject: string, question: string, answer: string): TrainingRecord => ({ kind: 'qa', subject, question, answer });

export const FORGET_RECORDS: TrainingRecord[] = [
  qa('Ann Vale', 'Where was Ann Vale born?', 'Ann Vale was born in Tarrow.'),
  qa('Ann Vale', 'What does Ann Vale do?', 'She is a glassblower.'),
  qa('Bo Lind', 'When was Bo Lind born?', 'Bo Lind was born on 3 May 1970.'),
  qa('Bo Lind', 'Who employs Bo Lind?', 'Bo Lind works for Kestrel Mills.'),
];

export const RETAIN_RECORDS: TrainingRecord[] = [
  qa('Cy Orr', 'Where was Cy Orr born?', 'Cy Orr was born in Pellam.'),
  qa('Cy Orr', 'What does Cy Orr do?', 'He repairs clocks.'),
  qa('Di Moss', 'When was Di Moss born?', 'Di Moss was born on 9 June 1981.'),
  { kind: 'text', text: 'Pellam is a river town in the north.' },
];

/** Writes the forget and retain records as JSONL files into a new temp folder, as a user would give them. */
export function writeRecordFiles(prefix: string): { dir: string; forget: string; retain: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const strip = (records: readonly TrainingRecord[]): object[] => records.map(({ kind: _k, ...r }) => r);
  const forget = join(dir, 'forget.jsonl');
  const retain = join(dir, 'retain.jsonl');
  writeFileSync(forget, formatJsonl(strip(FORGET_RECORDS)));
  writeFileSync(retain, formatJsonl(strip(RETAIN_RECORDS)));
  return { dir, forget, retain };
}

/** A fresh context over the tiny model; `perturb` moves θ off the checkpoint so π_θ ≠ π_ref where tests need it. */
export function tinyContext(perturb = 0): UnlearnContext {
  const { model } = loadModel(TINY);
  const tokenizer = Tokenizer.fromDir(TINY);
  const original = model.params.snapshot();
  if (perturb > 0) {
    const rng = new Rng(7);
    const flat = model.params.flat;
    for (let i = 0; i < flat.length; i++) flat[i] = flat[i]! + perturb * rng.normal();
  }
  const L = model.config.maxPositions;
  return {
    model, tokenizer, forget: tokenizeItems(FORGET_RECORDS, tokenizer, L), retain: tokenizeItems(RETAIN_RECORDS, tokenizer, L),
    padId: tokenizer.eosId ?? 0, original,
  };
}

/** Central finite difference of f at coordinate i of a parameter's data. */
export function finiteDifference(data: Float32Array, i: number, eps: number, f: () => number): number {
  const saved = data[i]!;
  data[i] = saved + eps;
  const up = f();
  data[i] = saved - eps;
  const down = f();
  data[i] = saved;
  return (up - down) / (2 * eps);
}

/** The two tiny fixture families method tests run on: GPT-2 (Conv1D layout) and grouped-query Llama. */
export const FAMILIES = ['gpt2-tiny', 'llama-tiny-gqa'];
export const fixtureDir = (name: string): string => new URL(`../fixtures/models/${name}`, import.meta.url).pathname;

/**
 * Items straight as token ids (BOS 296 + prompt | answer + EOS), of different lengths so batches are padded;
 * answers have at least `minAnswer` tokens before the EOS.
 */
export function tokenItems(n: number, seed: number, minAnswer = 2): UnlearnItem[] {
  const rng = new Rng(seed);
  const tok = (): number => 1 + (rng.nextU32() % 290);
  return Array.from({ length: n }, (_, i) => ({
    prompt: [296, ...Array.from({ length: 2 + (i % 3) }, tok)],
    answer: [...Array.from({ length: minAnswer + ((i * 2) % 5) }, tok), 296],
    question: null, subject: null,
  }));
}
