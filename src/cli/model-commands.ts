import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CausalLM } from '../model/arch/types.ts';
import { loadModel } from '../model/checkpoint.ts';
import { readDesignation } from '../train/sgtm.ts';
import type { Aggregation } from '../model/aggregations.ts';
import { loadAnyModel, loadEnsemble } from '../train/sisa/load.ts';
import { isEnsemble, shardDir } from '../train/sisa/manifest.ts';
import { generate } from '../model/generate.ts';
import { Tokenizer } from '../model/tokenizer.ts';

export interface ModelInfo {
  dir: string;
  architecture: string;
  family: string;
  parameters: number;
  dtype: string;
  vocabSize: number;
  context: number;
  layers: number;
  hiddenSize: number;
  heads: number;
  kvHeads: number;
  tiedEmbeddings: boolean;
  hasTokenizer: boolean;
  hasChatTemplate: boolean;
  /** SGTM's designation when the folder was trained with --sgtm (null otherwise). */
  sgtm: { mlpUnits: number; heads: number; layers: number[]; ablated: boolean } | null;
  /** A SISA ensemble folder: its shards, slices and records (the other fields describe shard 0, parameters all shards). */
  ensemble: { shards: number; slices: number; records: number; shardBy: string } | null;
}

function sgtmOf(model: CausalLM): ModelInfo['sgtm'] {
  const found = readDesignation(model);
  return found ? { ...found.designation, ablated: found.ablated } : null;
}

export function modelInfo(dir: string): ModelInfo {
  if (isEnsemble(dir)) {
    const { model, manifest } = loadEnsemble(dir);
    const first = modelInfo(shardDir(dir, 0));
    return {
      ...first, dir, parameters: model.members.reduce((a, m) => a + m.params.count(), 0),
      ensemble: { shards: manifest.shards, slices: manifest.slices, records: manifest.records.length, shardBy: manifest.shardBy },
    };
  }
  const { model, storedDType } = loadModel(dir);
  const c = model.config;
  const tokenizer = existsSync(join(dir, 'tokenizer.json')) ? Tokenizer.fromDir(dir) : null;
  return {
    dir, architecture: c.architecture, family: c.family, parameters: model.params.count(), dtype: storedDType,
    vocabSize: c.vocabSize, context: c.maxPositions, layers: c.numLayers, hiddenSize: c.hiddenSize, heads: c.numHeads,
    kvHeads: c.numKvHeads, tiedEmbeddings: c.tieWordEmbeddings, hasTokenizer: tokenizer !== null,
    hasChatTemplate: tokenizer?.hasChatTemplate ?? false,
    sgtm: sgtmOf(model),
    ensemble: null,
  };
}

export function formatInfo(i: ModelInfo): string {
  const rows: [string, string][] = [
    ...(i.ensemble ? [['SISA ensemble', `${i.ensemble.shards} shard(s) × ${i.ensemble.slices} slice(s), ${i.ensemble.records} records placed by ${i.ensemble.shardBy}; next-token distributions averaged over the shards`] as [string, string]] : []),
    ['architecture', i.architecture],
    ['parameters', `${i.parameters.toLocaleString('en-US')} (${(i.parameters / 1e6).toFixed(2)} M)${i.ensemble ? `, all shards together` : ''}`],
    ['stored dtype', i.dtype],
    ['vocabulary', String(i.vocabSize)],
    ['context', `${i.context} tokens`],
    ['layers', String(i.layers)],
    ['hidden size', String(i.hiddenSize)],
    ['attention heads', i.kvHeads === i.heads ? String(i.heads) : `${i.heads} (${i.kvHeads} key/value heads)`],
    ['tied embeddings', i.tiedEmbeddings ? 'yes' : 'no'],
    ['tokenizer', i.hasTokenizer ? (i.hasChatTemplate ? 'yes, with chat template' : 'yes') : 'none'],
    ...(i.sgtm ? [['SGTM', `${i.sgtm.mlpUnits} MLP unit(s) and ${i.sgtm.heads} head(s) per layer in layer(s) ${i.sgtm.layers.join(',')}; ${i.sgtm.ablated ? 'ablated' : 'not ablated (lethe sgtm ablate removes them)'}`] as [string, string]] : []),
  ];
  return rows.map(([k, v]) => `${k.padEnd(16)} ${v}`).join('\n');
}

export interface GenerateCommandOptions {
  prompt: string[];
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  stop: string[];
  chat: boolean;
  /** For an ensemble folder: how its shards' distributions are combined. */
  aggregate?: Aggregation;
}

export interface GenerateCommandResult {
  prompt: string;
  promptIds: number[];
  tokens: number[];
  text: string;
  finishReason: string;
}

export function generateCommand(dir: string, o: GenerateCommandOptions): GenerateCommandResult[] {
  const { model } = loadAnyModel(dir, o.aggregate);
  const tokenizer = Tokenizer.fromDir(dir);
  const prompts = o.prompt.map((p) => (o.chat ? tokenizer.applyChatTemplate([{ role: 'user', content: p }], { addGenerationPrompt: true }) : p));
  const promptIds = prompts.map((p) => tokenizer.encode(p, { addSpecialTokens: !o.chat }));
  const eos = tokenizer.eosId;
  const out = generate(model, promptIds, {
    maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed,
    stopStrings: o.stop, tokenizer, padTokenId: tokenizer.padId ?? undefined,
    eosTokenIds: eos !== null ? [eos] : undefined,
  });
  return out.map((g, i) => ({ prompt: o.prompt[i]!, promptIds: promptIds[i]!, tokens: g.tokens, text: g.text ?? '', finishReason: g.finishReason }));
}
