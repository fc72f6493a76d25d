// uvu loses an error thrown by a `before` hook: its runner returns from a `finally`, so no test runs,
// no message is printed and the file still exits 0. A suite whose set-up can fail registers it here
// instead: the error is kept, every test fails with it (through `before.each`, whose errors uvu does
// report per test), and the suite's `after` hook still runs to clean up what the set-up made.

import type { Test } from 'uvu';

export function setUpOnce(test: Test, setUp: () => Promise<void>): void {
  let failure: unknown;
  test.before(async () => {
    try {
      await setUp();
    } catch (err) {
      failure = err;
    }
  });
  test.before.each(() => {
    if (failure) throw failure;
  });
}
