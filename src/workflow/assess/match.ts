import type { SubjectIdentifiers } from '../requests/request-input.ts';
import type { CorpusIndex } from './corpus-index.ts';
import { normalizeEmail, normalizePhone, samePhone, tokens, tokenSimilarity } from './normalize.ts';

export type IdentifierKind = 'name' | 'email' | 'phone' | 'address' | 'pattern';

/** One record that names the subject. The identifier is named by kind and position, never by value. */
export interface RecordMatch {
  /** Position of the record in the index (its order in the file). */
  record: number;
  line: number;
  item: number | null;
  hash: string;
  identifier: { kind: IdentifierKind; index: number };
  how: 'exact' | 'fuzzy';
  /** 1 for an exact match; for a fuzzy name, the mean similarity of its words (each within 1 edit per 4 letters). */
  score: number;
}

/** Fuzzy name matches below this are not reported at all (unrelated names sharing a surname score 0.5). */
export const FUZZY_FLOOR = 0.75;

/** A searchable view of an index: the records' tokens and which records hold each word. */
export class CorpusSearch {
  private readonly words: string[][];
  private readonly postings = new Map<string, number[]>();

  constructor(readonly index: CorpusIndex) {
    this.words = index.records.map((r) => (r.text.length > 0 ? r.text.split(' ') : []));
    this.words.forEach((ws, i) => {
      for (const w of new Set(ws)) {
        const list = this.postings.get(w);
        if (list) list.push(i);
        else this.postings.set(w, [i]);
      }
    });
  }

  /** Records whose words contain `phrase` as a contiguous run. */
  private exactPhrase(phrase: readonly string[]): number[] {
    if (phrase.length === 0) return [];
    const rarest = [...phrase].sort((a, b) => (this.postings.get(a)?.length ?? 0) - (this.postings.get(b)?.length ?? 0))[0]!;
    return (this.postings.get(rarest) ?? []).filter((i) => bestWindow(this.words[i]!, phrase, (a, b) => (a === b ? 1 : 0)) === 1);
  }

  /** Records with a run of words each similar to the phrase's, scored; exact runs score 1. */
  private fuzzyPhrase(phrase: readonly string[]): Map<number, number> {
    const similar = phrase.map((q) => {
      const m = new Map<string, number>();
      for (const w of this.postings.keys()) {
        const s = tokenSimilarity(q, w);
        if (s > 0) m.set(w, s);
      }
      return m;
    });
    // Candidates: records holding a similar word for every word of the phrase.
    let candidates: number[] | null = null;
    for (const m of similar) {
      const here = new Set<number>();
      for (const w of m.keys()) for (const i of this.postings.get(w)!) here.add(i);
      candidates = candidates === null ? [...here] : candidates.filter((i) => here.has(i));
    }
    const out = new Map<number, number>();
    for (const i of candidates ?? []) {
      const score = bestWindow(this.words[i]!, phrase, (_q, w, k) => similar[k]!.get(w) ?? 0);
      if (score >= FUZZY_FLOOR) out.set(i, score);
    }
    return out;
  }

  /** Every record naming the subject, by any identifier; a record matched several ways is listed once per way. */
  find(subject: SubjectIdentifiers): RecordMatch[] {
    const out: RecordMatch[] = [];
    const push = (i: number, kind: IdentifierKind, index: number, how: 'exact' | 'fuzzy', score: number) => {
      const r = this.index.records[i]!;
      out.push({ record: i, line: r.line, item: r.item, hash: r.hash, identifier: { kind, index }, how, score });
    };
    subject.names.forEach((name, k) => {
      const phrase = tokens(name);
      const exact = new Set(this.exactPhrase(phrase));
      for (const i of exact) push(i, 'name', k, 'exact', 1);
      for (const [i, score] of this.fuzzyPhrase(phrase)) if (!exact.has(i) && score < 1) push(i, 'name', k, 'fuzzy', score);
    });
    for (const [kind, list] of [['address', subject.addresses], ['pattern', subject.patterns]] as const) {
      list.forEach((text, k) => { for (const i of this.exactPhrase(tokens(text))) push(i, kind, k, 'exact', 1); });
    }
    subject.emails.forEach((email, k) => {
      const e = normalizeEmail(email);
      this.index.records.forEach((r, i) => { if (r.emails.includes(e)) push(i, 'email', k, 'exact', 1); });
    });
    subject.phones.forEach((phone, k) => {
      const p = normalizePhone(phone);
      this.index.records.forEach((r, i) => { if (r.phones.some((x) => samePhone(p, x))) push(i, 'phone', k, 'exact', 1); });
    });
    return out.sort((a, b) => a.record - b.record || b.score - a.score);
  }
}

/** The best mean similarity of `phrase` against any run of `words` of the same length (0 if some word fails). */
function bestWindow(words: readonly string[], phrase: readonly string[], sim: (q: string, w: string, k: number) => number): number {
  let best = 0;
  for (let start = 0; start + phrase.length <= words.length; start++) {
    let total = 0;
    let ok = true;
    for (let k = 0; k < phrase.length; k++) {
      const s = sim(phrase[k]!, words[start + k]!, k);
      if (s === 0) {
        ok = false;
        break;
      }
      total += s;
    }
    if (ok) best = Math.max(best, total / phrase.length);
    if (best === 1) break;
  }
  return best;
}
