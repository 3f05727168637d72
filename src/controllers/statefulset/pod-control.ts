/**
 * Every write the StatefulSet controller makes, and the events it records
 * (upstream stateful_pod_control.go, controller_history.go and
 * stateful_set_status_updater.go).
 *
 * `ObjectManager` is the seam: reads of pods and claims come from informer
 * caches, writes go through the Client. `ClientObjectManager` is the real
 * one; tests substitute an in-memory one. On top of it:
 * - `StatefulPodControl`: pods and their claims (creation order, identity and
 *   storage repair, the PVC retention ownerRefs) with upstream event reasons
 *   and messages;
 * - `RevisionHistory`: ControllerRevision create (with hash-collision retry),
 *   renumber, delete, adopt;
 * - `StatusUpdater`: writes /status, retrying on conflicts.
 */
import { isAlreadyExists, isConflict, isNotFound } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import type { Informer } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import type { LabelMatcher } from '../../machinery/selectors.js';
import type { EventRecorder } from '../events.js';
import { adoptObject, claimObjects, getControllerOf } from '../util/controller-ref.js';
import { CONTROLLERREVISIONS, PODS, PVCS, STATEFULSETS } from '../util/resources.js';
import {
  claimOwnerRefsForPolicy,
  controllerRevisionName,
  getOrdinal,
  getPersistentVolumeClaimName,
  getPersistentVolumeClaims,
  goJson,
  hashRevisionData,
  hasStaleOwnerRef,
  hasUnexpectedController,
  identityMatches,
  isClaimOwnerUpToDate,
  isMemberOf,
  POD_GVK,
  RETAIN,
  revisionNumber,
  type StatefulSetStatus,
  setView,
  statusToObject,
  storageMatches,
  updateIdentity,
  updateStorage,
} from './utils.js';

/** Conflict retries for read-modify-write loops (client-go retry.DefaultRetry has 5 steps). */
const MAX_RETRIES = 5;

/** Reads (from caches) and writes (through the API) of the objects a StatefulSet manages. */
export interface ObjectManager {
  createPod(pod: KObject): Promise<KObject>;
  /** The cached pod, if any. */
  getPod(namespace: string, name: string): KObject | undefined;
  /** The pod as the API has it now (for conflict retries). */
  fetchPod(namespace: string, name: string): Promise<KObject>;
  updatePod(pod: KObject): Promise<KObject>;
  deletePod(pod: KObject): Promise<void>;
  createClaim(claim: KObject): Promise<KObject>;
  /** The cached claim, if any. */
  getClaim(namespace: string, name: string): KObject | undefined;
  updateClaim(claim: KObject): Promise<KObject>;
  createRevision(rev: KObject): Promise<KObject>;
  fetchRevision(namespace: string, name: string): Promise<KObject>;
  updateRevision(rev: KObject): Promise<KObject>;
  deleteRevision(rev: KObject): Promise<void>;
  /** Adds a controller ref to `set` (SMP with the revision's uid as precondition). */
  adoptRevision(set: KObject, rev: KObject): Promise<KObject>;
  /** The set as the API has it now. */
  fetchSet(namespace: string, name: string): Promise<KObject>;
  updateSetStatus(set: KObject): Promise<KObject>;
  /**
   * upstream ClaimPods: returns the pods the set controls after adopting
   * matching orphans and releasing owned pods that stopped matching.
   */
  claimPods(
    set: KObject,
    candidates: KObject[],
    selector: LabelMatcher,
    canAdopt: () => Promise<void>,
  ): Promise<KObject[]>;
}

/** ObjectManager over a Client, with pod and claim reads from informer caches. */
export class ClientObjectManager implements ObjectManager {
  constructor(
    private readonly client: Client,
    private readonly pods: Informer,
    private readonly claims: Informer,
  ) {}

  createPod(pod: KObject): Promise<KObject> {
    return this.client.create(PODS, pod.metadata.namespace, pod);
  }
  getPod(namespace: string, name: string): KObject | undefined {
    return this.pods.get(namespace, name);
  }
  fetchPod(namespace: string, name: string): Promise<KObject> {
    return this.client.get(PODS, namespace, name);
  }
  updatePod(pod: KObject): Promise<KObject> {
    return this.client.update(PODS, pod.metadata.namespace, pod);
  }
  async deletePod(pod: KObject): Promise<void> {
    await this.client.delete(PODS, pod.metadata.namespace, pod.metadata.name ?? '');
  }
  createClaim(claim: KObject): Promise<KObject> {
    return this.client.create(PVCS, claim.metadata.namespace, claim);
  }
  getClaim(namespace: string, name: string): KObject | undefined {
    return this.claims.get(namespace, name);
  }
  updateClaim(claim: KObject): Promise<KObject> {
    return this.client.update(PVCS, claim.metadata.namespace, claim);
  }
  createRevision(rev: KObject): Promise<KObject> {
    return this.client.create(CONTROLLERREVISIONS, rev.metadata.namespace, rev);
  }
  fetchRevision(namespace: string, name: string): Promise<KObject> {
    return this.client.get(CONTROLLERREVISIONS, namespace, name);
  }
  updateRevision(rev: KObject): Promise<KObject> {
    return this.client.update(CONTROLLERREVISIONS, rev.metadata.namespace, rev);
  }
  async deleteRevision(rev: KObject): Promise<void> {
    await this.client.delete(CONTROLLERREVISIONS, rev.metadata.namespace, rev.metadata.name ?? '');
  }
  adoptRevision(set: KObject, rev: KObject): Promise<KObject> {
    return adoptObject(this.client, CONTROLLERREVISIONS, rev, set);
  }
  fetchSet(namespace: string, name: string): Promise<KObject> {
    return this.client.get(STATEFULSETS, namespace, name);
  }
  updateSetStatus(set: KObject): Promise<KObject> {
    return this.client.update(STATEFULSETS, set.metadata.namespace, set, { subresource: 'status' });
  }
  claimPods(
    set: KObject,
    candidates: KObject[],
    selector: LabelMatcher,
    canAdopt: () => Promise<void>,
  ): Promise<KObject[]> {
    return claimObjects(candidates, {
      client: this.client,
      resource: PODS,
      owner: set,
      selector,
      filter: (pod) => isMemberOf(set, pod),
      canAdopt,
    });
  }
}

/** Go's error text for an error value. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Several errors as one (utilerrors.NewAggregate: one error stays itself; more print as "[a, b]"). */
export class AggregateSyncError extends Error {
  constructor(readonly errors: unknown[]) {
    super(errors.length === 1 ? errorText(errors[0]) : `[${errors.map(errorText).join(', ')}]`);
    this.name = 'AggregateSyncError';
  }
}

/** Throws nothing for no errors, the error itself for one, an aggregate for more. */
export function throwAggregate(errors: unknown[]): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateSyncError(errors);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Pods and claims of a StatefulSet, with upstream's events. */
export class StatefulPodControl {
  constructor(
    readonly objects: ObjectManager,
    private readonly recorder: EventRecorder,
  ) {}

  /** Creates the pod's claims, then the pod, then sets the claims' retention ownerRefs. */
  async createStatefulPod(set: KObject, pod: KObject): Promise<void> {
    try {
      await this.createPersistentVolumeClaims(set, pod);
    } catch (err) {
      this.recordPodEvent('create', set, pod, err);
      throw err;
    }
    let created: KObject | undefined;
    let createErr: unknown;
    try {
      created = await this.objects.createPod(pod);
    } catch (err) {
      // A pod that already exists is the cache lagging: retried, without an event.
      if (isAlreadyExists(err)) throw err;
      createErr = err;
    }
    try {
      await this.updatePodClaimForRetentionPolicy(set, created ?? pod);
    } catch (err) {
      this.recordPodEvent('update', set, pod, err);
      throw err;
    }
    this.recordPodEvent('create', set, pod, createErr);
    if (createErr !== undefined) throw createErr;
  }

  /**
   * Repairs a pod's identity (name label, index label), storage (claim
   * volumes, creating missing claims) and its claims' retention ownerRefs,
   * retrying on conflicts with the live pod.
   */
  async updateStatefulPod(set: KObject, podIn: KObject): Promise<void> {
    let pod = structuredClone(podIn);
    let attempted = false;
    let lastErr: unknown;
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      let consistent = true;
      if (!identityMatches(set, pod)) {
        updateIdentity(set, pod);
        consistent = false;
      }
      if (!storageMatches(set, pod)) {
        updateStorage(set, pod);
        consistent = false;
        try {
          await this.createPersistentVolumeClaims(set, pod);
        } catch (err) {
          this.recordPodEvent('update', set, pod, err);
          throw err;
        }
      }
      if (!this.claimsMatchRetentionPolicy(set, pod)) {
        try {
          await this.updatePodClaimForRetentionPolicy(set, pod);
        } catch (err) {
          this.recordPodEvent('update', set, pod, err);
          throw err;
        }
        consistent = false;
      }
      if (consistent) {
        lastErr = undefined;
        break;
      }
      attempted = true;
      try {
        await this.objects.updatePod(pod);
        lastErr = undefined;
        break;
      } catch (err) {
        lastErr = err;
        if (!isConflict(err)) break;
        try {
          pod = await this.objects.fetchPod(pod.metadata.namespace ?? '', pod.metadata.name ?? '');
        } catch (getErr) {
          lastErr = getErr;
          break;
        }
      }
    }
    if (attempted) this.recordPodEvent('update', set, pod, lastErr);
    if (lastErr !== undefined) throw lastErr;
  }

  async deleteStatefulPod(set: KObject, pod: KObject): Promise<void> {
    try {
      await this.objects.deletePod(pod);
    } catch (err) {
      this.recordPodEvent('delete', set, pod, err);
      throw err;
    }
    this.recordPodEvent('delete', set, pod, undefined);
  }

  /** False when one of the pod's (cached) claims has ownerRefs the retention policy disagrees with. */
  claimsMatchRetentionPolicy(set: KObject, pod: KObject): boolean {
    const ordinal = getOrdinal(pod);
    const ns = setView(set).namespace;
    for (const tpl of setView(set).volumeClaimTemplates) {
      const claim = this.objects.getClaim(ns, getPersistentVolumeClaimName(set, tpl, ordinal));
      // A missing claim is picked up on a later pass.
      if (claim && !isClaimOwnerUpToDate(claim, set, pod)) return false;
    }
    return true;
  }

  /** Rewrites the ownerRefs of the pod's claims for the retention policy (ConflictingController when another controller owns one). */
  async updatePodClaimForRetentionPolicy(set: KObject, pod: KObject): Promise<void> {
    const ordinal = getOrdinal(pod);
    const ns = setView(set).namespace;
    for (const tpl of setView(set).volumeClaimTemplates) {
      const claimName = getPersistentVolumeClaimName(set, tpl, ordinal);
      const claim = this.objects.getClaim(ns, claimName);
      if (!claim) continue;
      if (hasUnexpectedController(claim, set, pod)) {
        void this.recorder.event(
          set,
          'Warning',
          'ConflictingController',
          `PersistentVolumeClaim ${claimName} has a conflicting OwnerReference that acts as a manging controller, the retention policy is ignored for this claim`,
        );
      }
      if (isClaimOwnerUpToDate(claim, set, pod)) continue;
      const next = structuredClone(claim);
      const refs = claimOwnerRefsForPolicy(claim, set, pod);
      if (refs.length > 0) next.metadata.ownerReferences = refs;
      else delete next.metadata.ownerReferences;
      try {
        await this.objects.updateClaim(next);
      } catch (err) {
        throw new Error(
          `could not update claim ${claimName} for delete policy ownerRefs: ${errorText(err)}`,
          {
            cause: err,
          },
        );
      }
    }
  }

  /**
   * With whenScaled=Delete, a claim still owned by an earlier pod of the same
   * name (waiting for the garbage collector) must not be reused yet.
   */
  podClaimIsStale(set: KObject, pod: KObject): boolean {
    if (setView(set).retention.whenScaled === RETAIN) return false;
    for (const claim of getPersistentVolumeClaims(set, pod).values()) {
      const pvc = this.objects.getClaim(claim.metadata.namespace ?? '', claim.metadata.name ?? '');
      if (pvc && hasStaleOwnerRef(pvc, pod, POD_GVK)) return true;
    }
    return false;
  }

  /** For Pending pods: recreate claims that disappeared, then fix their ownerRefs. */
  async createMissingPersistentVolumeClaims(set: KObject, pod: KObject): Promise<void> {
    await this.createPersistentVolumeClaims(set, pod);
    try {
      await this.updatePodClaimForRetentionPolicy(set, pod);
    } catch (err) {
      this.recordPodEvent('update', set, pod, err);
      throw err;
    }
  }

  /**
   * Creates every claim the pod needs that the cache does not have. A claim
   * being deleted blocks the pod (`pvc <name> is being deleted`); AlreadyExists
   * fails the pass (retried) without an event.
   */
  async createPersistentVolumeClaims(set: KObject, pod: KObject): Promise<void> {
    const errs: unknown[] = [];
    for (const claim of getPersistentVolumeClaims(set, pod).values()) {
      const name = claim.metadata.name ?? '';
      const existing = this.objects.getClaim(claim.metadata.namespace ?? '', name);
      if (existing) {
        if (existing.metadata.deletionTimestamp) errs.push(new Error(`pvc ${name} is being deleted`));
        continue;
      }
      try {
        await this.objects.createClaim(claim);
        this.recordClaimEvent('create', set, pod, claim, undefined);
      } catch (err) {
        errs.push(new Error(`failed to create PVC ${name}: ${errorText(err)}`, { cause: err }));
        if (!isAlreadyExists(err)) this.recordClaimEvent('create', set, pod, claim, err);
      }
    }
    throwAggregate(errs);
  }

  private recordPodEvent(verb: string, set: KObject, pod: KObject, err: unknown): void {
    const podName = pod.metadata.name ?? '';
    const setName = set.metadata.name ?? '';
    if (err === undefined) {
      void this.recorder.event(
        set,
        'Normal',
        `Successful${capitalize(verb)}`,
        `${verb} Pod ${podName} in StatefulSet ${setName} successful`,
      );
    } else {
      void this.recorder.event(
        set,
        'Warning',
        `Failed${capitalize(verb)}`,
        `${verb} Pod ${podName} in StatefulSet ${setName} failed error: ${errorText(err)}`,
      );
    }
  }

  private recordClaimEvent(verb: string, set: KObject, pod: KObject, claim: KObject, err: unknown): void {
    const podName = pod.metadata.name ?? '';
    const setName = set.metadata.name ?? '';
    const claimName = claim.metadata.name ?? '';
    if (err === undefined) {
      void this.recorder.event(
        set,
        'Normal',
        `Successful${capitalize(verb)}`,
        `${verb} Claim ${claimName} Pod ${podName} in StatefulSet ${setName} success`,
      );
    } else {
      void this.recorder.event(
        set,
        'Warning',
        `Failed${capitalize(verb)}`,
        `${verb} Claim ${claimName} for Pod ${podName} in StatefulSet ${setName} failed error: ${errorText(err)}`,
      );
    }
  }
}

/** ControllerRevision writes (upstream history.realHistory). */
export class RevisionHistory {
  constructor(private readonly objects: ObjectManager) {}

  /**
   * Creates the revision owned by `set`, named `<set>-<hash(data, collisionCount)>`.
   * When the name is taken by a revision with other data the collision count
   * goes up and the name is recomputed; the same data means it already exists.
   * Returns the stored revision and the (possibly increased) collision count.
   */
  async createControllerRevision(
    set: KObject,
    revision: KObject,
    collisionCount: number,
  ): Promise<{ revision: KObject; collisionCount: number }> {
    let count = collisionCount;
    const clone = structuredClone(revision);
    clone.metadata.namespace = set.metadata.namespace;
    for (;;) {
      clone.metadata.name = controllerRevisionName(
        set.metadata.name ?? '',
        hashRevisionData(revision.data, count),
      );
      try {
        return { revision: await this.objects.createRevision(clone), collisionCount: count };
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        const exists = await this.objects.fetchRevision(clone.metadata.namespace ?? '', clone.metadata.name);
        if (goJson(exists.data) === goJson(clone.data)) return { revision: exists, collisionCount: count };
        count++;
      }
    }
  }

  /** Gives the revision a new number (rollback), retrying on conflicts with the live object. */
  async updateControllerRevision(revision: KObject, newRevision: number): Promise<KObject> {
    let clone = structuredClone(revision);
    for (let attempt = 0; ; attempt++) {
      if (revisionNumber(clone) === newRevision) return clone;
      clone.revision = newRevision;
      try {
        return await this.objects.updateRevision(clone);
      } catch (err) {
        if (!isConflict(err) || attempt + 1 >= MAX_RETRIES) throw err;
        clone = await this.objects.fetchRevision(clone.metadata.namespace ?? '', clone.metadata.name ?? '');
      }
    }
  }

  /** Deletes the revision (already gone is fine). */
  async deleteControllerRevision(revision: KObject): Promise<void> {
    try {
      await this.objects.deleteRevision(revision);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Adds a controller ref to an orphan revision; fails for one someone else controls. */
  async adoptControllerRevision(set: KObject, revision: KObject): Promise<KObject> {
    const owner = getControllerOf(revision);
    if (owner) throw new Error(`attempt to adopt revision owned by ${JSON.stringify(owner)}`);
    return this.objects.adoptRevision(set, revision);
  }
}

/** Writes StatefulSet status (upstream realStatefulSetStatusUpdater). */
export class StatusUpdater {
  constructor(private readonly objects: ObjectManager) {}

  /** Replaces the set's status with `status`, retrying on conflicts with the live set. */
  async updateStatefulSetStatus(setIn: KObject, status: StatefulSetStatus): Promise<KObject> {
    let set = structuredClone(setIn);
    for (let attempt = 0; ; attempt++) {
      set.status = statusToObject(status);
      try {
        return await this.objects.updateSetStatus(set);
      } catch (err) {
        if (!isConflict(err) || attempt + 1 >= MAX_RETRIES) throw err;
        const fresh = await this.objects.fetchSet(set.metadata.namespace ?? '', set.metadata.name ?? '');
        if (fresh.metadata.uid !== setIn.metadata.uid) throw err;
        set = fresh;
      }
    }
  }
}

/** upstream's RecheckDeletionTimestamp over a live read: the set must still be the same and not being deleted. */
export async function recheckSet(objects: ObjectManager, set: KObject): Promise<void> {
  const ns = set.metadata.namespace ?? '';
  const name = set.metadata.name ?? '';
  const fresh = await objects.fetchSet(ns, name);
  if (fresh.metadata.uid !== set.metadata.uid) {
    throw new Error(
      `original StatefulSet ${ns}/${name} is gone: got uid ${fresh.metadata.uid ?? ''}, wanted ${set.metadata.uid ?? ''}`,
    );
  }
  if (fresh.metadata.deletionTimestamp) {
    throw new Error(`${ns}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
  }
}
