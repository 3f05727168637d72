/**
 * The Deployment controller, as upstream's pkg/controller/deployment: owns
 * ReplicaSets through controller references (adopting and releasing by
 * selector), creates the new ReplicaSet `<deployment>-<pod-template-hash>` for
 * the current template, rolls out with the RollingUpdate or Recreate strategy,
 * resizes proportionally on scaling events, honours `paused`, keeps revision
 * annotations (so `kubectl rollout undo/history` work: an older ReplicaSet whose
 * template matches again is reused and gets the next revision), prunes history
 * beyond revisionHistoryLimit, and reports status with the Available and
 * Progressing conditions, including the progress deadline.
 *
 * Wiring and cluster writes live here; the decisions live in sync.ts,
 * rolling.ts, recreate.ts, progress.ts and util.ts.
 */
import { isAlreadyExists, isNotFound, isStatusError } from '../../api/errors.js';
import { isObject, type KObject } from '../../api/types.js';
import { type Informer, type InformerFactory, objectKey, splitKey } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import { type Clock, ExponentialRateLimiter, realClock, WorkQueue } from '../../client/workqueue.js';
import { type LabelMatcher, labelSelectorAsMatcher } from '../../machinery/selectors.js';
import { createRecorder, type EventRecorder } from '../events.js';
import { ControllerIndex, canonicalJson } from '../replicaset.js';
import { claimObjects, getControllerOf, newControllerRef } from '../util/controller-ref.js';
import { rfc3339 } from '../util/pods.js';
import { DEPLOYMENTS, PODS, REPLICASETS } from '../util/resources.js';
import { calculateStatus, progressCheckAfterMs, rolloutStatus } from './progress.js';
import { type PodMap, rolloutRecreate } from './recreate.js';
import { rolloutRolling } from './rolling.js';
import { isScalingEvent, type RolloutOps, syncScaleOrPaused, syncStatusOnly } from './sync.js';
import {
  cloneAndAddLabel,
  cloneSelectorAndAddLabel,
  computeHash,
  DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY,
  type DeploymentStatus,
  deploymentStatus,
  deploymentStatusEqual,
  equalIgnoreHash,
  FAILED_RS_CREATE_REASON,
  FOUND_NEW_RS_REASON,
  findNewReplicaSet,
  findOldReplicaSets,
  getDeploymentCondition,
  hasProgressDeadline,
  isPaused,
  maxRevision,
  maxSurge,
  minReadySeconds,
  NEW_RS_REASON,
  newDeploymentCondition,
  newRSNewReplicas,
  normalizeDeploymentStatus,
  PAUSED_DEPLOY_REASON,
  RESUMED_DEPLOY_REASON,
  REVISION_ANNOTATION,
  replicasAnnotationsNeedUpdate,
  selectorSpec,
  setDeploymentCondition,
  setDeploymentRevision,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  specReplicas,
  strategyType,
  TIMED_OUT_REASON,
  templateOf,
} from './util.js';

export const DEPLOYMENT_COMPONENT = 'deployment-controller';

export interface DeploymentControllerOptions {
  clock?: Clock;
  /** Deployments synced in parallel (upstream --concurrent-deployment-syncs, default 5). */
  concurrency?: number;
  recorder?: EventRecorder;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isNamespaceTerminating(err: unknown): boolean {
  return (
    isStatusError(err) && (err.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating')
  );
}

function matcherOf(obj: KObject): LabelMatcher | undefined {
  try {
    return labelSelectorAsMatcher(selectorSpec(obj));
  } catch {
    return undefined;
  }
}

export class DeploymentController implements RolloutOps {
  readonly queue: WorkQueue;
  private readonly clock: Clock;
  private readonly recorder: EventRecorder;
  private readonly deployments: Informer;
  private readonly sets: Informer;
  private readonly pods: Informer;
  private readonly rsIndex = new ControllerIndex();
  private readonly podIndex = new ControllerIndex();
  private readonly unsubscribes: Array<() => void> = [];

  constructor(
    private readonly client: Client,
    informers: InformerFactory,
    opts: DeploymentControllerOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.recorder =
      opts.recorder ??
      createRecorder(client, DEPLOYMENT_COMPONENT, {
        now: () => new Date(this.clock.now()),
        onError: () => undefined,
      });
    this.deployments = informers.forResource(DEPLOYMENTS);
    this.sets = informers.forResource(REPLICASETS);
    this.pods = informers.forResource(PODS);
    this.queue = new WorkQueue((key) => this.sync(key), {
      name: 'deployment',
      concurrency: opts.concurrency ?? 5,
      clock: this.clock,
      rateLimiter: new ExponentialRateLimiter(5, 60_000),
      onError: (key, err) => {
        if (!isStatusError(err)) console.error(`deployment controller: syncing ${key}:`, err);
      },
    });
  }

  start(): void {
    this.unsubscribes.push(
      this.deployments.addEventHandler({
        onAdd: (d) => this.queue.add(objectKey(d)),
        onUpdate: (_old, d) => this.queue.add(objectKey(d)),
        onDelete: (d) => this.queue.add(objectKey(d)),
      }),
      this.sets.addEventHandler({
        onAdd: (rs) => this.addReplicaSet(rs),
        onUpdate: (old, rs) => this.updateReplicaSet(old, rs),
        onDelete: (rs) => {
          this.rsIndex.remove(rs);
          const d = this.resolveControllerRef(rs);
          if (d) this.queue.add(objectKey(d));
        },
      }),
      this.pods.addEventHandler({
        onAdd: (p) => this.podIndex.upsert(p),
        onUpdate: (_old, p) => this.podIndex.upsert(p),
        onDelete: (p) => {
          this.podIndex.remove(p);
          // Recreate waits for old pods to be gone: look again when one goes.
          const d = this.deploymentForPod(p);
          if (d && strategyType(d) === 'Recreate') this.queue.add(objectKey(d));
        },
      }),
    );
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribes.splice(0)) u();
    await this.queue.shutdown();
  }

  // ---- event handlers ---------------------------------------------------------

  private resolveControllerRef(rs: KObject): KObject | undefined {
    const ref = getControllerOf(rs);
    if (ref?.kind !== 'Deployment') return undefined;
    const d = this.deployments.get(rs.metadata.namespace, ref.name);
    return d && d.metadata.uid === ref.uid ? d : undefined;
  }

  private deploymentForPod(pod: KObject): KObject | undefined {
    const ref = getControllerOf(pod);
    if (ref?.kind !== 'ReplicaSet') return undefined;
    const rs = this.sets.get(pod.metadata.namespace, ref.name);
    if (!rs || rs.metadata.uid !== ref.uid) return undefined;
    return this.resolveControllerRef(rs);
  }

  /** Deployments whose (non-empty) selector matches an orphan ReplicaSet (upstream getDeploymentsForReplicaSet). */
  private deploymentsForReplicaSet(rs: KObject): KObject[] {
    const out: KObject[] = [];
    if (!rs.metadata.labels) return out;
    for (const d of this.deployments.list(rs.metadata.namespace)) {
      const m = matcherOf(d);
      if (m && !m.empty && m.matches(rs.metadata.labels)) out.push(d);
    }
    return out;
  }

  private addReplicaSet(rs: KObject): void {
    this.rsIndex.upsert(rs);
    if (getControllerOf(rs)) {
      const d = this.resolveControllerRef(rs);
      if (d) this.queue.add(objectKey(d));
      return;
    }
    if (rs.metadata.deletionTimestamp) return;
    for (const d of this.deploymentsForReplicaSet(rs)) this.queue.add(objectKey(d));
  }

  private updateReplicaSet(old: KObject, cur: KObject): void {
    this.rsIndex.upsert(cur);
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    const curRef = getControllerOf(cur);
    const oldRef = getControllerOf(old);
    const refChanged = curRef?.uid !== oldRef?.uid;
    if (refChanged && oldRef) {
      const d = this.resolveControllerRef(old);
      if (d) this.queue.add(objectKey(d));
    }
    if (curRef) {
      const d = this.resolveControllerRef(cur);
      if (d) this.queue.add(objectKey(d));
      return;
    }
    const labelChanged =
      canonicalJson(old.metadata.labels ?? {}) !== canonicalJson(cur.metadata.labels ?? {});
    if (labelChanged || refChanged)
      for (const d of this.deploymentsForReplicaSet(cur)) this.queue.add(objectKey(d));
  }

  // ---- sync -------------------------------------------------------------------

  private async sync(key: string): Promise<undefined> {
    await Promise.all([this.deployments.waitForSync(), this.sets.waitForSync(), this.pods.waitForSync()]);
    const { namespace, name } = splitKey(key);
    const cached = this.deployments.get(namespace, name);
    if (!cached) return undefined;
    const d = structuredClone(cached);
    const sel = selectorSpec(d);
    if (sel && Object.values(sel).every((v) => v === undefined || v === null)) {
      void this.recorder.event(
        d,
        'Warning',
        'SelectingAll',
        'This deployment is selecting all pods. A non-empty selector is required.',
      );
      const st = deploymentStatus(d);
      if ((st.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        st.observedGeneration = d.metadata.generation;
        d.status = normalizeDeploymentStatus(st);
        await this.writeStatus(d);
      }
      return undefined;
    }
    const rsList = await this.replicaSetsForDeployment(d);
    if (d.metadata.deletionTimestamp) {
      await syncStatusOnly(this, d, rsList);
      return undefined;
    }
    await this.checkPausedConditions(d);
    if (isPaused(d)) {
      await syncScaleOrPaused(this, d, rsList);
      return undefined;
    }
    if (await isScalingEvent(this, d, rsList)) {
      await syncScaleOrPaused(this, d, rsList);
      return undefined;
    }
    switch (strategyType(d)) {
      case 'Recreate':
        await rolloutRecreate(this, d, rsList, this.podMap(d, rsList));
        return undefined;
      case 'RollingUpdate':
        await rolloutRolling(this, d, rsList);
        return undefined;
      default:
        throw new Error(`unexpected deployment strategy type: ${strategyType(d)}`);
    }
  }

  /** Claims ReplicaSets by selector (upstream getReplicaSetsForDeployment). */
  private async replicaSetsForDeployment(d: KObject): Promise<KObject[]> {
    let selector: LabelMatcher;
    try {
      selector = labelSelectorAsMatcher(selectorSpec(d));
    } catch (e) {
      throw new Error(
        `deployment ${d.metadata.namespace}/${d.metadata.name} has invalid label selector: ${errorMessage(e)}`,
      );
    }
    const candidates = [
      ...this.rsIndex.controlledBy(d.metadata.uid ?? ''),
      ...this.rsIndex.orphansIn(d.metadata.namespace ?? ''),
    ];
    return claimObjects(candidates, {
      client: this.client,
      resource: REPLICASETS,
      owner: d,
      selector,
      canAdopt: async () => {
        const fresh = await this.client.get(DEPLOYMENTS, d.metadata.namespace, d.metadata.name ?? '');
        if (fresh.metadata.uid !== d.metadata.uid) {
          throw new Error(
            `original Deployment ${d.metadata.namespace}/${d.metadata.name} is gone: got uid ${fresh.metadata.uid}, wanted ${d.metadata.uid}`,
          );
        }
        if (fresh.metadata.deletionTimestamp) {
          throw new Error(
            `${d.metadata.namespace}/${d.metadata.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`,
          );
        }
      },
    });
  }

  /** Pods matching the Deployment, by owning ReplicaSet uid (upstream getPodMapForDeployment). */
  private podMap(d: KObject, rsList: readonly KObject[]): PodMap {
    const map: PodMap = new Map();
    const sel = matcherOf(d);
    for (const rs of rsList) {
      const uid = rs.metadata.uid ?? '';
      const pods: KObject[] = [];
      if (sel)
        for (const p of this.podIndex.controlledBy(uid)) if (sel.matches(p.metadata.labels)) pods.push(p);
      map.set(uid, pods);
    }
    return map;
  }

  /** Progressing=Unknown DeploymentPaused/DeploymentResumed on pause changes (upstream checkPausedConditions). */
  private async checkPausedConditions(d: KObject): Promise<void> {
    if (!hasProgressDeadline(d)) return;
    const st = deploymentStatus(d);
    const cond = getDeploymentCondition(st, 'Progressing');
    if (cond?.reason === TIMED_OUT_REASON) return;
    const pausedCondExists = cond?.reason === PAUSED_DEPLOY_REASON;
    const now = rfc3339(this.clock.now());
    if (isPaused(d) && !pausedCondExists) {
      setDeploymentCondition(
        st,
        newDeploymentCondition('Progressing', 'Unknown', PAUSED_DEPLOY_REASON, 'Deployment is paused', now),
      );
    } else if (!isPaused(d) && pausedCondExists) {
      setDeploymentCondition(
        st,
        newDeploymentCondition('Progressing', 'Unknown', RESUMED_DEPLOY_REASON, 'Deployment is resumed', now),
      );
    } else {
      return;
    }
    d.status = normalizeDeploymentStatus(st);
    await this.writeStatus(d);
  }

  // ---- RolloutOps ---------------------------------------------------------------

  async getAllReplicaSetsAndSyncRevision(
    d: KObject,
    rsList: KObject[],
    create: boolean,
  ): Promise<{ newRS: KObject | undefined; oldRSs: KObject[] }> {
    const { all } = findOldReplicaSets(d, rsList);
    const newRS = await this.getNewReplicaSet(d, rsList, all, create);
    return { newRS, oldRSs: all };
  }

  /**
   * upstream getNewReplicaSet: the ReplicaSet whose template matches the
   * Deployment's, with its annotations and revision brought up to date (a
   * matching older ReplicaSet is how a rollback resumes), or — when `create` —
   * a new one `<name>-<hash>`; hash collisions bump status.collisionCount.
   */
  private async getNewReplicaSet(
    d: KObject,
    rsList: KObject[],
    oldRSs: readonly KObject[],
    create: boolean,
  ): Promise<KObject | undefined> {
    const existing = findNewReplicaSet(d, rsList);
    const newRevision = String(maxRevision(oldRSs) + 1);
    const ns = d.metadata.namespace;
    if (existing) {
      const copy = structuredClone(existing);
      const annotationsUpdated = setNewReplicaSetAnnotations(d, copy, newRevision, true);
      const mrs = minReadySeconds(d);
      if (annotationsUpdated || minReadySeconds(copy) !== mrs) {
        const spec = isObject(copy.spec) ? copy.spec : {};
        if (mrs > 0) spec.minReadySeconds = mrs;
        else delete spec.minReadySeconds;
        copy.spec = spec;
        const out = await this.client.update(REPLICASETS, ns, copy);
        const i = rsList.findIndex((r) => r.metadata.uid === out.metadata.uid);
        if (i >= 0) rsList[i] = out;
        return out;
      }
      let needsUpdate = setDeploymentRevision(d, copy.metadata.annotations?.[REVISION_ANNOTATION] ?? '');
      const st = deploymentStatus(d);
      if (hasProgressDeadline(d) && !getDeploymentCondition(st, 'Progressing')) {
        setDeploymentCondition(
          st,
          newDeploymentCondition(
            'Progressing',
            'True',
            FOUND_NEW_RS_REASON,
            `Found new replica set "${copy.metadata.name}"`,
            rfc3339(this.clock.now()),
          ),
        );
        d.status = normalizeDeploymentStatus(st);
        needsUpdate = true;
      }
      if (needsUpdate) await this.writeStatus(d);
      return copy;
    }
    if (!create) return undefined;

    const template = structuredClone(templateOf(d));
    const collisionCount = deploymentStatus(d).collisionCount;
    const hash = computeHash(template, typeof collisionCount === 'number' ? collisionCount : undefined);
    const tmeta = isObject(template.metadata) ? template.metadata : {};
    const labels = cloneAndAddLabel(
      isObject(tmeta.labels) ? (tmeta.labels as Record<string, string>) : undefined,
      DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY,
      hash,
    );
    template.metadata = { ...tmeta, labels };
    const rsName = `${d.metadata.name}-${hash}`;
    const rsSpec: Record<string, unknown> = {
      replicas: 0,
      selector: cloneSelectorAndAddLabel(selectorSpec(d), DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY, hash),
      template,
    };
    if (minReadySeconds(d) > 0) rsSpec.minReadySeconds = minReadySeconds(d);
    const newRS: KObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: rsName,
        namespace: ns,
        ownerReferences: [newControllerRef(d)],
        labels: { ...labels },
      },
      spec: rsSpec,
    };
    const replicas = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
    rsSpec.replicas = replicas;
    setNewReplicaSetAnnotations(d, newRS, newRevision, false);

    let created: KObject;
    let alreadyExists = false;
    try {
      created = await this.client.create(REPLICASETS, ns, newRS);
    } catch (e) {
      if (isAlreadyExists(e)) {
        // A slow cache, or a hash collision with a ReplicaSet of another template.
        alreadyExists = true;
        const rs = this.sets.get(ns, rsName);
        if (!rs) throw e;
        if (getControllerOf(rs)?.uid === d.metadata.uid && equalIgnoreHash(templateOf(d), templateOf(rs))) {
          created = rs;
        } else {
          const st = deploymentStatus(d);
          st.collisionCount = (st.collisionCount ?? 0) + 1;
          d.status = normalizeDeploymentStatus(st);
          await this.writeStatus(d);
          throw e;
        }
      } else if (isNamespaceTerminating(e)) {
        throw e;
      } else {
        const msg = `Failed to create new replica set "${rsName}": ${errorMessage(e)}`;
        if (hasProgressDeadline(d)) {
          const st = deploymentStatus(d);
          setDeploymentCondition(
            st,
            newDeploymentCondition(
              'Progressing',
              'False',
              FAILED_RS_CREATE_REASON,
              msg,
              rfc3339(this.clock.now()),
            ),
          );
          d.status = normalizeDeploymentStatus(st);
          await this.writeStatus(d).catch(() => undefined);
        }
        void this.recorder.event(d, 'Warning', FAILED_RS_CREATE_REASON, msg);
        throw e;
      }
    }
    if (!alreadyExists && replicas > 0) {
      void this.recorder.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`,
      );
    }
    let needsUpdate = setDeploymentRevision(d, newRevision);
    if (!alreadyExists && hasProgressDeadline(d)) {
      const st = deploymentStatus(d);
      setDeploymentCondition(
        st,
        newDeploymentCondition(
          'Progressing',
          'True',
          NEW_RS_REASON,
          `Created new replica set "${created.metadata.name}"`,
          rfc3339(this.clock.now()),
        ),
      );
      d.status = normalizeDeploymentStatus(st);
      needsUpdate = true;
    }
    if (needsUpdate) await this.writeStatus(d);
    return created;
  }

  async scaleReplicaSet(
    rs: KObject,
    newScale: number,
    d: KObject,
    operation: string,
  ): Promise<{ scaled: boolean; rs: KObject }> {
    const desired = specReplicas(d);
    const max = desired + maxSurge(d);
    const oldScale = specReplicas(rs);
    const sizeNeedsUpdate = oldScale !== newScale;
    if (!sizeNeedsUpdate && !replicasAnnotationsNeedUpdate(rs, desired, max)) return { scaled: false, rs };
    const copy = structuredClone(rs);
    copy.spec = { ...(isObject(copy.spec) ? copy.spec : {}), replicas: newScale };
    setReplicasAnnotations(copy, desired, max);
    const out = await this.client.update(REPLICASETS, rs.metadata.namespace, copy);
    if (sizeNeedsUpdate) {
      void this.recorder.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${operation} replica set ${out.metadata.name} from ${oldScale} to ${newScale}`,
      );
    }
    return { scaled: sizeNeedsUpdate, rs: out };
  }

  async deleteReplicaSet(rs: KObject): Promise<void> {
    try {
      await this.client.delete(REPLICASETS, rs.metadata.namespace, rs.metadata.name ?? '');
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async syncRolloutStatus(
    allRSs: Array<KObject | undefined>,
    newRS: KObject | undefined,
    d: KObject,
  ): Promise<void> {
    const now = this.clock.now();
    const next = rolloutStatus(allRSs, newRS, d, now);
    if (deploymentStatusEqual(deploymentStatus(d), next)) {
      this.requeueStuckDeployment(d, next, now);
      return;
    }
    d.status = normalizeDeploymentStatus(next);
    await this.writeStatus(d);
  }

  async syncDeploymentStatus(
    allRSs: Array<KObject | undefined>,
    newRS: KObject | undefined,
    d: KObject,
  ): Promise<void> {
    const next = calculateStatus(allRSs, newRS, d, this.clock.now());
    if (deploymentStatusEqual(deploymentStatus(d), next)) return;
    d.status = normalizeDeploymentStatus(next);
    await this.writeStatus(d);
  }

  /** Schedules the progress-deadline check (upstream requeueStuckDeployment). */
  private requeueStuckDeployment(d: KObject, next: DeploymentStatus, nowMs: number): void {
    const after = progressCheckAfterMs(d, next, nowMs);
    if (after === undefined) return;
    const key = objectKey(d);
    // Almost due: check again right after the deadline; otherwise a second late, against clock skew.
    if (after < 1000) this.queue.addAfter(key, Math.max(1, after + 1));
    else this.queue.addAfter(key, after + 1000);
  }

  /**
   * Writes `d.status` through /status. Upstream's status strategy also keeps
   * annotation changes (the controller stores the revision that way); this API
   * server's /status keeps only status, so a changed revision annotation is
   * written with a merge patch after it.
   */
  private async writeStatus(d: KObject): Promise<void> {
    const out = await this.client.update(DEPLOYMENTS, d.metadata.namespace, d, { subresource: 'status' });
    d.metadata.resourceVersion = out.metadata.resourceVersion;
    const want = d.metadata.annotations?.[REVISION_ANNOTATION];
    if (want !== undefined && out.metadata.annotations?.[REVISION_ANNOTATION] !== want) {
      const patched = await this.client.patch(
        DEPLOYMENTS,
        d.metadata.namespace,
        d.metadata.name ?? '',
        'merge',
        {
          metadata: { uid: d.metadata.uid, annotations: { [REVISION_ANNOTATION]: want } },
        },
      );
      d.metadata.resourceVersion = patched.metadata.resourceVersion;
    }
  }
}
