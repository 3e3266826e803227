// JSON.parse accepts any nesting depth (it does not recurse), but everything after it that walks a value does:
// JSON.stringify when Lethe writes a config back, deep comparisons, zod. A line or file nested 100,000 deep would
// load and then fail later with "Maximum call stack size exceeded", far from the file that caused it. Real configs
// and data records nest a few levels.

/** Deepest nesting Lethe reads in config.json and JSONL records. */
export const MAX_JSON_DEPTH = 64;

/** Whether JSON text nests objects/arrays deeper than `limit` (strings are skipped, so brackets in them do not count). */
export function jsonTooDeep(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
