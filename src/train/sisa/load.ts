import type { CausalLM } from '../../model/arch/types.ts';
import { loadModel } from '../../model/checkpoint.ts';
import type { Aggregation } from '../../model/aggregations.ts';
import { EnsembleLM } from '../../model/ensemble.ts';
import { checkTokenizers } from './erase.ts';
import { isEnsemble, readManifest, shardDir, type SisaManifest } from './manifest.ts';

/** An ensemble folder as one model (its members' distributions aggregated), after checking it is whole. */
export function loadEnsemble(dir: string, aggregation: Aggregation = 'mean-prob'): { model: EnsembleLM; manifest: SisaManifest } {
  const manifest = readManifest(dir);
  checkTokenizers(dir, manifest);
  const members = Array.from({ length: manifest.shards }, (_, k) => loadModel(shardDir(dir, k)).model);
  return { model: new EnsembleLM(members, aggregation), manifest };
}

/** A model folder or an ensemble folder, whichever `dir` is. */
export function loadAnyModel(dir: string, aggregation?: Aggregation): { model: CausalLM; ensemble: SisaManifest | null } {
  if (!isEnsemble(dir)) return { model: loadModel(dir).model, ensemble: null };
  const { model, manifest } = loadEnsemble(dir, aggregation);
  return { model, ensemble: manifest };
}
