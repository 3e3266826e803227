import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian's Chromium (or $LETHE_CHROMIUM), or null when it is not installed. */
export function findChromium(): string | null {
  const candidates = [process.env['LETHE_CHROMIUM'], ...(process.env['PATH'] ?? '').split(delimiter).flatMap((d) => ['chromium', 'chromium-browser'].map((n) => join(d, n)))];
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return null;
}

export const NO_CHROMIUM = 'Chromium is not installed: apt-get install chromium (Debian package; .ci/run installs it), or set LETHE_CHROMIUM';
