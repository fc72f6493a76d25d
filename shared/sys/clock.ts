// Time and names that need no module of their own. `performance` and `crypto` are lazily loaded
// globals in Node: touching either on every invocation costs a few milliseconds of start-up (a
// dozen internal modules each), which every pod start would pay.

/** Milliseconds from an arbitrary start, monotonic (process.hrtime needs nothing loaded). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

let counter = 0;

/** A part of a name no other of this process has: `<counter><random>` in base 36. */
export function uniqueId(): string {
  counter += 1;
  return `${counter.toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * A suffix no other file of this process or of a concurrent one has: `<pid>.<uniqueId>`. Enough
 * for lock tokens, which are created with O_EXCL and compared for identity; nothing here is a
 * secret. (Temporary files name their writer more fully: shared/sys/atomic.ts tempFileName.)
 */
export function uniqueSuffix(): string {
  return `${process.pid}.${uniqueId()}`;
}
