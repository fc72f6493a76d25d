// Polling for a condition in tests that watch another process (or a timer) get there.

/**
 * Polls `check` every `everyMs` until it returns true; resolves with the time it took (ms). After
 * `timeoutMs` it throws, naming `what` and the last error `check` threw (a check that throws is
 * tried again: what it reads may be half-written).
 */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 2_000, everyMs = 10): Promise<number> {
  const t0 = performance.now();
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return performance.now() - t0;
    } catch (err) {
      last = err;
    }
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
