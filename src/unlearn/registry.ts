import type { UnlearnMethod } from './types.ts';
import { gradAscent } from './methods/grad-ascent.ts';
import { gradDiff } from './methods/grad-diff.ts';
import { npo } from './methods/npo.ts';
import { simNpo } from './methods/simnpo.ts';
import { wga } from './methods/wga.ts';
import { satImp } from './methods/satimp.ts';
import { ceU } from './methods/ce-u.ts';
import { undial } from './methods/undial.ts';
import { indifference } from './methods/indifference.ts';
import { idkFt } from './methods/idk-ft.ts';
import { dpoIdk } from './methods/dpo-idk.ts';
import { counterexample } from './methods/counterexample.ts';
import { taskVector } from './methods/task-vector.ts';
import { rmu } from './methods/rmu.ts';
import { localizedAblation } from './methods/localized-ablation.ts';
import { OptionError } from './options.ts';

/** Every method, in the order `lethe methods` lists them. */
export const METHODS: readonly UnlearnMethod[] = [gradAscent, gradDiff, npo, simNpo, wga, satImp, ceU, undial, idkFt, dpoIdk, counterexample, indifference, taskVector, rmu, localizedAblation];

/** "GradDiff", "grad-diff" and "grad_diff" all name the same method. */
function normalise(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export function getMethod(name: string): UnlearnMethod {
  const m = METHODS.find((x) => normalise(x.name) === normalise(name));
  if (!m) throw new OptionError(`unknown method "${name}" (methods: ${METHODS.map((x) => x.name).join(', ')})`);
  return m;
}
