/**
 * Field-name mapping for data files whose columns are named differently from Lethe's (`--field question=q,answer=a`):
 * each pair says which field of the file is read as which of Lethe's fields. The mapping is applied to every object
 * record before validation, so errors still name the file's own field ("field "q" (read as "question") is missing").
 */

/** Lethe's field names a file's fields can be mapped onto (QA, text and MUSE verbmem records). */
export const MAPPABLE_FIELDS = [
  'question', 'answer', 'paraphrased_question', 'paraphrased_answer', 'perturbed_answers', 'perturbed_answer',
  'subject', 'attribute', 'id', 'text', 'prompt', 'gt',
] as const;

export type MappableField = (typeof MAPPABLE_FIELDS)[number];

/** Lethe's field name → the file's field name. */
export type FieldMap = Partial<Record<MappableField, string>>;

/**
 * Parses `--field` values: each is one or more comma-separated `lethe_name=file_name` pairs; the option may be
 * repeated. Unknown Lethe names, empty names, a Lethe field mapped twice and two fields read from one are errors.
 */
export function parseFieldMap(specs: readonly string[]): FieldMap {
  const map: FieldMap = {};
  const sources = new Map<string, string>();
  for (const spec of specs) {
    for (const part of spec.split(',')) {
      const pair = part.trim();
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const target = eq < 0 ? pair : pair.slice(0, eq).trim();
      const source = eq < 0 ? '' : pair.slice(eq + 1).trim();
      if (eq < 0 || target === '' || source === '') throw new RangeError(`--field "${pair}": expected lethe_name=file_name, e.g. question=q,answer=a`);
      if (!(MAPPABLE_FIELDS as readonly string[]).includes(target)) {
        throw new RangeError(`--field "${pair}": "${target}" is not one of Lethe's fields (${MAPPABLE_FIELDS.join(', ')})`);
      }
      const t = target as MappableField;
      if (map[t] !== undefined && map[t] !== source) throw new RangeError(`--field maps "${target}" twice (from "${map[t]}" and "${source}")`);
      const other = sources.get(source);
      if (other !== undefined && other !== target) throw new RangeError(`--field reads "${source}" as both "${other}" and "${target}"`);
      map[t] = source;
      sources.set(source, target);
    }
  }
  return map;
}

/** Whether the map renames anything. */
export function mapsAnything(map: FieldMap | undefined): map is FieldMap {
  return map !== undefined && Object.entries(map).some(([target, source]) => source !== undefined && source !== target);
}

/**
 * The record with the file's fields renamed to Lethe's: for each pair whose file field is present, the value moves to
 * Lethe's name (replacing a field of that name, if the file also has one). Other fields are kept as they are.
 */
export function applyFieldMap(record: Record<string, unknown>, map: FieldMap | undefined): Record<string, unknown> {
  if (!mapsAnything(map)) return record;
  const out: Record<string, unknown> = { ...record };
  for (const [target, source] of Object.entries(map)) {
    if (source === undefined || source === target || !Object.hasOwn(record, source)) continue;
    delete out[source];
    out[target] = record[source];
  }
  return out;
}

/** How an error names a Lethe field: as the file spells it, with Lethe's name beside it when --field renamed it. */
export function fileFieldName(field: string, map: FieldMap | undefined): string {
  const [head, ...rest] = field.split(/(?=[.[])/);
  const source = map?.[head as MappableField];
  if (source === undefined || source === head) return `"${field}"`;
  return `"${source}${rest.join('')}" (read as "${field}", --field ${head}=${source})`;
}
