// An invocation answers by its deadline (shared/cni/skel.ts); what it waits for (a lock, the IPAM
// plugin) gives up early enough for the answer, and a rollback's first steps, to fit before it.

/** Left for answering when a wait gives up at the deadline. */
const DEADLINE_RESERVE_MS = 5_000;

/** How long a wait may take: `wanted`, cut short by `deadline` (epoch ms), if there is one. */
export function waitBudget(holder: { deadline?: number }, wanted: number): number {
  if (holder.deadline === undefined) return wanted;
  return Math.max(0, Math.min(wanted, holder.deadline - Date.now() - DEADLINE_RESERVE_MS));
}
