/**
 * Fault injection for the durable writers. Every step of a write that a crash could interrupt (create, write, fsync,
 * rename, remove) first calls `faultPoint`, so tests can stop a write at the k-th step and check that what is left on
 * disk is the old state or the new one, never a mix. Off unless a test installs an injector or sets
 * LETHE_FAULT_KILL_AT=k (the process kills itself with SIGKILL at the k-th point: a real crash, no cleanup runs).
 */
export type FaultInjector = (label: string, index: number) => void;

let injector: FaultInjector | null = null;
let count = 0;
const killAt = Number(process.env['LETHE_FAULT_KILL_AT'] ?? 0);

/** Installs (or, with null, removes) an injector and restarts the count; returns the previous one. */
export function setFaultInjector(fn: FaultInjector | null): FaultInjector | null {
  const previous = injector;
  injector = fn;
  count = 0;
  return previous;
}

/** A step of a durable write is about to happen. */
export function faultPoint(label: string): void {
  count++;
  if (killAt > 0 && count === killAt) process.kill(process.pid, 'SIGKILL');
  injector?.(label, count);
}

/** Thrown by test injectors to stand for a crash at a fault point. */
export class InjectedCrash extends Error {
  constructor(label: string, index: number) {
    super(`injected crash at fault point ${index} (${label})`);
    this.name = 'InjectedCrash';
  }
}
