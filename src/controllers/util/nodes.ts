/** Node status accessors shared by the node lifecycle controller and the simulated kubelet. */
import { isObject } from '../../api/types.js';

/** v1.NodeCondition. */
export interface NodeCondition {
  type: string;
  status: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** The conditions of a node status (entries that are not objects skipped; [] without a list). */
export function nodeConditions(status: unknown): NodeCondition[] {
  const c = isObject(status) ? status.conditions : undefined;
  return Array.isArray(c) ? (c.filter(isObject) as unknown as NodeCondition[]) : [];
}
