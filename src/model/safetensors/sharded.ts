import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../../engine/index.ts';
import { readUtf8File } from '../../util/text-file.ts';
import { MAX_TENSORS, SafetensorsError } from './header.ts';
import { SafetensorsFile } from './read.ts';
import { atomicWrite } from '../io/atomic-file.ts';
import { saveSafetensors, type SaveOptions } from './write.ts';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** Where each tensor of a checkpoint folder lives: one file, or shards listed by the index. */
export interface CheckpointFiles {
  files: SafetensorsFile[];
  byName: Map<string, SafetensorsFile>;
  metadata: Record<string, string>;
}

/** Opens a Hugging Face checkpoint folder's weights (model.safetensors or a sharded index) for lazy reads. */
export function openCheckpoint(dir: string): CheckpointFiles {
  const single = join(dir, SINGLE_FILE);
  const index = join(dir, INDEX_FILE);
  if (existsSync(single)) {
    const f = SafetensorsFile.open(single);
    return { files: [f], byName: new Map(f.names.map((n) => [n, f])), metadata: f.metadata };
  }
  if (!existsSync(index)) {
    throw new SafetensorsError(dir, `no ${SINGLE_FILE} or ${INDEX_FILE} in this folder`);
  }
  const parsed = readIndex(index);
  const weightMap = (parsed as { weight_map?: unknown })?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new SafetensorsError(index, 'missing "weight_map" object');
  }
  const entries = Object.keys(weightMap).length;
  if (entries > MAX_TENSORS) throw new SafetensorsError(index, `"weight_map" lists ${entries} tensors, more than the ${MAX_TENSORS} limit`);
  const opened = new Map<string, SafetensorsFile>();
  const byName = new Map<string, SafetensorsFile>();
  try {
    for (const [name, file] of Object.entries(weightMap as Record<string, unknown>)) {
      if (typeof file !== 'string' || file.includes('/') || file.includes('\\')) {
        throw new SafetensorsError(index, `weight_map["${name}"] must be a file name in the same folder, got ${JSON.stringify(file)}`);
      }
      let f = opened.get(file);
      if (!f) {
        if (!existsSync(join(dir, file))) throw new SafetensorsError(index, `shard "${file}" listed for "${name}" does not exist`);
        f = SafetensorsFile.open(join(dir, file));
        opened.set(file, f);
      }
      if (!f.has(name)) throw new SafetensorsError(index, `shard "${file}" has no tensor "${name}"`);
      byName.set(name, f);
    }
  } catch (err) {
    for (const f of opened.values()) f.close();
    throw err;
  }
  const metadata = (parsed as { metadata?: unknown }).metadata;
  const strMeta: Record<string, string> = {};
  // Scalars only (total_size is a number): String() of a hostile nested value could recurse past the stack.
  if (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata)) {
    for (const [k, v] of Object.entries(metadata)) if (['string', 'number', 'boolean'].includes(typeof v)) strMeta[k] = String(v);
  }
  return { files: [...opened.values()], byName, metadata: strMeta };
}

/** Real index files list a few thousand tensors in well under 1 MiB. */
const MAX_INDEX_BYTES = 16 * 2 ** 20;

function readIndex(path: string): unknown {
  const text = readUtf8File(path, MAX_INDEX_BYTES, (problem) => new SafetensorsError(path, problem));
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(path, `not valid JSON (${(err as Error).message})`);
  }
}

export function closeCheckpoint(c: CheckpointFiles): void {
  for (const f of c.files) f.close();
}

/** Reads all tensors of a checkpoint folder. */
export function loadCheckpoint(dir: string): Map<string, Tensor> {
  const c = openCheckpoint(dir);
  try {
    return new Map([...c.byName.entries()].map(([n, f]) => [n, f.read(n)]));
  } finally {
    closeCheckpoint(c);
  }
}

export interface SaveCheckpointOptions extends SaveOptions {
  /** Split into shards of at most this many bytes (with an index file), as transformers does. Default: one file. */
  maxShardBytes?: number;
}

/** Writes tensors to a folder as model.safetensors, or as shards plus model.safetensors.index.json. */
export function saveCheckpoint(dir: string, tensors: ReadonlyMap<string, Tensor>, options: SaveCheckpointOptions = {}): void {
  const bytesPer = (t: Tensor): number => t.size * (t.dtype === 'i32' || (options.dtype ?? 'F32') === 'F32' ? 4 : 2);
  const total = [...tensors.values()].reduce((n, t) => n + bytesPer(t), 0);
  const max = options.maxShardBytes;
  if (max === undefined || total <= max) {
    saveSafetensors(join(dir, SINGLE_FILE), tensors, options);
    return;
  }
  const shards: Map<string, Tensor>[] = [];
  let current = new Map<string, Tensor>();
  let size = 0;
  for (const [name, t] of tensors) {
    if (size > 0 && size + bytesPer(t) > max) {
      shards.push(current);
      current = new Map();
      size = 0;
    }
    current.set(name, t);
    size += bytesPer(t);
  }
  shards.push(current);
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    saveSafetensors(join(dir, file), shard, options);
    for (const name of shard.keys()) weightMap[name] = file;
  });
  const index = { metadata: { total_size: total, ...(options.metadata ?? {}) }, weight_map: weightMap };
  atomicWrite(join(dir, INDEX_FILE), [Buffer.from(JSON.stringify(index, null, 2) + '\n')]);
}
