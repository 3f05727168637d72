/**
 * Deployment reconcile steps shared by both strategies (upstream sync.go):
 * scaling on replica changes (proportionally across ReplicaSets mid-rollout),
 * history cleanup, scaling-event detection and the paused/scaling sync path.
 *
 * The steps talk to the cluster through `RolloutOps` (implemented by the
 * controller, faked in tests), so each decision can be checked on its own.
 */
import type { KObject } from '../../api/types.js';
import {
  activeReplicaSets,
  byRevision,
  bySizeNewer,
  bySizeOlder,
  desiredReplicasAnnotation,
  findActiveOrLatest,
  getProportion,
  isPaused,
  isRollingUpdate,
  isSaturated,
  maxSurge,
  replicaCount,
  revisionHistoryLimit,
  specReplicas,
  statusNum,
} from './util.js';

/** Cluster-facing operations a reconcile step needs. */
export interface RolloutOps {
  /**
   * The new ReplicaSet (created when `create` and missing) and all old ones,
   * with revisions synced (upstream getAllReplicaSetsAndSyncRevision).
   */
  getAllReplicaSetsAndSyncRevision(
    d: KObject,
    rsList: KObject[],
    create: boolean,
  ): Promise<{ newRS: KObject | undefined; oldRSs: KObject[] }>;
  /**
   * Sets the ReplicaSet's replicas and replica annotations when either differs,
   * recording a ScalingReplicaSet event when the size changed (upstream
   * scaleReplicaSet). Returns the ReplicaSet as written.
   */
  scaleReplicaSet(
    rs: KObject,
    newScale: number,
    d: KObject,
    operation: string,
  ): Promise<{ scaled: boolean; rs: KObject }>;
  deleteReplicaSet(rs: KObject): Promise<void>;
  /** Writes the rollout status (counts, Available, Progressing, ReplicaFailure) if it changed. */
  syncRolloutStatus(
    allRSs: Array<KObject | undefined>,
    newRS: KObject | undefined,
    d: KObject,
  ): Promise<void>;
  /** Writes the plain status (counts, Available) if it changed. */
  syncDeploymentStatus(
    allRSs: Array<KObject | undefined>,
    newRS: KObject | undefined,
    d: KObject,
  ): Promise<void>;
}

/** upstream scaleReplicaSetAndRecordEvent: nothing to do when the size already matches. */
export async function scaleReplicaSetAndRecordEvent(
  ops: RolloutOps,
  rs: KObject,
  newScale: number,
  d: KObject,
): Promise<{ scaled: boolean; rs: KObject }> {
  const cur = specReplicas(rs);
  if (cur === newScale) return { scaled: false, rs };
  return ops.scaleReplicaSet(rs, newScale, d, cur < newScale ? 'up' : 'down');
}

/**
 * A planned proportional resize (upstream scale(), rolling case): target size
 * per ReplicaSet name, in the order the writes happen.
 */
export function proportionalScalePlan(
  d: KObject,
  newRS: KObject | undefined,
  oldRSs: readonly KObject[],
): { operation: string; sizes: Array<{ rs: KObject; size: number }> } {
  const all = activeReplicaSets([...oldRSs, newRS]);
  const current = replicaCount(all);
  const replicas = specReplicas(d);
  const allowed = replicas > 0 ? replicas + maxSurge(d) : 0;
  // Replicas to spread over the active ReplicaSets (negative: to remove).
  const toAdd = allowed - current;
  let operation = '';
  if (toAdd > 0) {
    all.sort(bySizeNewer);
    operation = 'up';
  } else if (toAdd < 0) {
    all.sort(bySizeOlder);
    operation = 'down';
  }
  let added = 0;
  const sizes = all.map((rs) => {
    if (toAdd === 0) return { rs, size: specReplicas(rs) };
    const p = getProportion(rs, d, toAdd, added);
    added += p;
    return { rs, size: specReplicas(rs) + p };
  });
  const first = sizes[0];
  if (first && toAdd !== 0) {
    // Leftovers go to the largest ReplicaSet.
    first.size = Math.max(0, first.size + toAdd - added);
  }
  return { operation, sizes };
}

/**
 * upstream scale(): brings the ReplicaSets in line with spec.replicas outside
 * of a rollout step — the single active (or newest) ReplicaSet takes it all;
 * a saturated new ReplicaSet scales the old ones to 0; mid-rollout
 * (RollingUpdate) the change is spread proportionally.
 */
export async function scale(
  ops: RolloutOps,
  d: KObject,
  newRS: KObject | undefined,
  oldRSs: readonly KObject[],
): Promise<void> {
  const replicas = specReplicas(d);
  const single = findActiveOrLatest(newRS, oldRSs);
  if (single) {
    if (specReplicas(single) === replicas) return;
    await scaleReplicaSetAndRecordEvent(ops, single, replicas, d);
    return;
  }
  if (isSaturated(d, newRS)) {
    for (const old of activeReplicaSets(oldRSs)) await scaleReplicaSetAndRecordEvent(ops, old, 0, d);
    return;
  }
  if (isRollingUpdate(d)) {
    const plan = proportionalScalePlan(d, newRS, oldRSs);
    for (const { rs, size } of plan.sizes) await ops.scaleReplicaSet(rs, size, d, plan.operation);
  }
}

/**
 * upstream cleanupDeployment: deletes the oldest old ReplicaSets beyond
 * revisionHistoryLimit, but only ones fully scaled down whose status caught up.
 */
export async function cleanupDeployment(
  ops: RolloutOps,
  oldRSs: readonly KObject[],
  d: KObject,
): Promise<void> {
  const limit = revisionHistoryLimit(d);
  if (limit === undefined) return;
  const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
  const diff = cleanable.length - limit;
  if (diff <= 0) return;
  cleanable.sort(byRevision);
  for (let i = 0; i < diff; i++) {
    const rs = cleanable[i];
    if (!rs) break;
    if (
      statusNum(rs, 'replicas') !== 0 ||
      specReplicas(rs) !== 0 ||
      (rs.metadata.generation ?? 0) > statusNum(rs, 'observedGeneration') ||
      rs.metadata.deletionTimestamp
    )
      continue;
    await ops.deleteReplicaSet(rs);
  }
}

/**
 * upstream isScalingEvent: some active ReplicaSet was sized for a different
 * spec.replicas (its desired-replicas annotation disagrees).
 */
export async function isScalingEvent(ops: RolloutOps, d: KObject, rsList: KObject[]): Promise<boolean> {
  const { newRS, oldRSs } = await ops.getAllReplicaSetsAndSyncRevision(d, rsList, false);
  for (const rs of activeReplicaSets([...oldRSs, newRS])) {
    const desired = desiredReplicasAnnotation(rs);
    if (desired === undefined) continue;
    if (desired !== specReplicas(d)) return true;
  }
  return false;
}

/** upstream sync(): scaling events and paused Deployments — resize, clean up when paused, write status. */
export async function syncScaleOrPaused(ops: RolloutOps, d: KObject, rsList: KObject[]): Promise<void> {
  const { newRS, oldRSs } = await ops.getAllReplicaSetsAndSyncRevision(d, rsList, false);
  await scale(ops, d, newRS, oldRSs);
  if (isPaused(d)) await cleanupDeployment(ops, oldRSs, d);
  await ops.syncDeploymentStatus([...oldRSs, newRS], newRS, d);
}

/** upstream syncStatusOnly: a Deployment being deleted only gets its status refreshed. */
export async function syncStatusOnly(ops: RolloutOps, d: KObject, rsList: KObject[]): Promise<void> {
  const { newRS, oldRSs } = await ops.getAllReplicaSetsAndSyncRevision(d, rsList, false);
  await ops.syncDeploymentStatus([...oldRSs, newRS], newRS, d);
}
