import { qaTokens } from '../model/qa-format.ts';
import type { Tokenizer } from '../model/tokenizer.ts';

/** A tokenized training sequence; loss is taken on tokens whose mask is 1 (predicted from the previous token). */
export interface Example {
  ids: Int32Array;
  /** 1 where the token is a training target (answer tokens for QA, every token after the first for text). */
  lossMask: Uint8Array;
}

/** What buildExamples needs of a record (the tagged records src/data/jsonl.ts reads satisfy it). */
export type ExampleSource = { kind: 'qa'; question: string; answer: string } | { kind: 'text'; text: string };

/**
 * Tokenizes records: QA as prompt + answer + EOS with loss on the answer and EOS only (so the model learns to
 * answer and to stop), text as EOS-terminated text with loss everywhere. Sequences longer than maxLength are cut.
 */
export function buildExamples(records: readonly ExampleSource[], tokenizer: Tokenizer, maxLength: number): Example[] {
  const eos = tokenizer.eosId;
  const bos = tokenizer.bosId ?? eos;
  return records.map((r) => {
    let ids: number[];
    let mask: number[];
    if (r.kind === 'qa') {
      const { prompt, answer } = qaTokens(tokenizer, r.question, r.answer);
      ids = [...prompt, ...answer];
      mask = ids.map((_, i) => (i >= prompt.length ? 1 : 0));
    } else {
      const body = tokenizer.encode(r.text, { addSpecialTokens: false });
      ids = [...(bos === null ? [] : [bos]), ...body, ...(eos === null ? [] : [eos])];
      mask = ids.map((_, i) => (i === 0 ? 0 : 1));
    }
    return { ids: Int32Array.from(ids.slice(0, maxLength)), lossMask: Uint8Array.from(mask.slice(0, maxLength)) };
  });
}
