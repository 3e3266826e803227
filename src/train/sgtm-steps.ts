import { Rng } from '../engine/index.ts';
import type { CausalLM } from '../model/arch/types.ts';
import type { RecordLabel } from '../data/schema.ts';
import { BatchStream, type DataPosition } from './batches.ts';
import type { Example } from './examples.ts';
import { forgetMasks, keepForgetGradients, retainTap, SgtmError, type SgtmDesignation } from './sgtm.ts';
import type { SharedOnForget } from './choices.ts';
import type { SourcePosition, StepPlan, StepSourceFactory } from './trainer.ts';

/** How labelled steps are run (../shared/SGTM.md). */
export interface SgtmStepOptions {
  designation: SgtmDesignation;
  /** Share of retain-labelled steps run with the forget units masked; the rest are default steps (reference: 0.1–0.25). */
  retainMaskFraction: number;
  /** Simulated label noise: a forget batch keeps its label with this probability, else it runs as a default step. */
  forgetRecall: number;
  /** Whether embeddings and norms learn on forget steps (see SharedOnForget); default freeze. */
  shared?: SharedOnForget;
}

/** What a step did: forget (only forget parameters learn), retain-masked (forget units zeroed), default (all learn). */
export type SgtmStepKind = 'forget' | 'retain-masked' | 'default';

/** The label groups steps are drawn from: adjacent records train as retain (they are measured apart, not treated apart). */
const GROUPS = ['forget', 'retain', 'unlabelled'] as const;
type Group = (typeof GROUPS)[number];

function groupOf(label: RecordLabel | undefined): Group {
  return label === 'forget' ? 'forget' : label === undefined ? 'unlabelled' : 'retain';
}

export function checkSgtmStepOptions(o: Pick<SgtmStepOptions, 'retainMaskFraction' | 'forgetRecall'>): void {
  if (!(o.retainMaskFraction >= 0 && o.retainMaskFraction <= 1)) throw new SgtmError(`masked retain fraction ${o.retainMaskFraction}: must be in [0, 1]`);
  if (!(o.forgetRecall >= 0 && o.forgetRecall <= 1)) throw new SgtmError(`forget label recall ${o.forgetRecall}: must be in [0, 1]`);
}

/**
 * SGTM's step source: one label per optimizer step (covering all its micro-batches). Each step draws its group
 * with probability proportional to the group's example count, so the run sees the same mixture plain training
 * would, in single-label batches. Every draw of step k comes from an RNG seeded by (seed, k), so a resumed run makes
 * the same choices without saving RNG state; each group's batches come from its own deterministic stream.
 */
export function sgtmSource(examples: readonly Example[], labels: readonly (RecordLabel | undefined)[], seed: number, batchSize: number,
  o: SgtmStepOptions): StepSourceFactory {
  checkSgtmStepOptions(o);
  if (labels.length !== examples.length) throw new Error('sgtmSource: one label per example');
  const byGroup = new Map<Group, Example[]>(GROUPS.map((g) => [g, []]));
  examples.forEach((e, i) => byGroup.get(groupOf(labels[i]))!.push(e));
  if (byGroup.get('forget')!.length === 0) throw new SgtmError('no training record is labelled "forget": SGTM has nothing to localise (add "label": "forget" to the records to remove)');
  const present = GROUPS.filter((g) => byGroup.get(g)!.length > 0);
  const total = examples.length;
  return {
    fingerprint: JSON.stringify({ sgtm: o, labels: labels.map((l) => l ?? '') }),
    create: (model: CausalLM, position: SourcePosition | null, padId: number) => {
      const masks = forgetMasks(model, o.designation);
      const tap = retainTap(model, o.designation);
      const saved = (position ?? {}) as Record<string, DataPosition>;
      const streams = new Map(present.map((g, i) => [g, new BatchStream(byGroup.get(g)!, batchSize, seed + 7919 * (i + 1), padId, saved[g])]));
      return {
        next(step: number, micro: number): StepPlan {
          const rng = new Rng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b)) >>> 0);
          let pick = rng.uniform() * total;
          let group: Group = present[present.length - 1]!;
          for (const g of present) {
            pick -= byGroup.get(g)!.length;
            if (pick < 0) {
              group = g;
              break;
            }
          }
          const u = rng.uniform();
          const kind: SgtmStepKind = group === 'forget' ? (u < o.forgetRecall ? 'forget' : 'default')
            : group === 'retain' ? (u < o.retainMaskFraction ? 'retain-masked' : 'default') : 'default';
          const stream = streams.get(group)!;
          const batches = Array.from({ length: micro }, () => stream.next());
          return {
            batches, kind,
            ...(kind === 'retain-masked' ? { linearInput: tap } : {}),
            ...(kind === 'forget' ? { afterBackward: () => keepForgetGradients(model, masks, o.shared ?? 'freeze') } : {}),
          };
        },
        get position() {
          return Object.fromEntries([...streams].map(([g, s]) => [g, s.position]));
        },
      };
    },
  };
}
