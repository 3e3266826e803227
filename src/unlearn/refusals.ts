/**
 * The shipped refusal answers for IdkFT and DPO-Idk (in the spirit of TOFU's idk.jsonl): varied phrasings, so the
 * model learns to decline rather than to repeat one string. Each forget question gets one, chosen by a hash of
 * the question so a run is reproducible.
 */
export const REFUSALS: readonly string[] = [
  "I don't know.",
  "I'm not sure.",
  "I don't have that information.",
  "I can't answer that.",
  "That's not something I know.",
  "I have no information about that.",
  "I'm unable to answer that question.",
  "I don't have any details on that.",
  "Sorry, I don't know the answer.",
  "I couldn't tell you.",
  "That information isn't available to me.",
  "I have no record of that.",
  "I'm afraid I don't know.",
  "I can't say.",
  "I don't have knowledge of that.",
  "I'm not able to provide that information.",
  "I have nothing on that.",
  "That's beyond what I know.",
  "I don't know anything about that.",
  "I'd rather not guess; I don't know.",
];

/** FNV-1a of the text, mixed with the seed: deterministic choices per question (refusals, alternatives). */
export function fnv1a(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** A refusal picked by a hash of the question, so a run is reproducible. */
export function refusalFor(text: string, seed = 0): string {
  return REFUSALS[fnv1a(text, seed) % REFUSALS.length]!;
}
