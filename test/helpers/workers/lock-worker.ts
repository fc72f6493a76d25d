// A child process for the lock tests.
//   count <lock> <counter> <n>   n times: under the lock, check nobody else is inside, then read,
//                                 bump and rewrite a counter file (a lost update shows a broken lock)
//   hold <lock>                   take the lock, print "held", and wait to be killed

import fs from 'node:fs';
import { acquireLock, withLock } from '../../../shared/sys/lock';

const pause = () => new Promise((r) => setTimeout(r, Math.random() < 0.5 ? 0 : 1));

async function count(lock: string, counter: string, n: number): Promise<void> {
  const inside = `${counter}.inside`;
  for (let i = 0; i < n; i++) {
    await withLock(lock, async () => {
      fs.writeFileSync(inside, String(process.pid), { flag: 'wx' }); // throws if another holder is inside
      const v = Number(fs.readFileSync(counter, 'utf8'));
      await pause();
      fs.writeFileSync(counter, String(v + 1));
      fs.unlinkSync(inside);
    }, { timeoutMs: 30_000 });
  }
}

async function main(): Promise<void> {
  const [mode, lock, counter, n] = process.argv.slice(2);
  if (mode === 'count') return count(lock!, counter!, Number(n));
  if (mode === 'hold') {
    await acquireLock(lock!);
    fs.writeSync(1, 'held\n');
    setInterval(() => undefined, 1_000);
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

main().catch((err) => {
  fs.writeSync(2, `${(err as Error).stack}\n`);
  process.exit(1);
});
