/**
 * Evaluations kept on disk, so that a run that evaluates the same weights on the same data again (the target and
 * the retain model of every `npm start`, a re-run of `lethe eval`) reads the result instead of recomputing minutes
 * of scoring, generation and relearning. The key covers everything the result depends on: the weights and
 * config, the tokenizer, the evaluation sets, the options, the model's role and the reference baseline it is
 * compared with, the backend and thread count (float results may differ by rounding between them), and the code
 * itself (a digest of Lethe's source files), so a change to any of them is a miss, never a stale hit.
 */
import { EnsembleLM } from '../model/ensemble.ts';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backend } from '../engine/index.ts';
import type { CausalLM } from '../model/arch/types.ts';
import { atomicWrite, durableMkdir } from '../model/io/atomic-file.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { EvalSets } from './datasets.ts';
import type { EvaluateOptions, ReferenceBaseline } from './evaluate.ts';
import type { ModelEvaluation } from './report-types.ts';

/** Bumped when the file layout changes (the code digest covers changes to what is computed). */
const FORMAT = 1;

let codeDigest: string | null = null;

/** SHA-256 over Lethe's source files (paths and contents), computed once per process. */
export function lethesCode(): string {
  if (codeDigest) return codeDigest;
  const root = fileURLToPath(new URL('../', import.meta.url));
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile() && e.name.endsWith('.ts')) h.update(`${relative(root, path)}\0`).update(readFileSync(path)).update('\0');
    }
  };
  walk(root);
  codeDigest = h.digest('hex');
  return codeDigest;
}

/** JSON with Maps as sorted entry lists and typed arrays as arrays (so equal sets give equal text). */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Map) return [...v.entries()].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
    return v;
  });
}

function isNonFinite(v: unknown): v is { nonFinite: string } {
  return typeof v === 'object' && v !== null && Object.keys(v).length === 1 && typeof (v as { nonFinite?: unknown }).nonFinite === 'string';
}

export interface EvalCacheKey {
  model: CausalLM;
  tokenizer: Tokenizer;
  sets: EvalSets;
  options: EvaluateOptions;
  role: ModelEvaluation['role'];
  baseline: ReferenceBaseline | null;
}

interface Entry {
  format: number;
  key: string;
  evaluation: ModelEvaluation;
  baseline: { forgetTruthRatios: number[]; minKAuc: number } | null;
}

export interface CachedEvaluation {
  evaluation: ModelEvaluation;
  baseline: ReferenceBaseline | null;
}

export class EvalCache {
  /**
   * `code`: the digest of Lethe's source to key by (default: this process's lethesCode()). Threads that share one
   * cache pass the digest their parent took, so that a source file edited while they run cannot split their keys.
   */
  constructor(readonly dir: string, private readonly log: (line: string) => void = () => {}, private readonly code: string = lethesCode()) {}

  key(k: EvalCacheKey): string {
    const h = createHash('sha256');
    h.update(`lethe-eval-cache ${FORMAT}\0${this.code}\0${backend().name} ${backend().threads}\0`);
    // An ensemble is its members' weights and how they are combined.
    const members = k.model instanceof EnsembleLM ? k.model.members : [k.model];
    if (k.model instanceof EnsembleLM) h.update(`ensemble ${k.model.aggregation} ${members.length}\0`);
    for (const m of members) {
      h.update(stableJson(m.config)).update('\0');
      const flat = m.params.flat;
      h.update(new Uint8Array(flat.buffer, flat.byteOffset, flat.byteLength));
    }
    h.update(`\0${k.tokenizer.digest}\0${k.role}\0`);
    h.update(stableJson({ sets: { ...k.sets, sources: undefined }, options: k.options, baseline: k.baseline }));
    return h.digest('hex');
  }

  private path(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  /** The stored evaluation under this key, or null (absent, or unreadable: then it is recomputed and replaced). */
  get(key: string): CachedEvaluation | null {
    const path = this.path(key);
    if (!existsSync(path)) return null;
    try {
      const e = JSON.parse(readFileSync(path, 'utf8'), (_k, v: unknown) => (isNonFinite(v) ? Number(v.nonFinite) : v)) as Entry;
      if (e.format !== FORMAT || e.key !== key || typeof e.evaluation !== 'object' || e.evaluation === null) throw new Error('not an entry for this key');
      const baseline = e.baseline ? { forgetTruthRatios: Float64Array.from(e.baseline.forgetTruthRatios), minKAuc: e.baseline.minKAuc } : null;
      return { evaluation: e.evaluation, baseline };
    } catch (err) {
      this.log(`evaluation cache: ignoring ${path} (${(err as Error).message}); evaluating again`);
      return null;
    }
  }

  /** Stores an evaluation whole (written to a temporary file and renamed: a crash leaves no half entry). */
  put(key: string, value: CachedEvaluation): void {
    durableMkdir(this.dir);
    const entry: Entry = {
      format: FORMAT, key, evaluation: value.evaluation,
      baseline: value.baseline ? { forgetTruthRatios: Array.from(value.baseline.forgetTruthRatios), minKAuc: value.baseline.minKAuc } : null,
    };
    // NaN and ±Infinity (an undefined mean, an unbounded ratio) would come back as null from plain JSON.
    const text = JSON.stringify(entry, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { nonFinite: String(v) } : v));
    atomicWrite(this.path(key), [Buffer.from(text)]);
  }
}
