/**
 * ROUGE-L as Google's rouge-score computes it (without stemming): lower-case, every non-alphanumeric character
 * becomes a space, split on whitespace; recall = LCS / reference tokens, precision = LCS / candidate tokens.
 */
export function rougeTokens(text: string): string[] {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim().split(/\s+/).filter((t) => t.length > 0);
}

function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

export interface RougeL {
  precision: number;
  recall: number;
  f1: number;
}

export function rougeL(reference: string, candidate: string): RougeL {
  const ref = rougeTokens(reference);
  const cand = rougeTokens(candidate);
  const lcs = lcsLength(ref, cand);
  const precision = cand.length === 0 ? 0 : lcs / cand.length;
  const recall = ref.length === 0 ? 0 : lcs / ref.length;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}
