/**
 * Normalisation for matching a data subject's identifiers against corpus text: Unicode NFKC, diacritics removed,
 * case folded, punctuation as word breaks, whitespace collapsed. "José  GARCÍA" and "jose garcia" are the same
 * tokens. E-mail addresses compare lower-cased; phone numbers by their digits.
 */

/** Lower-case words of letters and digits, diacritics removed. */
export function tokens(text: string): string[] {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').normalize('NFKC').toLowerCase()
    .split(/[^\p{L}\p{N}]+/u).filter((t) => t.length > 0);
}

export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}

/** The digits of a phone number; a leading 00 international prefix is dropped like a leading +. */
export function normalizePhone(phone: string): string {
  const digits = phone.replace(/\D+/g, '');
  return digits.startsWith('00') ? digits.slice(2) : digits;
}

/**
 * Two phone numbers are the same when their digits are, or when one ends with the other and the shorter has at
 * least 7 digits (a national number against its international form: +44 20 7946 0000 and 020 7946 0000 share
 * 2079460000 after the trunk 0 is dropped).
 */
export function samePhone(a: string, b: string): boolean {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  if (x === y) return x.length > 0;
  const [short, long] = x.length <= y.length ? [x, y] : [y, x];
  return short.length >= 7 && long.endsWith(short);
}

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu;
const PHONE = /\+?\d[\d\s().-]{5,}\d/g;

export function findEmails(text: string): string[] {
  return [...text.matchAll(EMAIL)].map((m) => normalizeEmail(m[0]));
}

/** Digit runs that look like phone numbers (at least 7 digits). */
export function findPhones(text: string): string[] {
  return [...text.matchAll(PHONE)].map((m) => normalizePhone(m[0])).filter((d) => d.length >= 7);
}

/** Levenshtein distance, stopping early once it exceeds `max` (then max + 1). */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/** Similarity of two tokens in [0, 1]: 1 − distance / longer length; 0 beyond one edit per 4 characters. */
export function tokenSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const longer = Math.max(a.length, b.length);
  const max = Math.floor(longer / 4);
  if (max === 0) return 0;
  const d = editDistance(a, b, max);
  return d > max ? 0 : 1 - d / longer;
}
