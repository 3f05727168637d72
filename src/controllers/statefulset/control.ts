/**
 * The StatefulSet policy (upstream stateful_set_control.go, 1.33, with the
 * MaxUnavailableStatefulSet gate on as in 1.35): given a set, the pods it
 * controls and its revisions, decide what to create, repair and delete, then
 * write status and trim history.
 *
 * Order of one pass:
 * 1. revisions: reuse the newest equal one, renumber an older equal one
 *    (rollback), or create one (collisionCount on name clashes);
 * 2. split pods into in-range slots [start, start+replicas) and condemned
 *    (out of range, highest ordinal first); empty slots get an in-memory pod
 *    at the revision the partition dictates;
 * 3. while the set is being deleted only status is written;
 * 4. each slot through processReplica: OrderedReady sequentially, halting
 *    the pass at the first pod that is missing (created now), terminating,
 *    unready or unavailable; Parallel in slow-start batches;
 * 5. condemned pods: retention ownerRefs, then deletion highest first
 *    (OrderedReady: one per pass, only once everything else is healthy);
 * 6. updates: OnDelete stops here; RollingUpdate deletes outdated pods from
 *    the highest index down to the partition, at most maxUnavailable minus
 *    the unavailable in-range pods at a time;
 * 7. status written to /status when it changed; old revisions truncated.
 */
import { isNotFound } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import {
  AggregateSyncError,
  type RevisionHistory,
  type StatefulPodControl,
  type StatusUpdater,
  throwAggregate,
} from './pod-control.js';
import {
  allowsBurst,
  applyRevision,
  completeRollingUpdate,
  countReplicas,
  descendingOrdinal,
  equalRevision,
  findEqualRevisions,
  getOrdinal,
  getPodRevision,
  getStatefulSetMaxUnavailable,
  identityMatches,
  inconsistentStatus,
  isCreated,
  isFailed,
  isPending,
  isRunningAndAvailable,
  isRunningAndReady,
  isSucceeded,
  isTerminating,
  isUnavailable,
  newRevision,
  newVersionedStatefulSetPod,
  nextRevision,
  podInOrdinalRange,
  readStatus,
  type StatefulSetStatus,
  setView,
  sortControllerRevisions,
  storageMatches,
} from './utils.js';

/** Most replicas one StatefulSet may ask for (each costs a slot in every pass). */
export const MAX_SLOTS = 1_000_000;

/** Most pods created or deleted concurrently by one Parallel pass. */
export const MAX_BATCH_SIZE = 500;

export interface StatefulSetControlOptions {
  /** Current time in ms (availability / minReadySeconds). */
  now?: () => number;
  /** MaxUnavailableStatefulSet feature gate (default on, as in 1.35). */
  maxUnavailableStatefulSet?: boolean;
}

/**
 * Runs `fn(0..n-1)` in batches of 1, 2, 4, … (capped at MAX_BATCH_SIZE),
 * each batch concurrently; stops after the first batch with a failure and
 * throws the batch's errors. Returns how many calls succeeded.
 */
export async function slowStartBatch(
  initialBatchSize: number,
  count: number,
  fn: (i: number) => Promise<unknown>,
): Promise<number> {
  let remaining = count;
  let successes = 0;
  let j = 0;
  for (
    let batch = Math.min(remaining, initialBatchSize);
    batch > 0;
    batch = Math.min(2 * batch, remaining, MAX_BATCH_SIZE)
  ) {
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < batch; i++) calls.push(fn(j++));
    const results = await Promise.allSettled(calls);
    const errs: unknown[] = [];
    for (const r of results) if (r.status === 'rejected') errs.push(r.reason);
    successes += batch - errs.length;
    if (errs.length > 0) throw new AggregateSyncError(errs);
    remaining -= batch;
  }
  return successes;
}

/**
 * OrderedReady ("monotonic"): one at a time, returning true at the first that
 * asks to stop. Parallel: all of them in slow-start batches; a stop request is
 * ignored, errors end the walk.
 */
async function runForAll(
  count: number,
  fn: (i: number) => Promise<boolean>,
  monotonic: boolean,
): Promise<boolean> {
  if (monotonic) {
    for (let i = 0; i < count; i++) if (await fn(i)) return true;
    return false;
  }
  await slowStartBatch(1, count, fn);
  return false;
}

export class StatefulSetControl {
  private readonly now: () => number;
  private readonly maxUnavailableGate: boolean;

  constructor(
    private readonly podControl: StatefulPodControl,
    private readonly history: RevisionHistory,
    private readonly statusUpdater: StatusUpdater,
    opts: StatefulSetControlOptions = {},
  ) {
    this.now = opts.now ?? (() => Date.now());
    this.maxUnavailableGate = opts.maxUnavailableStatefulSet ?? true;
  }

  /**
   * One pass over a set (upstream UpdateStatefulSet): `pods` are the pods the
   * set controls, `revisions` the ControllerRevisions it owns or may adopt.
   * Returns the status it computed (and wrote, if it changed). Throws when any
   * write failed (the caller retries); status is still written when possible,
   * and history is trimmed either way.
   */
  async updateStatefulSet(set: KObject, pods: KObject[], revisionsIn: KObject[]): Promise<StatefulSetStatus> {
    const revisions = sortControllerRevisions([...revisionsIn]);
    const errors: unknown[] = [];
    let current: KObject | undefined;
    let update: KObject | undefined;
    let status: StatefulSetStatus | undefined;
    try {
      const r = await this.getStatefulSetRevisions(set, revisions);
      current = r.current;
      update = r.update;
      const res = await this.syncPods(set, r.current, r.update, r.collisionCount, pods);
      status = res.status;
      if (res.error !== undefined) errors.push(res.error);
      try {
        await this.updateStatefulSetStatus(set, status);
      } catch (err) {
        errors.push(err);
      }
    } catch (err) {
      errors.push(err);
    }
    try {
      await this.truncateHistory(set, pods, revisions, current, update);
    } catch (err) {
      errors.push(err);
    }
    throwAggregate(errors);
    return status as StatefulSetStatus;
  }

  /** The current and update revisions, creating or renumbering one if the template changed. */
  async getStatefulSetRevisions(
    set: KObject,
    sorted: KObject[],
  ): Promise<{ current: KObject; update: KObject; collisionCount: number }> {
    const st = readStatus(set);
    let collisionCount = st.collisionCount;
    let update = newRevision(set, nextRevision(sorted), collisionCount);
    const equal = findEqualRevisions(sorted, update);
    const newest = sorted[sorted.length - 1];
    const lastEqual = equal[equal.length - 1];
    if (lastEqual && equalRevision(newest, lastEqual)) {
      // The newest revision already holds this template.
      update = newest as KObject;
    } else if (lastEqual) {
      // An older revision holds it: a rollback renumbers that one.
      update = await this.history.updateControllerRevision(lastEqual, update.revision as number);
    } else {
      const created = await this.history.createControllerRevision(set, update, collisionCount);
      update = created.revision;
      collisionCount = created.collisionCount;
    }
    const current = sorted.find((r) => r.metadata.name === st.currentRevision) ?? update;
    return { current, update, collisionCount };
  }

  /**
   * Creates, repairs and deletes pods (upstream updateStatefulSet). Returns
   * the status to write and the first error, if any (status is computed
   * either way).
   */
  private async syncPods(
    set: KObject,
    currentRevision: KObject,
    updateRevision: KObject,
    collisionCount: number,
    pods: KObject[],
  ): Promise<{ status: StatefulSetStatus; error?: unknown }> {
    const now = this.now();
    const v = setView(set);
    const currentSet = applyRevision(set, currentRevision);
    const updateSet = applyRevision(set, updateRevision);
    const curName = currentRevision.metadata.name ?? '';
    const updName = updateRevision.metadata.name ?? '';
    const mrs = v.minReadySeconds;

    const status: StatefulSetStatus = {
      observedGeneration: set.metadata.generation ?? 0,
      replicas: 0,
      readyReplicas: 0,
      currentReplicas: 0,
      updatedReplicas: 0,
      availableReplicas: 0,
      currentRevision: curName,
      updateRevision: updName,
      collisionCount,
    };
    countReplicas(status, mrs, now, curName, updName, pods);

    const replicaCount = v.replicas;
    if (replicaCount > MAX_SLOTS) {
      // The API accepts any int32; one slot per replica would exhaust memory long before.
      return {
        status,
        error: new Error(
          `replicas ${replicaCount} exceeds the ${MAX_SLOTS} replicas per StatefulSet Ordinal supports`,
        ),
      };
    }
    const replicas: (KObject | undefined)[] = new Array(replicaCount).fill(undefined);
    const condemned: KObject[] = [];
    for (const pod of pods) {
      const ord = getOrdinal(pod);
      if (podInOrdinalRange(pod, set)) replicas[ord - v.start] = pod;
      else if (ord >= 0) condemned.push(pod);
      // Unparseable ordinals are ignored.
    }
    for (let idx = 0; idx < replicaCount; idx++) {
      if (!replicas[idx]) {
        replicas[idx] = newVersionedStatefulSetPod(currentSet, updateSet, curName, updName, v.start + idx);
      }
    }
    const slots = replicas as KObject[];
    condemned.sort(descendingOrdinal);

    // The first unavailable pod: lowest slot, else lowest-ordinal condemned pod.
    let firstUnhealthyPod: KObject | undefined;
    for (const pod of slots) {
      if (isUnavailable(pod, mrs, now)) {
        firstUnhealthyPod = pod;
        break;
      }
    }
    if (!firstUnhealthyPod) {
      for (let i = condemned.length - 1; i >= 0; i--) {
        const pod = condemned[i] as KObject;
        if (isUnavailable(pod, mrs, now)) {
          firstUnhealthyPod = pod;
          break;
        }
      }
    }

    // A set being deleted only gets its status updated; the garbage collector removes the pods.
    if (set.metadata.deletionTimestamp) return { status };

    const monotonic = !allowsBurst(set);
    const finish = (error?: unknown): { status: StatefulSetStatus; error?: unknown } => {
      countReplicas(status, mrs, now, curName, updName, slots, condemned);
      return error === undefined ? { status } : { status, error };
    };

    try {
      const processReplica = (i: number) => this.processReplica(set, updateSet, monotonic, slots, i, now);
      if (await runForAll(slots.length, processReplica, monotonic)) return finish();

      // Claims of condemned pods get the ownerRefs the retention policy wants (e.g. a pod ref for whenScaled=Delete).
      const fixPodClaim = async (i: number): Promise<boolean> => {
        const pod = condemned[i] as KObject;
        if (!this.podControl.claimsMatchRetentionPolicy(updateSet, pod)) {
          await this.podControl.updatePodClaimForRetentionPolicy(updateSet, pod);
        }
        return false;
      };
      if (await runForAll(condemned.length, fixPodClaim, monotonic)) return finish();

      // Scale down (before any update): highest ordinal first.
      const processCondemned = (i: number) =>
        this.processCondemned(set, firstUnhealthyPod, monotonic, condemned, i, now);
      if (await runForAll(condemned.length, processCondemned, monotonic)) return finish();
    } catch (err) {
      return finish(err);
    }

    countReplicas(status, mrs, now, curName, updName, slots, condemned);

    if (v.updateType === 'OnDelete') return { status };

    try {
      if (this.maxUnavailableGate) await this.rollMaxUnavailable(set, slots, updName, status, now);
      else await this.rollOneAtATime(set, slots, updName, status, now);
    } catch (err) {
      return { status, error: err };
    }
    return { status };
  }

  /** One slot (upstream processReplica); true means "stop here" (OrderedReady honours it). */
  private async processReplica(
    set: KObject,
    updateSet: KObject,
    monotonic: boolean,
    slots: KObject[],
    i: number,
    now: number,
  ): Promise<boolean> {
    const pod = slots[i] as KObject;
    const mrs = setView(set).minReadySeconds;
    // Failed or Succeeded (evicted, node rebooted, …): delete; the same name is recreated on a later pass.
    if (isFailed(pod) || isSucceeded(pod)) {
      if (!isTerminating(pod)) await this.podControl.deleteStatefulPod(set, pod);
      return true;
    }
    if (!isCreated(pod)) {
      // A claim still owned by an earlier pod of this name (whenScaled=Delete) waits for the garbage collector.
      if (this.podControl.podClaimIsStale(set, pod)) return true;
      await this.podControl.createStatefulPod(set, pod);
      if (monotonic) return true;
      // Parallel: the pod was just created from the template, its identity and claims are in place.
      return false;
    }
    if (isPending(pod)) await this.podControl.createMissingPersistentVolumeClaims(set, pod);
    if (monotonic) {
      // Every predecessor must be Running, Ready and Available before anything else happens.
      if (isTerminating(pod)) return true;
      if (!isRunningAndReady(pod)) return true;
      if (!isRunningAndAvailable(pod, mrs, now)) return true;
    }
    const retentionMatch = this.podControl.claimsMatchRetentionPolicy(updateSet, pod);
    if (identityMatches(set, pod) && storageMatches(set, pod) && retentionMatch) return false;
    await this.podControl.updateStatefulPod(updateSet, pod);
    return false;
  }

  /** One condemned pod (upstream processCondemned); deletes it unless OrderedReady must wait. */
  private async processCondemned(
    set: KObject,
    firstUnhealthyPod: KObject | undefined,
    monotonic: boolean,
    condemned: KObject[],
    i: number,
    now: number,
  ): Promise<boolean> {
    const pod = condemned[i] as KObject;
    const mrs = setView(set).minReadySeconds;
    if (isTerminating(pod)) return monotonic;
    if (monotonic && pod !== firstUnhealthyPod) {
      if (!isRunningAndReady(pod)) return true;
      if (!isRunningAndAvailable(pod, mrs, now)) return true;
    }
    await this.podControl.deleteStatefulPod(set, pod);
    return true;
  }

  /**
   * RollingUpdate with MaxUnavailableStatefulSet: count unavailable in-range
   * pods (below the partition too); delete up to maxUnavailable minus that many
   * outdated, non-terminating pods from the highest index down to the partition.
   */
  private async rollMaxUnavailable(
    set: KObject,
    slots: KObject[],
    updateRevision: string,
    status: StatefulSetStatus,
    now: number,
  ): Promise<void> {
    const v = setView(set);
    let updateMin = 0;
    let maxUnavailable = 1;
    if (v.rollingUpdate) {
      updateMin = v.rollingUpdate.partition;
      maxUnavailable = getStatefulSetMaxUnavailable(v.rollingUpdate.maxUnavailable, v.replicas);
    }
    let unavailable = 0;
    for (const pod of slots) if (isUnavailable(pod, v.minReadySeconds, now)) unavailable++;
    if (unavailable >= maxUnavailable) return;
    const podsToDelete = maxUnavailable - unavailable;
    let deleted = 0;
    for (let target = slots.length - 1; target >= updateMin && deleted < podsToDelete; target--) {
      if (await this.deleteIfOutdated(set, slots[target] as KObject, updateRevision, status)) deleted++;
    }
  }

  /** RollingUpdate without the gate: delete the highest outdated pod, or wait for an unavailable one. */
  private async rollOneAtATime(
    set: KObject,
    slots: KObject[],
    updateRevision: string,
    status: StatefulSetStatus,
    now: number,
  ): Promise<void> {
    const v = setView(set);
    const updateMin = v.rollingUpdate ? v.rollingUpdate.partition : 0;
    for (let target = slots.length - 1; target >= updateMin; target--) {
      const pod = slots[target] as KObject;
      if (await this.deleteIfOutdated(set, pod, updateRevision, status)) return;
      if (isUnavailable(pod, v.minReadySeconds, now)) return;
    }
  }

  /**
   * Deletes a pod of an older revision that is not already terminating, so
   * that it is recreated at `updateRevision`, and counts it out of
   * currentReplicas; false when the pod is left alone.
   */
  private async deleteIfOutdated(
    set: KObject,
    pod: KObject,
    updateRevision: string,
    status: StatefulSetStatus,
  ): Promise<boolean> {
    if (getPodRevision(pod) === updateRevision || isTerminating(pod)) return false;
    try {
      await this.podControl.deleteStatefulPod(set, pod);
    } catch (err) {
      // Already gone is what we wanted.
      if (!isNotFound(err)) throw err;
    }
    status.currentReplicas = Math.max(0, status.currentReplicas - 1);
    return true;
  }

  /** Completes a finished rollout in `status`, then writes it if it differs from the set's. */
  private async updateStatefulSetStatus(set: KObject, status: StatefulSetStatus): Promise<void> {
    completeRollingUpdate(set, status);
    if (!inconsistentStatus(set, status)) return;
    await this.statusUpdater.updateStatefulSetStatus(set, status);
  }

  /**
   * Deletes the oldest revisions beyond revisionHistoryLimit that are not live
   * (current, update, or the revision of any pod); a negative limit keeps all.
   */
  async truncateHistory(
    set: KObject,
    pods: KObject[],
    sortedRevisions: KObject[],
    current: KObject | undefined,
    update: KObject | undefined,
  ): Promise<void> {
    const live = new Set<string>();
    if (current?.metadata.name) live.add(current.metadata.name);
    if (update?.metadata.name) live.add(update.metadata.name);
    for (const pod of pods) live.add(getPodRevision(pod));
    const history = sortedRevisions.filter((r) => !live.has(r.metadata.name ?? ''));
    const limit = setView(set).revisionHistoryLimit;
    if (limit < 0 || history.length <= limit) return;
    for (const rev of history.slice(0, history.length - limit)) {
      await this.history.deleteControllerRevision(rev);
    }
  }
}
