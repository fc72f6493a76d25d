// Every case of cni-spec.md §8.2, in order.

import type { CaseDef } from '../lib/case';
import { cases as a } from './a-environment';
import { cases as b } from './b-stdin';
import { cases as c } from './c-version';
import { cases as d } from './d-versions';
import { cases as e } from './e-result';
import { cases as f } from './f-rollback';
import { cases as g } from './g-delegation';
import { cases as h } from './h-runtimeconfig';
import { cases as i } from './i-cniargs';
import { cases as j } from './j-del';
import { cases as k } from './k-check';
import { cases as l } from './l-gc';
import { cases as m } from './m-status';
import { cases as n } from './n-errors';
import { cases as o } from './o-robustness';
import { cases as p } from './p-windows';

export const ALL_CASES: CaseDef[] = [...a, ...b, ...c, ...d, ...e, ...f, ...g, ...h, ...i, ...j, ...k, ...l, ...m, ...n, ...o, ...p];

/** Cases whose id or group letter is listed (`A`, `B03`); all when the list is empty. */
export function selectCases(only: string[]): CaseDef[] {
  if (only.length === 0) return ALL_CASES;
  const wanted = only.map((s) => s.trim().toUpperCase()).filter(Boolean);
  const unknown = wanted.filter((w) => !ALL_CASES.some((c) => c.id === w || c.id.startsWith(w)));
  if (unknown.length) throw new Error(`no case matches ${unknown.join(', ')}`);
  return ALL_CASES.filter((c) => wanted.some((w) => c.id === w || (w.length === 1 && c.id.startsWith(w))));
}
