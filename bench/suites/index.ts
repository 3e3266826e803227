/**
 * The suite registry. A new suite is one file under bench/suites/ exporting a `Suite`, plus its line here;
 * loaders are lazy so running one suite does not import (and initialise) the others.
 */
import type { Suite } from '../lib/types.ts';

export const SUITES: Readonly<Record<string, () => Promise<Suite>>> = {
  engine: async () => (await import('./engine.ts')).engineSuite,
  'train-step': async () => (await import('./train-step.ts')).trainStepSuite,
  unlearn: async () => (await import('./unlearn.ts')).unlearnSuite,
  'unlearn-speed': async () => (await import('./unlearn-speed.ts')).unlearnSpeedSuite,
  'eval-speed': async () => (await import('./eval-speed.ts')).evalSpeedSuite,
  api: async () => (await import('./api.ts')).apiSuite,
  relearn: async () => (await import('./relearn.ts')).relearnSuite,
  sisa: async () => (await import('./sisa.ts')).sisaSuite,
  queue: async () => (await import('./queue.ts')).queueSuite,
  'source-free': async () => (await import('./source-free.ts')).sourceFreeSuite,
  update: async () => (await import('./update.ts')).updateSuite,
};
