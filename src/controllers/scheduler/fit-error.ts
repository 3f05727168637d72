/**
 * The FailedScheduling message, as upstream's FitError.Error() builds it:
 *
 *   "0/<all> nodes are available: <PreFilterMsg>. <PostFilterMsg>"
 *   "0/<all> nodes are available: <n> <reason>, <m> <reason>. <PostFilterMsg>"
 *
 * Reasons are counted over nodes (a node contributes each of its reasons),
 * formatted as "<count> <reason>" and sorted as strings. The PostFilter part
 * is DefaultPreemption's "preemption: " + another such message (itself ending
 * with "."), or nothing when preemption found candidates.
 */
import type { FilterStatus } from './filters.js';

export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';
export const PREEMPTION_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const NO_PREEMPTION_VICTIMS = 'No preemption victims found for incoming pod';
export const PREEMPTION_POLICY_NEVER = 'not eligible due to preemptionPolicy=Never.';

export interface Diagnosis {
  numAllNodes: number;
  /** A PreFilter rejection: the message replaces the per-node histogram. */
  preFilterMsg?: string;
  /** Statuses of nodes that were evaluated. */
  nodeStatuses: Iterable<FilterStatus>;
  /** How many nodes `nodeStatuses` covers. */
  evaluated: number;
  /** Status of every node not evaluated (numAllNodes - evaluated of them). */
  absentStatus?: FilterStatus;
}

/** "<n> <reason>" strings for a diagnosis, sorted (upstream sortReasonsHistogram). */
export function reasonHistogram(d: Diagnosis): string[] {
  const counts = new Map<string, number>();
  for (const s of d.nodeStatuses) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const absent = d.numAllNodes - d.evaluated;
  if (absent > 0 && d.absentStatus) {
    for (const r of d.absentStatus.reasons) counts.set(r, (counts.get(r) ?? 0) + absent);
  }
  const out: string[] = [];
  for (const [r, n] of counts) out.push(`${n} ${r}`);
  // Go's sort.Strings: byte-wise order.
  out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return out;
}

export function fitErrorMessage(d: Diagnosis, postFilterMsg?: string): string {
  let msg = `0/${d.numAllNodes} nodes are available:`;
  if (d.preFilterMsg) {
    msg += ` ${d.preFilterMsg}.`;
  } else {
    const hist = reasonHistogram(d);
    if (hist.length > 0) msg += ` ${hist.join(', ')}.`;
  }
  if (postFilterMsg) msg += ` ${postFilterMsg}`;
  return msg;
}
