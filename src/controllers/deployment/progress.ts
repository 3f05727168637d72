/**
 * Deployment status and progress (upstream sync.go calculateStatus and
 * progress.go): replica counts from the ReplicaSets, the Available condition,
 * and the Progressing condition with its progress deadline. All pure: `nowMs`
 * is passed in.
 */
import type { KObject } from '../../api/types.js';
import { rfc3339 } from '../util/pods.js';
import {
  actualReplicaCount,
  availableReplicaCount,
  type DeploymentCondition,
  type DeploymentStatus,
  deploymentStatus,
  getDeploymentCondition,
  hasProgressDeadline,
  MINIMUM_REPLICAS_AVAILABLE,
  MINIMUM_REPLICAS_UNAVAILABLE,
  maxUnavailable,
  NEW_RS_AVAILABLE_REASON,
  newDeploymentCondition,
  progressDeadlineSeconds,
  RS_UPDATED_REASON,
  readyReplicaCount,
  removeDeploymentCondition,
  replicaCount,
  setDeploymentCondition,
  specReplicas,
  status,
  TIMED_OUT_REASON,
} from './util.js';

type MaybeRS = KObject | undefined;

/**
 * upstream calculateStatus: counts over all ReplicaSets, updatedReplicas from
 * the new one, the current conditions plus Available (true once
 * availableReplicas >= replicas - maxUnavailable).
 */
export function calculateStatus(
  allRSs: readonly MaybeRS[],
  newRS: MaybeRS,
  d: KObject,
  nowMs: number,
): DeploymentStatus {
  const available = availableReplicaCount(allRSs);
  const total = replicaCount(allRSs);
  const unavailable = Math.max(0, total - available);
  const cur = deploymentStatus(d);
  const st: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: actualReplicaCount(allRSs),
    updatedReplicas: actualReplicaCount([newRS]),
    readyReplicas: readyReplicaCount(allRSs),
    availableReplicas: available,
    unavailableReplicas: unavailable,
  };
  if (cur.conditions) st.conditions = cur.conditions.map((c) => ({ ...c }));
  if (typeof cur.collisionCount === 'number') st.collisionCount = cur.collisionCount;
  const now = rfc3339(nowMs);
  if (available >= specReplicas(d) - maxUnavailable(d)) {
    setDeploymentCondition(
      st,
      newDeploymentCondition(
        'Available',
        'True',
        MINIMUM_REPLICAS_AVAILABLE,
        'Deployment has minimum availability.',
        now,
      ),
    );
  } else {
    setDeploymentCondition(
      st,
      newDeploymentCondition(
        'Available',
        'False',
        MINIMUM_REPLICAS_UNAVAILABLE,
        'Deployment does not have minimum availability.',
        now,
      ),
    );
  }
  return st;
}

/** All replicas updated and available, and the latest spec observed (upstream DeploymentComplete). */
export function deploymentComplete(d: KObject, st: DeploymentStatus): boolean {
  const replicas = specReplicas(d);
  return (
    (st.updatedReplicas ?? 0) === replicas &&
    (st.replicas ?? 0) === replicas &&
    (st.availableReplicas ?? 0) === replicas &&
    (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** Any progress between the Deployment's recorded status and `next` (upstream DeploymentProgressing). */
export function deploymentProgressing(d: KObject, next: DeploymentStatus): boolean {
  const old = status(d);
  const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
  const oldOld = n(old.replicas) - n(old.updatedReplicas);
  const newOld = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
  return (
    (next.updatedReplicas ?? 0) > n(old.updatedReplicas) ||
    newOld < oldOld ||
    (next.readyReplicas ?? 0) > n(old.readyReplicas) ||
    (next.availableReplicas ?? 0) > n(old.availableReplicas)
  );
}

function timeMs(t: string | undefined): number {
  const v = t ? Date.parse(t) : Number.NaN;
  return Number.isNaN(v) ? 0 : v;
}

/**
 * upstream DeploymentTimedOut: no progress reported for longer than
 * progressDeadlineSeconds since the Progressing condition's lastUpdateTime.
 */
export function deploymentTimedOut(d: KObject, next: DeploymentStatus, nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const cond = getDeploymentCondition(next, 'Progressing');
  if (!cond) return false;
  if (cond.reason === NEW_RS_AVAILABLE_REASON) return false;
  if (cond.reason === TIMED_OUT_REASON) return true;
  const from = timeMs(cond.lastUpdateTime);
  return from + (progressDeadlineSeconds(d) ?? 0) * 1000 < nowMs;
}

function rsName(rs: MaybeRS): string | undefined {
  return rs?.metadata.name;
}

/**
 * The status syncRolloutStatus writes (upstream progress.go): calculateStatus
 * plus the Progressing condition (NewReplicaSetAvailable once complete,
 * ReplicaSetUpdated on progress, ProgressDeadlineExceeded past the deadline)
 * and ReplicaFailure copied from the ReplicaSets.
 */
export function rolloutStatus(
  allRSs: readonly MaybeRS[],
  newRS: MaybeRS,
  d: KObject,
  nowMs: number,
): DeploymentStatus {
  const st = calculateStatus(allRSs, newRS, d, nowMs);
  const now = rfc3339(nowMs);
  if (!hasProgressDeadline(d)) removeDeploymentCondition(st, 'Progressing');
  const current = getDeploymentCondition(deploymentStatus(d), 'Progressing');
  const isCompleteDeployment =
    st.replicas === st.updatedReplicas && current !== undefined && current.reason === NEW_RS_AVAILABLE_REASON;
  const name = d.metadata.name ?? '';
  if (hasProgressDeadline(d) && !isCompleteDeployment) {
    if (deploymentComplete(d, st)) {
      const msg =
        newRS !== undefined
          ? `ReplicaSet "${rsName(newRS)}" has successfully progressed.`
          : `Deployment "${name}" has successfully progressed.`;
      setDeploymentCondition(
        st,
        newDeploymentCondition('Progressing', 'True', NEW_RS_AVAILABLE_REASON, msg, now),
      );
    } else if (deploymentProgressing(d, st)) {
      const msg =
        newRS !== undefined
          ? `ReplicaSet "${rsName(newRS)}" is progressing.`
          : `Deployment "${name}" is progressing.`;
      const cond = newDeploymentCondition('Progressing', 'True', RS_UPDATED_REASON, msg, now);
      // Progress refreshes lastUpdateTime even with the same reason; a True condition keeps its transition time.
      if (current) {
        if (current.status === 'True') cond.lastTransitionTime = current.lastTransitionTime;
        removeDeploymentCondition(st, 'Progressing');
      }
      setDeploymentCondition(st, cond);
    } else if (deploymentTimedOut(d, st, nowMs)) {
      const msg =
        newRS !== undefined
          ? `ReplicaSet "${rsName(newRS)}" has timed out progressing.`
          : `Deployment "${name}" has timed out progressing.`;
      setDeploymentCondition(st, newDeploymentCondition('Progressing', 'False', TIMED_OUT_REASON, msg, now));
    }
  }
  const failures = replicaFailures(allRSs, newRS);
  const first = failures[0];
  if (first) setDeploymentCondition(st, first);
  else removeDeploymentCondition(st, 'ReplicaFailure');
  return st;
}

interface RSCondition {
  type?: string;
  status?: DeploymentCondition['status'];
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

function rsConditions(rs: KObject): RSCondition[] {
  const c = status(rs).conditions;
  return Array.isArray(c) ? (c as RSCondition[]) : [];
}

function toDeploymentCondition(c: RSCondition): DeploymentCondition {
  return {
    type: c.type ?? '',
    status: c.status ?? 'Unknown',
    lastUpdateTime: c.lastTransitionTime,
    lastTransitionTime: c.lastTransitionTime,
    reason: c.reason,
    message: c.message,
  };
}

/** ReplicaFailure conditions of the new ReplicaSet, else of any ReplicaSet (upstream getReplicaFailures). */
export function replicaFailures(allRSs: readonly MaybeRS[], newRS: MaybeRS): DeploymentCondition[] {
  const out: DeploymentCondition[] = [];
  if (newRS)
    for (const c of rsConditions(newRS)) if (c.type === 'ReplicaFailure') out.push(toDeploymentCondition(c));
  if (out.length > 0) return out;
  for (const rs of allRSs) {
    if (!rs) continue;
    for (const c of rsConditions(rs)) if (c.type === 'ReplicaFailure') out.push(toDeploymentCondition(c));
  }
  return out;
}

/**
 * upstream requeueStuckDeployment: milliseconds until the Deployment must be
 * looked at again for a progress-deadline check, or undefined when no check
 * is needed (no deadline, no Progressing condition, complete, or timed out).
 */
export function progressCheckAfterMs(d: KObject, next: DeploymentStatus, nowMs: number): number | undefined {
  const cur = getDeploymentCondition(deploymentStatus(d), 'Progressing');
  if (!hasProgressDeadline(d) || !cur) return undefined;
  if (deploymentComplete(d, next) || cur.reason === TIMED_OUT_REASON) return undefined;
  return timeMs(cur.lastUpdateTime) + (progressDeadlineSeconds(d) ?? 0) * 1000 - nowMs;
}
