// PLACEHOLDER written by the lead so the rest compiles; the native-backend helper replaces this whole file.
import type { Backend } from '../backend.ts';
export function loadNativeBackend(): Backend {
  throw new Error('native backend not built yet');
}
