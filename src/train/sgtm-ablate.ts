import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, writeModelFolder } from '../model/checkpoint.ts';
import { ablateInPlace, readDesignation, SgtmError, withDesignation, type SgtmDesignation } from './sgtm.ts';

/** What `lethe sgtm ablate` did, written as ablation.json beside the weights. */
export interface AblationRecord {
  source: string;
  designation: SgtmDesignation;
  /** Forget parameters set to zero. */
  zeroed: number;
  /** The source was already ablated (ablation is idempotent; the weights are written again unchanged). */
  alreadyAblated: boolean;
  finishedAt: string;
}

/**
 * Zeroes the forget parameters a folder's config designates and writes the result whole (config marked ablated, the
 * source's training log and tokenizer kept, ablation.json added). A folder without a designation is refused before
 * anything is written: there is no way to know which parameters hold the domain.
 */
export function ablateFolder(modelDir: string, out: string, force = false): AblationRecord {
  const { model, storedDType } = loadModel(modelDir);
  const found = readDesignation(model);
  if (!found) throw new SgtmError(`${modelDir}: no SGTM designation in config.json (train it with \`lethe train --sgtm\`); nothing to ablate`);
  const ablated = withDesignation(model, found.designation, true);
  const zeroed = ablateInPlace(ablated, found.designation);
  const record: AblationRecord = {
    source: modelDir, designation: found.designation, zeroed, alreadyAblated: found.ablated, finishedAt: new Date().toISOString(),
  };
  const log = join(modelDir, 'training_log.json');
  writeModelFolder(ablated, out, {
    dtype: storedDType === 'F16' || storedDType === 'BF16' ? storedDType : 'F32', copyFrom: modelDir, force,
    inputs: [{ path: modelDir, what: 'model to ablate' }],
    extraFiles: {
      'ablation.json': JSON.stringify(record, null, 1) + '\n',
      ...(existsSync(log) ? { 'training_log.json': readFileSync(log) } : {}),
    },
  });
  return record;
}
