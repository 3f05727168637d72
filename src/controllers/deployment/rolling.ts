/**
 * The RollingUpdate strategy (upstream rolling.go): scale the new ReplicaSet
 * up within maxSurge, then old ones down within maxUnavailable — first their
 * unhealthy replicas, then healthy ones as availability allows — one step
 * per pass; the next pass happens when ReplicaSet status moves.
 */
import type { KObject } from '../../api/types.js';
import { deploymentComplete } from './progress.js';
import { cleanupDeployment, type RolloutOps, scaleReplicaSetAndRecordEvent } from './sync.js';
import {
  activeReplicaSets,
  availableReplicaCount,
  byCreationTimestamp,
  deploymentStatus,
  maxUnavailable,
  newRSNewReplicas,
  replicaCount,
  specReplicas,
  statusNum,
} from './util.js';

/** One rolling-update pass (upstream rolloutRolling). */
export async function rolloutRolling(ops: RolloutOps, d: KObject, rsList: KObject[]): Promise<void> {
  const got = await ops.getAllReplicaSetsAndSyncRevision(d, rsList, true);
  const newRS = got.newRS;
  const oldRSs = got.oldRSs;
  if (!newRS) return;
  const allRSs: Array<KObject | undefined> = [...oldRSs, newRS];
  if (await reconcileNewReplicaSet(ops, allRSs, newRS, d)) {
    await ops.syncRolloutStatus(allRSs, newRS, d);
    return;
  }
  if (await reconcileOldReplicaSets(ops, allRSs, activeReplicaSets(oldRSs), newRS, d)) {
    await ops.syncRolloutStatus(allRSs, newRS, d);
    return;
  }
  if (deploymentComplete(d, deploymentStatus(d))) await cleanupDeployment(ops, oldRSs, d);
  await ops.syncRolloutStatus(allRSs, newRS, d);
}

/** Scales the new ReplicaSet toward spec.replicas as far as maxSurge allows (upstream reconcileNewReplicaSet). */
export async function reconcileNewReplicaSet(
  ops: RolloutOps,
  allRSs: ReadonlyArray<KObject | undefined>,
  newRS: KObject,
  d: KObject,
): Promise<boolean> {
  const replicas = specReplicas(d);
  const cur = specReplicas(newRS);
  if (cur === replicas) return false;
  if (cur > replicas) return (await scaleReplicaSetAndRecordEvent(ops, newRS, replicas, d)).scaled;
  const target = newRSNewReplicas(d, allRSs, newRS);
  return (await scaleReplicaSetAndRecordEvent(ops, newRS, target, d)).scaled;
}

/**
 * Scales old ReplicaSets down as far as availability allows (upstream
 * reconcileOldReplicaSets): at most
 * `allPods - (replicas - maxUnavailable) - newRSUnavailable` replicas, unhealthy ones first.
 */
export async function reconcileOldReplicaSets(
  ops: RolloutOps,
  allRSs: ReadonlyArray<KObject | undefined>,
  oldRSs: KObject[],
  newRS: KObject,
  d: KObject,
): Promise<boolean> {
  const oldPods = replicaCount(oldRSs);
  if (oldPods === 0) return false;
  const allPods = replicaCount(allRSs);
  const minAvailable = specReplicas(d) - maxUnavailable(d);
  const newRSUnavailable = specReplicas(newRS) - statusNum(newRS, 'availableReplicas');
  const maxScaledDown = allPods - minAvailable - newRSUnavailable;
  if (maxScaledDown <= 0) return false;
  let cleaned: { oldRSs: KObject[]; count: number };
  try {
    cleaned = await cleanupUnhealthyReplicas(ops, oldRSs, d, maxScaledDown);
  } catch {
    return false;
  }
  let scaledDown: number;
  try {
    scaledDown = await scaleDownOldReplicaSetsForRollingUpdate(
      ops,
      [...cleaned.oldRSs, newRS],
      cleaned.oldRSs,
      d,
    );
  } catch {
    return false;
  }
  return cleaned.count + scaledDown > 0;
}

/**
 * Scales old ReplicaSets down by their unavailable replicas, oldest first, up
 * to `maxCleanup` (upstream cleanupUnhealthyReplicas). Returns the ReplicaSets
 * as written and how many replicas were removed.
 */
export async function cleanupUnhealthyReplicas(
  ops: RolloutOps,
  oldRSs: KObject[],
  d: KObject,
  maxCleanup: number,
): Promise<{ oldRSs: KObject[]; count: number }> {
  const sorted = [...oldRSs].sort(byCreationTimestamp);
  let total = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (total >= maxCleanup) break;
    const rs = sorted[i];
    if (!rs) continue;
    const replicas = specReplicas(rs);
    const available = statusNum(rs, 'availableReplicas');
    if (replicas === 0 || replicas === available) continue;
    const count = Math.min(maxCleanup - total, replicas - available);
    const target = replicas - count;
    if (target > replicas) {
      throw new Error(
        `when cleaning up unhealthy replicas, got invalid request to scale down ${rs.metadata.namespace}/${rs.metadata.name} ${replicas} -> ${target}`,
      );
    }
    const res = await scaleReplicaSetAndRecordEvent(ops, rs, target, d);
    total += count;
    sorted[i] = res.rs;
  }
  return { oldRSs: sorted, count: total };
}

/**
 * Scales old ReplicaSets down, oldest first, while available pods stay at
 * least replicas - maxUnavailable (upstream scaleDownOldReplicaSetsForRollingUpdate).
 */
export async function scaleDownOldReplicaSetsForRollingUpdate(
  ops: RolloutOps,
  allRSs: ReadonlyArray<KObject | undefined>,
  oldRSs: KObject[],
  d: KObject,
): Promise<number> {
  const minAvailable = specReplicas(d) - maxUnavailable(d);
  const available = availableReplicaCount(allRSs);
  if (available <= minAvailable) return 0;
  const sorted = [...oldRSs].sort(byCreationTimestamp);
  const totalToScaleDown = available - minAvailable;
  let total = 0;
  for (const rs of sorted) {
    if (total >= totalToScaleDown) break;
    const replicas = specReplicas(rs);
    if (replicas === 0) continue;
    const count = Math.min(replicas, totalToScaleDown - total);
    const target = replicas - count;
    if (target > replicas) {
      throw new Error(
        `when scaling down old replica set, got invalid request to scale down ${rs.metadata.namespace}/${rs.metadata.name} ${replicas} -> ${target}`,
      );
    }
    await scaleReplicaSetAndRecordEvent(ops, rs, target, d);
    total += count;
  }
  return total;
}
