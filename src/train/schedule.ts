export interface ScheduleOptions {
  /** Peak learning rate. */
  lr: number;
  /** Steps of linear warmup from 0 to lr. */
  warmupSteps: number;
  totalSteps: number;
  /** Floor the cosine decays to (default lr / 10). */
  minLr?: number;
}

/** Linear warmup then cosine decay to minLr, as a pure function of the step (so a resumed run gets the same lr). */
export function learningRate(step: number, o: ScheduleOptions): number {
  const minLr = o.minLr ?? o.lr / 10;
  if (o.warmupSteps > 0 && step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const span = Math.max(1, o.totalSteps - o.warmupSteps);
  const progress = Math.min(1, (step - o.warmupSteps) / span);
  return minLr + 0.5 * (o.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}
