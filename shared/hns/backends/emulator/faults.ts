// Fault injection for tests (faults.json): make a call fail with a chosen HRESULT, answer late
// (to prove the client's deadline), or both; for every call, a number of calls, or only calls whose
// argument text contains a string. Counts are consumed under the state lock, so concurrent
// processes never use one fault twice.

import type { EmulatorConfig } from './config';
import { readJson, writeAtomic } from './fsio';
import { fileIn, withStateLock } from './store';
import { HcnFailure } from './failure';

export interface Fault {
  /** The HCN function without its `Hcn` prefix (`CreateEndpoint`, `ModifyNamespace`), or `HNSCall`. */
  op: string;
  /** Unsigned HRESULT to fail with; the error record carries that code's text. */
  hr?: number;
  /** Answer this late. Without `hr` the call then goes ahead normally. */
  delayMs?: number;
  /** How many calls it applies to; absent = every call. Decremented as calls meet it. */
  count?: number;
  /** Only calls whose argument text (IDs, documents, HNSCall method and path) contains this. */
  match?: string;
  /** Let this many matching calls through first: fails the n-th call of an operation, not the first. */
  skip?: number;
}

function readFaults(dir: string): Fault[] {
  const file = fileIn(dir, 'faults');
  const faults = readJson<unknown>(file) ?? [];
  if (!Array.isArray(faults) || faults.some((f) => !f || typeof f !== 'object' || typeof (f as Fault).op !== 'string')) {
    throw new Error(`${file} must be an array of {op, hr?, delayMs?, count?, match?, skip?}`);
  }
  return faults as Fault[];
}

function applies(f: Fault, op: string, argText: string): boolean {
  return f.op === op && (f.count === undefined || f.count > 0) && (!f.match || argText.includes(f.match));
}

/** The first fault this call meets, with one of its count used up. */
export async function takeFault(dir: string, cfg: EmulatorConfig, op: string, argText: string): Promise<Fault | undefined> {
  const seen = readFaults(dir).find((f) => applies(f, op, argText));
  if (!seen || (seen.count === undefined && !seen.skip)) return seen;
  return withStateLock(dir, cfg, () => {
    const faults = readFaults(dir);
    const f = faults.find((x) => applies(x, op, argText));
    if (!f) return undefined;
    const save = () => writeAtomic(fileIn(dir, 'faults'), JSON.stringify(faults, null, 2));
    if (f.skip) {
      f.skip -= 1;
      save();
      return undefined;
    }
    if (f.count !== undefined) {
      f.count -= 1;
      save();
    }
    return f;
  });
}

/** Waits out the fault's delay, then fails with its HRESULT if it has one. */
export async function meetFault(f: Fault | undefined): Promise<void> {
  if (!f) return;
  if (f.delayMs) await new Promise((resolve) => setTimeout(resolve, f.delayMs));
  if (f.hr) throw new HcnFailure(f.hr >>> 0);
}
