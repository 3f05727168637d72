/**
 * Pure pod-state helpers shared by the workload controllers, the endpoints
 * controllers and the node agent (upstream podutil / controller utils).
 * Pods are plain KObjects; none of these functions mutate their argument.
 */
import { isObject, type KObject } from '../../api/types.js';

export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export function podSpec(pod: KObject): Record<string, unknown> {
  return isObject(pod.spec) ? pod.spec : {};
}

export function podStatus(pod: KObject): Record<string, unknown> {
  return isObject(pod.status) ? pod.status : {};
}

/** status.phase, or "" when the pod has none yet. */
export function podPhase(pod: KObject): string {
  const p = podStatus(pod).phase;
  return typeof p === 'string' ? p : '';
}

export function podConditions(pod: KObject): PodCondition[] {
  const c = podStatus(pod).conditions;
  return Array.isArray(c) ? (c.filter(isObject) as unknown as PodCondition[]) : [];
}

export function getPodCondition(pod: KObject, type: string): PodCondition | undefined {
  // Hot path (every controller pass over thousands of pods): no allocation.
  const st = pod.status;
  if (!isObject(st) || !Array.isArray(st.conditions)) return undefined;
  for (const c of st.conditions) {
    if (isObject(c) && c.type === type) return c as unknown as PodCondition;
  }
  return undefined;
}

/** The object has a deletionTimestamp. */
export function isTerminating(obj: KObject): boolean {
  return !!obj.metadata.deletionTimestamp;
}

/** Condition Ready is True (upstream podutil.IsPodReady). */
export function isPodReady(pod: KObject): boolean {
  return getPodCondition(pod, 'Ready')?.status === 'True';
}

export function isRunningAndReady(pod: KObject): boolean {
  return podPhase(pod) === 'Running' && isPodReady(pod);
}

/**
 * Ready for at least `minReadySeconds` at `nowMs` (upstream
 * podutil.IsPodAvailable): with 0 any Ready pod is available; otherwise the
 * Ready condition's lastTransitionTime must be that long ago.
 */
export function isPodAvailable(pod: KObject, minReadySeconds: number, nowMs: number): boolean {
  const c = getPodCondition(pod, 'Ready');
  if (c?.status !== 'True') return false;
  if (minReadySeconds <= 0) return true;
  const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : Number.NaN;
  if (Number.isNaN(t)) return false;
  return t + minReadySeconds * 1000 <= nowMs;
}

/**
 * Milliseconds until a Ready pod becomes available, 0 if it already is, or
 * undefined if it is not Ready (used to requeue after minReadySeconds).
 */
export function msUntilAvailable(pod: KObject, minReadySeconds: number, nowMs: number): number | undefined {
  const c = getPodCondition(pod, 'Ready');
  if (c?.status !== 'True') return undefined;
  if (minReadySeconds <= 0) return 0;
  const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : Number.NaN;
  if (Number.isNaN(t)) return minReadySeconds * 1000;
  return Math.max(0, t + minReadySeconds * 1000 - nowMs);
}

/** Not Succeeded/Failed and not being deleted (upstream controller.IsPodActive). */
export function isPodActive(pod: KObject): boolean {
  const p = podPhase(pod);
  return p !== 'Succeeded' && p !== 'Failed' && !isTerminating(pod);
}

/** Sets (or replaces) one condition in a status object's `conditions`, stamping lastTransitionTime on change. */
export function setCondition(status: Record<string, unknown>, cond: PodCondition, now: string): boolean {
  const list = Array.isArray(status.conditions) ? (status.conditions as PodCondition[]) : [];
  const i = list.findIndex((c) => c.type === cond.type);
  const old = i >= 0 ? list[i] : undefined;
  const next: PodCondition = { ...cond };
  if (old && old.status === cond.status) next.lastTransitionTime = old.lastTransitionTime ?? now;
  else next.lastTransitionTime = cond.lastTransitionTime ?? now;
  if (old && JSON.stringify(old) === JSON.stringify(next)) return false;
  if (i >= 0) list[i] = next;
  else list.push(next);
  status.conditions = list;
  return true;
}

/** RFC 3339 seconds, as the API prints times. */
export function rfc3339(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}
