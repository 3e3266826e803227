import { qaTokens } from '../model/qa-format.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { EvalQa, EvalSets } from './datasets.ts';

const SETS = ['forget', 'retain', 'holdout', 'world', 'realAuthors'] as const;
type SetName = (typeof SETS)[number];

/** What to do with an evaluation item longer than the model's context (`--too-long`). */
export const TOO_LONG = ['refuse', 'skip', 'truncate-left'] as const;
export type TooLong = (typeof TOO_LONG)[number];

/** The sets that fit, how many items each lost, and how many had their prompt cut (all zero when nothing was too long). */
export interface FittedSets {
  sets: EvalSets;
  skipped: Record<SetName, number>;
  truncated: Record<SetName, number>;
}

/** The first 60 characters of an item's text, for messages. */
export function itemLabel(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/**
 * A prompt cut from the left to leave room: its first `keep` tokens (the BOS) stay, then as many of its last tokens
 * as fit so that prompt + `reserve` ≤ `max`. Null when even `keep` tokens and the reserve do not fit.
 */
export function truncateLeft(prompt: readonly number[], reserve: number, max: number, keep: number): number[] | null {
  const room = max - reserve;
  if (prompt.length <= room) return [...prompt];
  const head = Math.min(keep, prompt.length);
  if (room < head) return null;
  return [...prompt.slice(0, head), ...prompt.slice(prompt.length - (room - head))];
}

/** Positions an item needs: its prompt with its longest answer (true, paraphrased or perturbed). */
function positionsNeeded(tokenizer: Tokenizer, question: string, answers: readonly string[]): number {
  return Math.max(...answers.map((a) => {
    const t = qaTokens(tokenizer, question, a);
    return t.prompt.length + t.answer.length;
  }));
}

/**
 * The question with tokens dropped from its left until the item fits (BOS and the prompt template stay: the text is
 * cut, then tokenized again exactly as the metrics will), or null when even the empty question does not fit.
 */
function truncateQuestion(tokenizer: Tokenizer, q: EvalQa, answers: readonly string[], maxPositions: number): string | null {
  const ids = tokenizer.encode(q.question, { addSpecialTokens: false });
  let drop = 0;
  for (;;) {
    // Decoding a slice can start inside a multi-byte character: drop the replacement character it leaves.
    const question = tokenizer.decode(ids.slice(drop), { skipSpecialTokens: true }).replace(/^\uFFFD+/, '').trimStart();
    const need = positionsNeeded(tokenizer, question, answers);
    if (need <= maxPositions) return question;
    if (drop >= ids.length) return null;
    drop = Math.min(ids.length, drop + need - maxPositions);
  }
}

/**
 * Checks, before any model is scored, that every evaluation item's prompt and longest answer (true, paraphrased or
 * perturbed) fit in the model's context. `refuse` throws naming the file, the item and its length (the model itself
 * could only say "201 positions exceed the model's context", deep inside a batch); `skip` leaves such items out and
 * counts them; `truncate-left` keeps every answer whole and drops the question's leftmost tokens (the BOS and the
 * prompt template stay) until the item fits, and counts them, so the report can say how many.
 */
export function fitSetsToContext(sets: EvalSets, tokenizer: Tokenizer, maxPositions: number, mode: TooLong = 'refuse'): FittedSets {
  const skipped = { forget: 0, retain: 0, holdout: 0, world: 0, realAuthors: 0 };
  const truncated = { forget: 0, retain: 0, holdout: 0, world: 0, realAuthors: 0 };
  const fitted = { ...sets };
  for (const name of SETS) {
    const items = sets[name];
    if (!items) continue;
    const where = (i: number, q: EvalQa): string => `${sets.sources[name] ?? name}: ${name} item ${i + 1} ("${itemLabel(q.question)}")`;
    fitted[name] = items.flatMap((q: EvalQa, i): EvalQa[] => {
      const answers = [q.answer, ...(q.paraphrasedAnswer === null ? [] : [q.paraphrasedAnswer]), ...q.perturbedAnswers];
      const longest = positionsNeeded(tokenizer, q.question, answers);
      if (longest <= maxPositions) return [q];
      if (mode === 'skip') {
        skipped[name]++;
        return [];
      }
      if (mode === 'truncate-left') {
        const question = truncateQuestion(tokenizer, q, answers, maxPositions);
        if (question === null) {
          throw new RangeError(`${where(i, q)} needs ${positionsNeeded(tokenizer, '', answers)} positions even without its question, more than the model's context `
            + `of ${maxPositions}: --too-long truncate-left keeps answers whole (shorten the answer, leave the item out, or pass --too-long skip)`);
        }
        truncated[name]++;
        return [{ ...q, question }];
      }
      throw new RangeError(`${where(i, q)} needs ${longest} positions, `
        + `more than the model's context of ${maxPositions} (shorten it, leave it out, or pass --too-long skip)`);
    });
  }
  if (skipped.forget > 0 && fitted.forget.length === 0) throw new RangeError(`${sets.sources['forget'] ?? 'forget'}: every forget item is longer than the model's context of ${maxPositions}`);
  return { sets: fitted, skipped, truncated };
}
