import type { CausalLM } from '../../model/arch/types.ts';
import { continuationText, generate } from '../../model/generate.ts';
import { scoreAnswers } from '../../model/logprobs.ts';
import { qaPrompt } from '../../model/qa-format.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import { fillTemplate, type BankTemplate } from './bank.ts';

/**
 * One thing the model said about a name: a sentence of its greedy answer to one template, with the model's
 * confidence in it. Long answers (a completion that runs on into a whole biography) say many things, each with its
 * own confidence, so every sentence is a claim of its own, scored in the context of the sentences before it.
 */
export interface Claim {
  name: string;
  templateId: string;
  /** 0 for the answer's first sentence, 1 for the next, … */
  index: number;
  /** The filled template as asked (the question, or the text continued). */
  asked: string;
  form: BankTemplate['form'];
  /** The answer's text before this claim (the earlier sentences), as said after the prompt. */
  before: string;
  /** Whether the answer ended (EOS) with this claim. */
  last: boolean;
  /** BOS + the prompt + the answer's earlier sentences: what the claim is said after. */
  prompt: number[];
  /** The claim's tokens, with the answer's EOS when the answer ended there (as a QA record's answer has). */
  answer: number[];
  text: string;
  /** Mean log p of the claim's tokens under the model (teacher-forced on what it generated), nats per token. */
  meanLogProb: number;
}

export interface ProbeOptions {
  /** New tokens for a question's answer (one sentence or so) and for a completion (which may run on). */
  questionTokens: number;
  completionTokens: number;
  /** Claims kept per answer, first ones first. */
  maxClaims: number;
  batchSize: number;
  padId: number;
  onProgress?: (done: number, total: number) => void;
}

/** What a claim's confidence is, in words (for unlearn.json). */
export const CONFIDENCE_TEXT = 'the mean token log-prob of the claim as the model said it (nats per token), against thresholds drawn from the same questions about fictitious names';

export const DEFAULT_PROBE: Omit<ProbeOptions, 'padId'> = { questionTokens: 48, completionTokens: 160, maxClaims: 12, batchSize: 64 };

/**
 * Where an answer's sentences end: after a token whose text ends in . ! or ? when the next token starts a new word
 * (so "e.g" or "post.example" do not split), and at EOS. Returns the end (exclusive) of each complete sentence; a
 * sentence cut off by the token limit is not one. `pieces[i]` is the text token i adds.
 */
export function sentenceEnds(pieces: readonly string[], tokens: readonly number[], eos: ReadonlySet<number>): number[] {
  const ends: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (eos.has(tokens[i]!)) {
      // EOS belongs to the sentence it ends: one just closed by punctuation, or text left without any.
      const last = ends.at(-1) ?? 0;
      if (ends.length > 0 && last === i) ends[ends.length - 1] = i + 1;
      else if (i > last) ends.push(i + 1);
      break;
    }
    const next = pieces[i + 1];
    if (/[.!?]["')\]]?$/.test(pieces[i]!) && (next === undefined ? false : /^\s/.test(next) || eos.has(tokens[i + 1]!))) ends.push(i + 1);
  }
  return ends;
}

function configEos(model: CausalLM, tokenizer: Tokenizer): Set<number> {
  const e = model.config.eosTokenId;
  const ids = e === null ? [] : Array.isArray(e) ? e : [e];
  return new Set(ids.length > 0 ? ids : tokenizer.eosId === null ? [] : [tokenizer.eosId]);
}

interface Asked { name: string; template: BankTemplate; asked: string; prompt: number[] }

function promptOf(tokenizer: Tokenizer, template: BankTemplate, name: string): Asked {
  const asked = fillTemplate(template, name);
  const bos = tokenizer.bosId ?? tokenizer.eosId;
  const text = template.form === 'question' ? qaPrompt(asked) : asked;
  return { name, template, asked, prompt: [...(bos === null ? [] : [bos]), ...tokenizer.encode(text, { addSpecialTokens: false })] };
}

/**
 * Asks the model every template about every name, decodes its greedy answers, cuts them into claims and scores
 * each claim's tokens under the same model (teacher-forced, so the confidence is that of exactly what it said).
 */
export function probeNames(model: CausalLM, tokenizer: Tokenizer, names: readonly string[], bank: readonly BankTemplate[], o: ProbeOptions): Claim[] {
  const eos = configEos(model, tokenizer);
  const asked = names.flatMap((name) => bank.map((t) => promptOf(tokenizer, t, name)));
  const claims: Claim[] = [];
  const context = model.config.maxPositions;
  // Questions and completions decode to different lengths; batches of one form do not wait on the other's.
  for (const form of ['question', 'completion'] as const) {
    const todo = asked.filter((a) => a.template.form === form);
    const want = form === 'question' ? o.questionTokens : o.completionTokens;
    for (let start = 0; start < todo.length; start += o.batchSize) {
      const chunk = todo.slice(start, start + o.batchSize);
      const longest = Math.max(...chunk.map((a) => a.prompt.length));
      const maxNewTokens = Math.min(want, context - longest);
      if (maxNewTokens < 1) throw new RangeError(`the prompt "${chunk.find((a) => a.prompt.length === longest)!.asked}" leaves no room in the model's context of ${context} tokens`);
      const gens = generate(model, chunk.map((a) => a.prompt), { maxNewTokens, eosTokenIds: [...eos], padTokenId: o.padId });
      const scored = gens.map((g, i) => ({ a: chunk[i]!, tokens: g.tokens }));
      const nonEmpty = scored.filter((s) => s.tokens.length > 0);
      const lp = nonEmpty.length > 0
        ? scoreAnswers(model, nonEmpty.map((s) => ({ prompt: s.a.prompt, answer: s.tokens })), { padId: o.padId, batchSize: 16 }).tokenLogProbs
        : [];
      nonEmpty.forEach((s, k) => claims.push(...splitClaims(tokenizer, s.a, s.tokens, lp[k]!, eos, o.maxClaims)));
      o.onProgress?.(Math.min(start + o.batchSize, todo.length) + (form === 'completion' ? asked.length - todo.length : 0), asked.length);
    }
  }
  return claims;
}

/** One answer's claims: its complete sentences, each with the mean log-prob of its own tokens. */
function splitClaims(tokenizer: Tokenizer, a: Asked, tokens: readonly number[], logProbs: Float32Array, eos: ReadonlySet<number>, maxClaims: number): Claim[] {
  const pieces = tokens.map((_, i) => continuationText(tokenizer, [...a.prompt, ...tokens.slice(0, i)], [tokens[i]!], false));
  const out: Claim[] = [];
  let from = 0;
  for (const end of sentenceEnds(pieces, tokens, eos).slice(0, maxClaims)) {
    const answer = tokens.slice(from, end);
    let sum = 0;
    for (let i = from; i < end; i++) sum += logProbs[i]!;
    const text = pieces.slice(from, end).filter((_, i) => !eos.has(answer[i]!)).join('').trim();
    if (text.length > 0) {
      out.push({
        name: a.name, templateId: a.template.id, index: out.length, asked: a.asked, form: a.template.form, before: pieces.slice(0, from).join(''),
        last: eos.has(answer.at(-1)!), prompt: [...a.prompt, ...tokens.slice(0, from)], answer, text, meanLogProb: sum / answer.length,
      });
    }
    from = end;
  }
  return out;
}
