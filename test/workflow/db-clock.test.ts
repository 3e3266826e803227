// Leases judged by the database's clock (src/workflow/store/db-clock.ts): a worker whose own clock is wrong still
// reads the server's time, so machines with skewed clocks agree on when a lease has expired.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { databaseClock } from '../../src/workflow/store/db-clock.ts';
import type { Store } from '../../src/workflow/store/open-store.ts';
import { TEST_STORES } from './stores.ts';

const HOUR = 3_600_000;

for (const backend of TEST_STORES) describe(`the lease clock on ${backend.name}`, () => {
  const stores: Store[] = [];
  after(async () => { for (const s of stores) await s.close(); });

  test(backend.name === 'postgres'
    ? 'a worker whose clock is an hour behind reads the server\'s time, and measures again after the resync period'
    : 'SQLite lives on one machine: the local clock', async () => {
    const store = await backend.open();
    stores.push(store);
    let skew = -HOUR;
    const clock = await databaseClock(store, { localNow: () => Date.now() + skew, resyncMs: 50 });
    if (backend.name === 'sqlite') {
      assert.equal(clock.offsetMs(), 0);
      assert.ok(Math.abs(clock.now().getTime() - (Date.now() - HOUR)) < 1000);
      return;
    }
    // The test's server runs on this machine, so its clock is Date.now().
    assert.ok(Math.abs(clock.offsetMs() - HOUR) < 1000, `offset ${clock.offsetMs()} ms`);
    assert.ok(Math.abs(clock.now().getTime() - Date.now()) < 1000);
    // The local clock is stepped (NTP): after the resync period the next reading starts a new measurement.
    skew = 2 * HOUR;
    await new Promise((r) => setTimeout(r, 60));
    clock.now();
    const until = Date.now() + 5000;
    while (Math.abs(clock.offsetMs() + 2 * HOUR) > 1000 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.ok(Math.abs(clock.offsetMs() + 2 * HOUR) < 1000, `offset ${clock.offsetMs()} ms after the step`);
    assert.ok(Math.abs(clock.now().getTime() - Date.now()) < 1000);
  });
});
