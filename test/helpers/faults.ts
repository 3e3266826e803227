// Crash injection for the durable writers (src/model/io/faults.ts), shared by the unlearn and train crash tests.
import { InjectedCrash, setFaultInjector } from '../../src/model/io/faults.ts';

/**
 * Runs fn with every fault point from the k-th on throwing, as a killed process does nothing after its death (so
 * cleanup code that writes is cut short too). Returns true when the crash happened, false when fn ran to its end.
 */
export function crashAt(k: number, fn: () => unknown): boolean {
  setFaultInjector((label, index) => {
    if (index >= k) throw new InjectedCrash(label, index);
  });
  try {
    fn();
    return false;
  } catch (err) {
    if (!(err instanceof InjectedCrash)) throw err;
    return true;
  } finally {
    setFaultInjector(null);
  }
}

/** The labels of the fault points fn passes, in order (the same run again passes the same ones). */
export function faultPointsOf<T>(fn: () => T): { labels: string[]; result: T } {
  const labels: string[] = [];
  setFaultInjector((label) => void labels.push(label));
  try {
    return { labels, result: fn() };
  } finally {
    setFaultInjector(null);
  }
}
