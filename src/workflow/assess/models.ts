import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, readConfig } from '../../model/config.ts';
import { ensembleDigest } from '../../train/sisa/digest.ts';
import { EnsembleError, isEnsemble, MANIFEST, readManifest, shardDir } from '../../train/sisa/manifest.ts';
import { RequestInputError } from '../requests/input-error.ts';
import type { WorkflowEnv } from '../requests/service.ts';
import type { ModelsTable } from '../store/schema.ts';

export interface RegisteredModel {
  id: string;
  path: string;
  sha256: string;
  architecture: string;
  summary: { layers: number; hiddenSize: number; heads: number; vocabSize: number; context: number };
  addedAt: string;
}

function toModel(row: ModelsTable): RegisteredModel {
  return { id: row.id, path: row.path, sha256: row.sha256, architecture: row.architecture, summary: JSON.parse(row.summary) as RegisteredModel['summary'], addedAt: row.added_at };
}

/** SHA-256 over the folder's *.safetensors files, each as its name then its bytes, in name order (streamed). */
async function weightsDigest(dir: string): Promise<string> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  if (files.length === 0) throw new RequestInputError(`model: ${dir} has no .safetensors weights`);
  const h = createHash('sha256');
  for (const f of files) {
    h.update(`${f}\n`);
    for await (const chunk of createReadStream(join(dir, f))) h.update(chunk as Buffer);
  }
  return h.digest('hex');
}

/**
 * Registers a model folder so requests and the dashboard can name it: its config must parse, its weights are hashed.
 * The same folder with the same weights again returns the existing entry; new weights in the same folder are a new
 * entry (the old one stays, naming what was there).
 */
export async function addModel(env: WorkflowEnv, path: string): Promise<{ model: RegisteredModel; created: boolean }> {
  const dir = resolve(path);
  const ensemble = isEnsemble(dir);
  if (!ensemble && !statSync(join(dir, 'config.json'), { throwIfNoEntry: false })?.isFile()) throw new RequestInputError(`model: ${dir} is not a model folder (no config.json) or an ensemble folder (no ${MANIFEST})`);
  let config;
  let shards = 0;
  try {
    // An ensemble is registered by its first shard's shape (all shards share it) and its own digest.
    if (ensemble) shards = readManifest(dir).shards;
    config = readConfig(ensemble ? shardDir(dir, 0) : dir);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof EnsembleError) throw new RequestInputError(`model: ${e.message}`);
    throw e;
  }
  const sha256 = ensemble ? ensembleDigest(dir) : await weightsDigest(dir);
  const existing = await env.store.db.selectFrom('models').selectAll().where('path', '=', dir).where('sha256', '=', sha256).executeTakeFirst();
  if (existing) return { model: toModel(existing), created: false };
  const row: ModelsTable = {
    id: `model_${sha256.slice(0, 16)}`, path: dir, sha256, architecture: ensemble ? `${config.architecture} ×${shards} (SISA ensemble)` : config.architecture,
    summary: JSON.stringify({ layers: config.numLayers, hiddenSize: config.hiddenSize, heads: config.numHeads, vocabSize: config.vocabSize, context: config.maxPositions }),
    added_at: (env.now ? env.now() : new Date()).toISOString(),
  };
  // The same weights in another folder share the digest: the id then names the folder too.
  const clash = await env.store.db.selectFrom('models').select('id').where('id', '=', row.id).executeTakeFirst();
  if (clash) row.id = `model_${createHash('sha256').update(`${sha256}\n${dir}`).digest('hex').slice(0, 16)}`;
  await env.store.write((tx) => tx.insertInto('models').values(row).execute());
  return { model: toModel(row), created: true };
}

export async function listModels(env: WorkflowEnv): Promise<RegisteredModel[]> {
  return (await env.store.db.selectFrom('models').selectAll().orderBy('added_at').execute()).map(toModel);
}
