import { loadModel } from '../../model/checkpoint.ts';
import { checkOutputFolder } from '../../model/io/output-folder.ts';
import { Tokenizer } from '../../model/tokenizer.ts';
import { readUnlearnRecords, tokenizeItems, type ItemSet } from '../data.ts';
import { getMethod } from '../registry.ts';
import { unlearn, type UnlearnRecord, type UnlearnRequest } from '../run.ts';
import type { UnlearnHooks } from '../types.ts';
import type { SubjectKind } from './bank.ts';
import { DEFAULT_FIND, findSourceFreeSets, requireKnown, type FindOptions } from './assemble.ts';

/** `lethe unlearn --subject NAME …`: a request that names its subjects instead of giving a forget file. */
export interface SourceFreeRequest extends Omit<UnlearnRequest, 'forgetPath' | 'retainPath' | 'sourceFree'> {
  subjects: readonly string[];
  kind?: SubjectKind;
  /** Other subjects the model knows, probed the same way: their confident claims are the retain set. */
  retainSubjects?: readonly string[];
  /** A retain file, added to the retain subjects' claims (or the retain set alone without them). */
  retainPath?: string;
  find?: Partial<FindOptions>;
}

/**
 * Source-free unlearning: builds the forget set (and the retain set, from retain subjects) out of the model's own
 * confident answers (assemble.ts), then runs the ordinary unlearning job on them (run.ts unlearn), which writes
 * the folder whole or not at all with unlearn.json's `sourceFree` section. Everything that can be refused cheaply
 * (method, retain need, output folder) is refused before the model is probed; an unknown subject is refused after.
 */
export function sourceFreeUnlearn(req: SourceFreeRequest, hooks: UnlearnHooks = {}): UnlearnRecord {
  const method = getMethod(req.method);
  const retainSubjects = req.retainSubjects ?? [];
  if (method.retain === 'required' && retainSubjects.length === 0 && !req.retainPath) {
    throw new RangeError(`${method.name} needs a retain set: give --retain-subject NAME (someone else the model knows, probed as the subjects are) or --retain FILE`);
  }
  checkOutputFolder(req.outDir, [
    { path: req.modelDir, what: 'model' }, ...(req.retainPath ? [{ path: req.retainPath, what: 'retain set' }] : []),
    ...(req.utilityPath ? [{ path: req.utilityPath, what: 'utility set' }] : []),
  ], req.force);
  const { model } = loadModel(req.modelDir);
  const tokenizer = Tokenizer.fromDir(req.modelDir);
  const found = findSourceFreeSets(model, tokenizer, req.subjects, method.retain === 'none' ? [] : retainSubjects, {
    ...DEFAULT_FIND, ...req.find, kind: req.kind ?? 'person', ...(hooks.onMessage ? { onMessage: hooks.onMessage } : {}),
  });
  requireKnown(found.report);
  const gate = found.report.calibration.subjectGate;
  for (const s of found.report.subjects) {
    hooks.onMessage?.(`${s.role === 'forget' ? 'subject' : 'retain subject'} "${s.name}": ${s.confident} of ${s.claims} claims above the baseline `
      + `(a fictitious name's most: ${gate}), ${s.kept.length > 0 ? 'kept' : 'none kept'}`);
  }
  let retain: string | ItemSet | undefined = found.retain ?? req.retainPath;
  let retainFile: { path: string; records: number } | null = null;
  if (found.retain && req.retainPath) {
    const records = readUnlearnRecords(req.retainPath, 'retain', req.fields);
    retainFile = { path: req.retainPath, records: records.length };
    retain = {
      items: [...found.retain.items, ...tokenizeItems(records, tokenizer, model.config.maxPositions)],
      description: `${found.retain.description}, and ${records.length} records of ${req.retainPath}`,
    };
  } else if (req.retainPath) retainFile = { path: req.retainPath, records: readUnlearnRecords(req.retainPath, 'retain', req.fields).length };
  const { subjects: _s, kind: _k, retainSubjects: _r, find: _f, ...rest } = req;
  return unlearn({ ...rest, forgetPath: found.forget, ...(retain === undefined ? {} : { retainPath: retain }), sourceFree: { ...found.report, retainFile } }, hooks);
}
