/**
 * The Recreate strategy (upstream recreate.go): scale every old ReplicaSet to
 * 0, wait until none of their pods is left running (terminating pods count),
 * and only then create/scale up the new ReplicaSet.
 */
import type { KObject } from '../../api/types.js';
import { podPhase } from '../util/pods.js';
import { deploymentComplete } from './progress.js';
import { cleanupDeployment, type RolloutOps, scaleReplicaSetAndRecordEvent } from './sync.js';
import { activeReplicaSets, actualReplicaCount, deploymentStatus, specReplicas } from './util.js';

/** Pods of the Deployment grouped by the uid of their ReplicaSet. */
export type PodMap = Map<string, KObject[]>;

/**
 * Old ReplicaSets still report replicas, or some pod outside the new
 * ReplicaSet is not Succeeded/Failed (upstream oldPodsRunning).
 */
export function oldPodsRunning(
  newRS: KObject | undefined,
  oldRSs: readonly KObject[],
  podMap: PodMap,
): boolean {
  if (actualReplicaCount(oldRSs) > 0) return true;
  for (const [uid, pods] of podMap) {
    if (newRS && newRS.metadata.uid === uid) continue;
    for (const pod of pods) {
      const phase = podPhase(pod);
      if (phase === 'Failed' || phase === 'Succeeded') continue;
      return true;
    }
  }
  return false;
}

/** One Recreate pass (upstream rolloutRecreate). */
export async function rolloutRecreate(
  ops: RolloutOps,
  d: KObject,
  rsList: KObject[],
  podMap: PodMap,
): Promise<void> {
  // The new ReplicaSet is not created yet, so nothing scales up before the old pods are gone.
  let { newRS, oldRSs } = await ops.getAllReplicaSetsAndSyncRevision(d, rsList, false);
  let allRSs: Array<KObject | undefined> = [...oldRSs, newRS];
  const active = activeReplicaSets(oldRSs);
  let scaledDown = false;
  for (const rs of active) {
    if (specReplicas(rs) === 0) continue;
    if ((await scaleReplicaSetAndRecordEvent(ops, rs, 0, d)).scaled) scaledDown = true;
  }
  if (scaledDown) {
    await ops.syncRolloutStatus(allRSs, newRS, d);
    return;
  }
  if (oldPodsRunning(newRS, oldRSs, podMap)) {
    await ops.syncRolloutStatus(allRSs, newRS, d);
    return;
  }
  if (!newRS) {
    ({ newRS, oldRSs } = await ops.getAllReplicaSetsAndSyncRevision(d, rsList, true));
    allRSs = [...oldRSs, newRS];
  }
  if (newRS) await scaleReplicaSetAndRecordEvent(ops, newRS, specReplicas(d), d);
  if (deploymentComplete(d, deploymentStatus(d))) await cleanupDeployment(ops, oldRSs, d);
  await ops.syncRolloutStatus(allRSs, newRS, d);
}
