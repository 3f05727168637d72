/**
 * The PersistentVolume controller (component `persistentvolume-controller`),
 * after upstream's pkg/controller/volume/persistentvolume, plus the
 * in-process half of sig-storage-lib-external-provisioner for the built-in
 * provisioners (local-path, nfs-subdir).
 *
 * Claims: bind an unbound claim to its pre-bound volume or to the smallest
 * matching Available volume (capacity, access modes, class, selector, volume
 * mode, node affinity), otherwise ask its StorageClass's provisioner (the
 * storage-provisioner annotations + ExternalProvisioning event) and, for the
 * built-in provisioners, provision `pvc-<uid>` right away. WaitForFirstConsumer
 * claims wait for the scheduler's `volume.kubernetes.io/selected-node`; then
 * only volumes whose node affinity admits that node match (upstream leaves
 * that to the scheduler's volume binder; Ordinal's scheduler only picks the
 * node). Bound claims are checked (Lost when their volume is gone or taken).
 * A claim created without a class while a default class exists gets it at
 * once (upstream's DefaultStorageClass admission, which Ordinal's API server
 * lacks); older classless claims get it retroactively when nothing matches.
 *
 * Volumes: keep the phase (Available/Bound/Released/Failed, with
 * lastPhaseTransitionTime), finish bindings, unbind volumes the controller
 * bound to claims that went elsewhere, and reclaim volumes whose claim is
 * gone: Retain leaves them Released; Delete lets the provisioner that made the
 * volume delete it and then the PV (external provisioners are left to act);
 * a hand-made hostPath volume with Delete loses its PV but keeps its
 * directory (directories are removed only when a provisioner made them),
 * other hand-made volumes become Failed (no deleter, as upstream);
 * Recycle is not supported (Failed).
 *
 * Reads come from informer caches merged with this controller's own writes
 * (FreshCache); writes are optimistic (resourceVersion) and a conflict just
 * re-queues the key. Claims and volumes have separate queues keyed by
 * "namespace/name" and by name.
 */
import { isAlreadyExists, isConflict, isNotFound } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { type Informer, type InformerFactory, splitKey } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import {
  type Clock,
  ExponentialRateLimiter,
  type Result,
  realClock,
  WorkQueue,
} from '../../client/workqueue.js';
import { createRecorder, type EventRecorder, type EventType } from '../events.js';
import { rfc3339 } from '../util/pods.js';
import { NODES, PODS, PVCS, PVS, STORAGECLASSES } from '../util/resources.js';
import { FreshCache } from './cache.js';
import { LocalPathProvisioner } from './local-path.js';
import { NfsSubdirProvisioner } from './nfs-subdir.js';
import { type PodClaimIndex, podClaimIndex } from './pod-index.js';
import { type Provisioner, RescheduleError } from './provisioner.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_PROVISIONED_BY,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  accessModesOf,
  annotationsOf,
  bindingMode,
  capacityOf,
  checkVolumeSatisfyClaim,
  claimCapacityOf,
  claimClass,
  claimHasClass,
  claimReference,
  claimRefKey,
  claimRefOf,
  cmpQuantity,
  defaultClass,
  errorMessage,
  findMatchingVolume,
  hasAnnotation,
  isPodTerminated,
  isVolumeBoundToClaim,
  keyOf,
  type MatchNode,
  nodeLabels,
  phaseOf,
  rec,
  specOf,
  str,
  uniqueEventTime,
  volumeClass,
  volumeModeMismatch,
  volumeModeOf,
} from './util.js';

export const PV_CONTROLLER_COMPONENT = 'persistentvolume-controller';

export interface PersistentVolumeControllerOptions {
  clock?: Clock;
  /** The cluster data directory (local-path volumes live in `<dataDir>/local-path-provisioner`). */
  dataDir: string;
  /** The nfs-subdir share (default `<dataDir>/shared`). */
  sharedDir?: string;
  /** local-path's sharedFileSystemPath (volumes without node affinity); off by default. */
  localPathSharedFileSystemPath?: string;
  /** Replaces the built-in provisioners (tests). */
  provisioners?: Provisioner[];
  /** Recorder for the controller's own events (default: persistentvolume-controller). */
  recorder?: EventRecorder;
  /** Recorder factory for provisioner events (default: one recorder named after each provisioner). */
  provisionerRecorder?: (provisioner: string) => EventRecorder;
  /** Parallel claim and volume passes (default 4 each). */
  concurrency?: number;
}

const WFFC = 'WaitForFirstConsumer';

/** A failure already reported as an event: retried with backoff, not logged again. */
class ReportedError extends Error {}

export class PersistentVolumeController {
  readonly claimQueue: WorkQueue;
  readonly volumeQueue: WorkQueue;
  private readonly clock: Clock;
  private readonly claims: FreshCache;
  private readonly volumes: FreshCache;
  private readonly classes: Informer;
  private readonly nodes: Informer;
  private readonly pods: Informer;
  private podIndex: PodClaimIndex | undefined;
  private readonly provisioners = new Map<string, Provisioner>();
  private readonly recorder: EventRecorder;
  private readonly provisionerRecorders = new Map<string, EventRecorder>();
  private readonly makeProvisionerRecorder: (name: string) => EventRecorder;
  /** claimRef "ns/name" ('' = unclaimed) → PV names; kept over the merged volume view. */
  private readonly volumesByClaim = new Map<string, Set<string>>();
  private readonly claimKeyOfVolume = new Map<string, string>();
  /** Unbound claims that may bind once a volume frees up or a class appears. */
  private readonly pendingClaims = new Set<string>();
  /** Volumes being bound right now → the claim binding them (skipped by other claims). */
  private readonly reserved = new Map<string, string>();
  private readonly unsubscribes: Array<() => void> = [];
  private synced: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    informers: InformerFactory,
    opts: PersistentVolumeControllerOptions,
  ) {
    this.clock = opts.clock ?? realClock;
    this.claims = new FreshCache(informers.forResource(PVCS));
    this.volumes = new FreshCache(informers.forResource(PVS));
    this.classes = informers.forResource(STORAGECLASSES);
    this.nodes = informers.forResource(NODES);
    this.pods = informers.forResource(PODS);
    const provisioners = opts.provisioners ?? [
      new LocalPathProvisioner({
        dataDir: opts.dataDir,
        sharedFileSystemPath: opts.localPathSharedFileSystemPath,
      }),
      new NfsSubdirProvisioner({ sharedDir: opts.sharedDir ?? `${opts.dataDir}/shared` }),
    ];
    for (const p of provisioners) this.provisioners.set(p.name, p);
    const quiet = { onError: () => undefined, now: uniqueEventTime(this.clock) };
    this.recorder = opts.recorder ?? createRecorder(client, PV_CONTROLLER_COMPONENT, quiet);
    this.makeProvisionerRecorder =
      opts.provisionerRecorder ?? ((name) => createRecorder(client, name, quiet));
    const concurrency = opts.concurrency ?? 4;
    const onError = (what: string) => (key: string, err: unknown) => {
      if (!(err instanceof ReportedError) && !isConflict(err) && !isNotFound(err) && !isAlreadyExists(err)) {
        console.error(`persistentvolume-controller: syncing ${what} ${key}: ${errorMessage(err)}`);
      }
    };
    this.claimQueue = new WorkQueue((key) => this.syncClaimKey(key), {
      name: 'claims',
      concurrency,
      clock: this.clock,
      rateLimiter: new ExponentialRateLimiter(10, 300_000),
      onError: onError('claim'),
    });
    this.volumeQueue = new WorkQueue((key) => this.syncVolumeKey(key), {
      name: 'volumes',
      concurrency,
      clock: this.clock,
      rateLimiter: new ExponentialRateLimiter(10, 300_000),
      onError: onError('volume'),
    });
  }

  /** Registers informer handlers; the caller starts the informer factory. */
  start(): void {
    if (this.synced) return;
    // The index listener first: starting replays objects an already running informer holds.
    this.volumes.onChange((_ns, name) => this.reindexVolume(name));
    this.claims.start();
    this.volumes.start();
    this.podIndex = podClaimIndex(this.pods);
    this.unsubscribes.push(
      this.claims.informer.addEventHandler({
        onAdd: (c) => this.claimQueue.add(keyOf(c)),
        onUpdate: (_o, c) => this.claimQueue.add(keyOf(c)),
        onDelete: (c) => this.claimDeleted(c),
      }),
      this.volumes.informer.addEventHandler({
        onAdd: (v) => this.volumeChanged(v),
        onUpdate: (_o, v) => this.volumeChanged(v),
        onDelete: (v) => {
          const ref = claimRefKey(v);
          if (ref) this.claimQueue.add(ref);
        },
      }),
      this.classes.addEventHandler({
        onAdd: () => this.retryPending(),
        onUpdate: () => this.retryPending(),
      }),
      this.nodes.addEventHandler({ onAdd: () => this.retryPending() }),
    );
    const infs = [this.claims.informer, this.volumes.informer, this.classes, this.nodes, this.pods];
    this.synced = Promise.all(infs.map((i) => i.waitForSync())).then(() => undefined);
    this.synced.catch(() => undefined);
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribes.splice(0)) u();
    this.claims.stop();
    this.volumes.stop();
    await Promise.all([this.claimQueue.shutdown(), this.volumeQueue.shutdown()]);
  }

  // ---- wiring --------------------------------------------------------------------

  private claimDeleted(c: KObject): void {
    const key = keyOf(c);
    this.pendingClaims.delete(key);
    const vn = str(specOf(c).volumeName);
    if (vn) this.volumeQueue.add(vn);
    for (const v of this.volumesByClaim.get(key) ?? []) this.volumeQueue.add(v);
  }

  private volumeChanged(v: KObject): void {
    const name = v.metadata.name ?? '';
    this.volumeQueue.add(name);
    if (!claimRefOf(v) && phaseOf(v) === 'Available') this.retryPending();
  }

  private retryPending(): void {
    for (const k of this.pendingClaims) this.claimQueue.add(k);
  }

  private reindexVolume(name: string): void {
    const v = this.volumes.get(undefined, name);
    const old = this.claimKeyOfVolume.get(name);
    const now = v ? claimRefKey(v) : undefined;
    if (old === now) return;
    if (old !== undefined) {
      const s = this.volumesByClaim.get(old);
      s?.delete(name);
      if (s?.size === 0) this.volumesByClaim.delete(old);
    }
    if (now === undefined) {
      this.claimKeyOfVolume.delete(name);
      return;
    }
    this.claimKeyOfVolume.set(name, now);
    let s = this.volumesByClaim.get(now);
    if (!s) {
      s = new Set();
      this.volumesByClaim.set(now, s);
    }
    s.add(name);
  }

  /** Volumes a claim could match: unclaimed ones and those whose claimRef names it. */
  private *candidateVolumes(claimKey: string): Iterable<KObject> {
    for (const k of ['', claimKey]) {
      for (const name of this.volumesByClaim.get(k) ?? []) {
        const v = this.volumes.get(undefined, name);
        if (v) yield v;
      }
    }
  }

  private now(): string {
    return rfc3339(this.clock.now());
  }

  private provisionerRecorder(name: string): EventRecorder {
    let r = this.provisionerRecorders.get(name);
    if (!r) {
      r = this.makeProvisionerRecorder(name);
      this.provisionerRecorders.set(name, r);
    }
    return r;
  }

  private event(obj: KObject, type: EventType, reason: string, message: string): Promise<void> {
    return this.recorder.event(obj, type, reason, message);
  }

  // ---- claims --------------------------------------------------------------------

  private async syncClaimKey(key: string): Promise<Result | undefined> {
    await this.synced;
    const { namespace, name } = splitKey(key);
    const claim = this.claims.get(namespace, name);
    if (!claim) {
      this.pendingClaims.delete(key);
      return undefined;
    }
    if (!hasAnnotation(claim, ANN_BIND_COMPLETED)) {
      await this.syncUnboundClaim(claim);
      return undefined;
    }
    this.pendingClaims.delete(key);
    await this.syncBoundClaim(claim);
    return undefined;
  }

  private async syncUnboundClaim(claim: KObject): Promise<void> {
    const key = keyOf(claim);
    // DefaultStorageClass admission: a claim created while a default class existed gets it.
    if (await this.assignDefaultClass(claim, true)) return;
    const volumeName = str(specOf(claim).volumeName);
    if (volumeName === '') {
      const clsName = claimClass(claim);
      const cls = clsName ? this.classes.get(undefined, clsName) : undefined;
      const delayBinding = cls !== undefined && bindingMode(cls) === WFFC;
      const selected = annotationsOf(claim)[ANN_SELECTED_NODE];
      let node: MatchNode | undefined;
      if (delayBinding && selected)
        node = { name: selected, labels: nodeLabels(selected, this.nodes.get(undefined, selected)) };
      const volume = findMatchingVolume(claim, this.candidateVolumes(key), {
        node,
        delayBinding: delayBinding && !selected,
        skip: (pv) => {
          const r = this.reserved.get(pv.metadata.name ?? '');
          return r !== undefined && r !== key;
        },
      });
      if (!volume) {
        // RetroactiveDefaultStorageClass.
        if (await this.assignDefaultClass(claim, false)) return;
        if (delayBinding && !selected) {
          this.pendingClaims.delete(key);
          await this.emitDelayBindingEvent(claim);
        } else if (clsName !== '') {
          this.pendingClaims.add(key);
          await this.provisionClaim(claim);
          return;
        } else {
          this.pendingClaims.add(key);
          await this.event(
            claim,
            'Normal',
            'FailedBinding',
            'no persistent volumes available for this claim and no storage class is set',
          );
        }
        await this.updateClaimStatus(claim, 'Pending', undefined);
        return;
      }
      this.pendingClaims.delete(key);
      const pvName = volume.metadata.name ?? '';
      this.reserved.set(pvName, key);
      try {
        await this.bind(volume, claim);
      } finally {
        if (this.reserved.get(pvName) === key) this.reserved.delete(pvName);
      }
      return;
    }

    // The user asked for a specific volume.
    const volume = await this.getVolume(volumeName);
    if (!volume) {
      this.pendingClaims.add(key);
      await this.updateClaimStatus(claim, 'Pending', undefined);
      return;
    }
    if (!claimRefOf(volume)) {
      const why = checkVolumeSatisfyClaim(volume, claim);
      if (why) {
        this.pendingClaims.add(key);
        await this.event(
          claim,
          'Warning',
          'VolumeMismatch',
          `Cannot bind to requested volume "${volumeName}": ${why}`,
        );
        await this.updateClaimStatus(claim, 'Pending', undefined);
        return;
      }
      this.pendingClaims.delete(key);
      await this.bind(volume, claim);
      return;
    }
    if (isVolumeBoundToClaim(volume, claim)) {
      this.pendingClaims.delete(key);
      await this.bind(volume, claim);
      return;
    }
    const msg = `volume "${volumeName}" already bound to a different claim.`;
    await this.event(claim, 'Warning', 'FailedBinding', msg);
    if (!hasAnnotation(claim, ANN_BOUND_BY_CONTROLLER)) {
      this.pendingClaims.add(key);
      await this.updateClaimStatus(claim, 'Pending', undefined);
      return;
    }
    throw new Error(
      `invalid binding of claim "${key}" to volume "${volumeName}": volume already claimed by "${claimRefKey(volume)}"`,
    );
  }

  private async syncBoundClaim(claim: KObject): Promise<void> {
    const volumeName = str(specOf(claim).volumeName);
    if (volumeName === '') {
      await this.updateClaimStatusWithEvent(
        claim,
        'Lost',
        'ClaimLost',
        'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!',
      );
      return;
    }
    const volume = await this.getVolume(volumeName);
    if (!volume) {
      await this.updateClaimStatusWithEvent(
        claim,
        'Lost',
        'ClaimLost',
        'Bound claim has lost its PersistentVolume. Data on the volume is lost!',
      );
      return;
    }
    const ref = claimRefOf(volume);
    if (!ref || ref.uid === claim.metadata.uid) {
      await this.bind(volume, claim);
      return;
    }
    await this.updateClaimStatusWithEvent(
      claim,
      'Lost',
      'ClaimMisbound',
      'Two claims are bound to the same volume, this one is bound incorrectly',
    );
  }

  /** A volume from the cache, or from the API server when the cache has not seen it yet. */
  private async getVolume(name: string): Promise<KObject | undefined> {
    const v = this.volumes.get(undefined, name);
    if (v) return v;
    try {
      const fresh = await this.client.get(PVS, undefined, name);
      this.volumes.store(fresh);
      return fresh;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /**
   * Sets the default class on a classless claim. `admission`: only if the
   * class existed when the claim was created (what the admission plugin would
   * have done); otherwise unconditionally (retroactive assignment).
   */
  private async assignDefaultClass(claim: KObject, admission: boolean): Promise<boolean> {
    if (claimHasClass(claim)) return false;
    const def = defaultClass(this.classes.list());
    if (!def) return false;
    if (admission && (def.metadata.creationTimestamp ?? '') > (claim.metadata.creationTimestamp ?? '')) {
      return false;
    }
    const next = structuredClone(claim);
    next.spec = { ...specOf(next), storageClassName: def.metadata.name };
    const out = await this.client.update(PVCS, claim.metadata.namespace, next);
    this.claims.store(out);
    return true;
  }

  /** WaitForFirstConsumer / WaitForPodScheduled (upstream emitEventForUnboundDelayBindingClaim). */
  private async emitDelayBindingEvent(claim: KObject): Promise<void> {
    const ns = claim.metadata.namespace ?? '';
    const waiting = (this.podIndex?.podsUsing(ns, claim.metadata.name ?? '') ?? [])
      .filter((p) => !isPodTerminated(p) && !str(specOf(p).nodeName))
      .map((p) => p.metadata.name ?? '')
      .sort();
    if (waiting.length === 0) {
      await this.event(
        claim,
        'Normal',
        'WaitForFirstConsumer',
        'waiting for first consumer to be created before binding',
      );
      return;
    }
    const msg =
      waiting.length > 1
        ? `waiting for pods ${waiting.join(',')} to be scheduled`
        : `waiting for pod ${waiting[0]} to be scheduled`;
    await this.event(claim, 'Normal', 'WaitForPodScheduled', msg);
  }

  // ---- provisioning ----------------------------------------------------------------

  private async provisionClaim(claim: KObject): Promise<void> {
    const clsName = claimClass(claim);
    const cls = this.classes.get(undefined, clsName);
    if (!cls) {
      await this.event(
        claim,
        'Warning',
        'ProvisioningFailed',
        `storageclass.storage.k8s.io "${clsName}" not found`,
      );
      return;
    }
    const provisionerName = str(cls.provisioner);
    const provisioner = this.provisioners.get(provisionerName);
    if (!provisioner && provisionerName.startsWith('kubernetes.io/')) {
      await this.event(
        claim,
        'Warning',
        'ProvisioningFailed',
        `no volume plugin matched name: ${provisionerName}`,
      );
      return;
    }
    const annotated = await this.setClaimProvisioner(claim, provisionerName);
    await this.event(
      annotated,
      'Normal',
      'ExternalProvisioning',
      `Waiting for a volume to be created either by the external provisioner '${provisionerName}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
    );
    if (provisioner) await this.provisionInProcess(annotated, cls, provisioner);
  }

  private async setClaimProvisioner(claim: KObject, provisioner: string): Promise<KObject> {
    const ann = annotationsOf(claim);
    if (ann[ANN_STORAGE_PROVISIONER] === provisioner) return claim;
    const next = structuredClone(claim);
    next.metadata.annotations = {
      ...ann,
      [ANN_BETA_STORAGE_PROVISIONER]: provisioner,
      [ANN_STORAGE_PROVISIONER]: provisioner,
    };
    const out = await this.client.update(PVCS, claim.metadata.namespace, next);
    this.claims.store(out);
    return out;
  }

  /** The provisioner library's provisionClaimOperation, for a built-in provisioner. */
  private async provisionInProcess(claim: KObject, cls: KObject, p: Provisioner): Promise<void> {
    if (claim.metadata.deletionTimestamp) return;
    const selected = annotationsOf(claim)[ANN_SELECTED_NODE];
    if (bindingMode(cls) === WFFC && !selected) return;
    const pvName = `pvc-${claim.metadata.uid ?? ''}`;
    if (this.volumes.get(undefined, pvName)) return;
    const events = this.provisionerRecorder(p.name);
    if (volumeModeOf(claim) === 'Block' && !p.supportsBlock) {
      await events.event(
        claim,
        'Warning',
        'ProvisioningFailed',
        `${p.name} does not support block volume provisioning`,
      );
      return;
    }
    let selectedNode: MatchNode | undefined;
    if (selected) {
      let node = this.nodes.get(undefined, selected);
      if (!node) {
        try {
          node = await this.client.get(NODES, undefined, selected);
        } catch (e) {
          if (!isNotFound(e)) throw e;
          await events.event(claim, 'Warning', 'ProvisioningFailed', `node "${selected}" not found`);
          await this.rescheduleProvisioning(claim);
          return;
        }
      }
      selectedNode = { name: selected, labels: nodeLabels(selected, node) };
    }
    const key = keyOf(claim);
    await events.event(
      claim,
      'Normal',
      'Provisioning',
      `External provisioner is provisioning volume for claim "${key}"`,
    );
    const clsName = claimClass(claim);
    let pv: KObject;
    try {
      pv = await p.provision({ storageClass: cls, pvName, pvc: claim, selectedNode });
    } catch (e) {
      const msg = `failed to provision volume with StorageClass "${clsName}": ${errorMessage(e)}`;
      await events.event(claim, 'Warning', 'ProvisioningFailed', msg);
      if (e instanceof RescheduleError && selected) {
        await this.rescheduleProvisioning(claim);
        return;
      }
      throw new ReportedError(msg);
    }
    pv.metadata.name = pvName;
    pv.metadata.annotations = { ...(pv.metadata.annotations ?? {}), [ANN_PROVISIONED_BY]: p.name };
    pv.spec = { ...rec(pv.spec), claimRef: claimReference(claim), storageClassName: clsName };
    try {
      const created = await this.client.create(PVS, undefined, pv);
      this.volumes.store(created);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    await events.event(
      claim,
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${pvName} using ${p.name}`,
    );
    this.claimQueue.add(key);
  }

  /** Drops the selected-node annotation so the scheduler picks again. */
  private async rescheduleProvisioning(claim: KObject): Promise<void> {
    if (!hasAnnotation(claim, ANN_SELECTED_NODE)) return;
    const next = structuredClone(claim);
    const ann = { ...annotationsOf(next) };
    delete ann[ANN_SELECTED_NODE];
    next.metadata.annotations = ann;
    const out = await this.client.update(PVCS, claim.metadata.namespace, next);
    this.claims.store(out);
  }

  // ---- binding -------------------------------------------------------------------

  private async bind(volume: KObject, claim: KObject): Promise<void> {
    let v = await this.bindVolumeToClaim(volume, claim);
    v = await this.updateVolumePhase(v, 'Bound', '');
    const c = await this.bindClaimToVolume(claim, v);
    await this.updateClaimStatus(c, 'Bound', v);
  }

  private async bindVolumeToClaim(volume: KObject, claim: KObject): Promise<KObject> {
    const ref = claimRefOf(volume);
    const setBoundByController = !isVolumeBoundToClaim(volume, claim);
    const next = structuredClone(volume);
    let dirty = false;
    if (
      !ref ||
      ref.name !== claim.metadata.name ||
      ref.namespace !== claim.metadata.namespace ||
      ref.uid !== claim.metadata.uid
    ) {
      next.spec = { ...specOf(next), claimRef: claimReference(claim) };
      dirty = true;
    }
    if (setBoundByController && !hasAnnotation(next, ANN_BOUND_BY_CONTROLLER)) {
      next.metadata.annotations = { ...annotationsOf(next), [ANN_BOUND_BY_CONTROLLER]: 'yes' };
      dirty = true;
    }
    if (!dirty) return volume;
    const out = await this.client.update(PVS, undefined, next);
    this.volumes.store(out);
    return out;
  }

  private async bindClaimToVolume(claim: KObject, volume: KObject): Promise<KObject> {
    const next = structuredClone(claim);
    let dirty = false;
    const ann = { ...annotationsOf(next) };
    if (str(specOf(claim).volumeName) !== volume.metadata.name) {
      next.spec = { ...specOf(next), volumeName: volume.metadata.name };
      if (ann[ANN_BOUND_BY_CONTROLLER] === undefined) ann[ANN_BOUND_BY_CONTROLLER] = 'yes';
      dirty = true;
    }
    if (ann[ANN_BIND_COMPLETED] === undefined) {
      ann[ANN_BIND_COMPLETED] = 'yes';
      dirty = true;
    }
    if (!dirty) return claim;
    next.metadata.annotations = ann;
    const out = await this.client.update(PVCS, claim.metadata.namespace, next);
    this.claims.store(out);
    return out;
  }

  private async updateClaimStatus(
    claim: KObject,
    phase: string,
    volume: KObject | undefined,
  ): Promise<KObject> {
    const status = { ...rec(claim.status) };
    let dirty = false;
    if (status.phase !== phase) {
      status.phase = phase;
      dirty = true;
    }
    if (!volume) {
      if (status.accessModes !== undefined) {
        delete status.accessModes;
        dirty = true;
      }
      if (status.capacity !== undefined) {
        delete status.capacity;
        dirty = true;
      }
    } else {
      const modes = accessModesOf(volume);
      if (JSON.stringify(status.accessModes ?? null) !== JSON.stringify(modes)) {
        status.accessModes = [...modes];
        dirty = true;
      }
      // Capacity is copied when the claim becomes Bound, not later (a resize may differ on purpose).
      if (phaseOf(claim) !== phase) {
        const volCap = capacityOf(volume);
        const claimCap = claimCapacityOf(claim);
        if (!volCap)
          throw new Error(`PersistentVolume "${volume.metadata.name}" is without a storage capacity`);
        if (!claimCap || cmpQuantity(volCap, claimCap) !== 0) {
          status.capacity = structuredClone(rec(specOf(volume).capacity));
          dirty = true;
        }
      }
    }
    if (!dirty) return claim;
    const next = structuredClone(claim);
    next.status = status;
    const out = await this.client.update(PVCS, claim.metadata.namespace, next, { subresource: 'status' });
    this.claims.store(out);
    return out;
  }

  private async updateClaimStatusWithEvent(claim: KObject, phase: string, reason: string, message: string) {
    if (phaseOf(claim) === phase) return;
    const out = await this.updateClaimStatus(claim, phase, undefined);
    await this.event(out, 'Warning', reason, message);
  }

  private async updateVolumePhase(volume: KObject, phase: string, message: string): Promise<KObject> {
    if (phaseOf(volume) === phase) return volume;
    const next = structuredClone(volume);
    const status: Record<string, unknown> = {
      ...rec(next.status),
      phase,
      lastPhaseTransitionTime: this.now(),
    };
    if (message) status.message = message;
    else delete status.message;
    next.status = status;
    const out = await this.client.update(PVS, undefined, next, { subresource: 'status' });
    this.volumes.store(out);
    return out;
  }

  private async updateVolumePhaseWithEvent(
    volume: KObject,
    phase: string,
    reason: string,
    message: string,
  ): Promise<KObject> {
    if (phaseOf(volume) === phase) return volume;
    const out = await this.updateVolumePhase(volume, phase, message);
    await this.event(out, 'Warning', reason, message);
    return out;
  }

  // ---- volumes -------------------------------------------------------------------

  private async syncVolumeKey(name: string): Promise<Result | undefined> {
    await this.synced;
    const volume = this.volumes.get(undefined, name);
    if (!volume) return undefined;
    await this.syncVolume(volume);
    return undefined;
  }

  private async claimFromApi(ns: string, name: string): Promise<KObject | undefined> {
    try {
      const c = await this.client.get(PVCS, ns, name);
      this.claims.store(c);
      return c;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private async syncVolume(volume: KObject): Promise<void> {
    const name = volume.metadata.name ?? '';
    const ref = claimRefOf(volume);
    if (!ref?.uid) {
      // Unused, or pre-bound by the user to a claim that has not bound yet.
      await this.updateVolumePhase(volume, 'Available', '');
      if (ref) this.claimQueue.add(claimRefKey(volume));
      return;
    }
    const ns = ref.namespace ?? '';
    const claimName = ref.name ?? '';
    const phase = phaseOf(volume);
    let claim = this.claims.get(ns, claimName);
    if (!claim && phase !== 'Released' && phase !== 'Failed') {
      // The claim may be too new for the cache: ask the API server before releasing anything.
      claim = await this.claimFromApi(ns, claimName);
    }
    if (claim && claim.metadata.uid !== ref.uid) {
      claim = await this.claimFromApi(ns, claimName);
      if (claim && claim.metadata.uid !== ref.uid) claim = undefined;
    }
    if (!claim) {
      let v = volume;
      if (phase !== 'Released' && phase !== 'Failed') v = await this.updateVolumePhase(v, 'Released', '');
      await this.reclaimVolume(v);
      return;
    }
    const claimVolume = str(specOf(claim).volumeName);
    if (claimVolume === '') {
      if (volumeModeMismatch(claim, volume)) {
        await this.event(
          volume,
          'Warning',
          'VolumeMismatch',
          `Cannot bind PersistentVolume to requested PersistentVolumeClaim "${claimName}" due to incompatible volumeMode.`,
        );
        await this.event(
          claim,
          'Warning',
          'VolumeMismatch',
          `Cannot bind PersistentVolume "${name}" to requested PersistentVolumeClaim due to incompatible volumeMode.`,
        );
        return;
      }
      // Binding not finished (or a provisioned volume): the claim's pass completes it.
      this.claimQueue.add(keyOf(claim));
      return;
    }
    if (claimVolume === name) {
      await this.updateVolumePhase(volume, 'Bound', '');
      return;
    }
    // The claim is bound to another volume.
    if (
      hasAnnotation(volume, ANN_PROVISIONED_BY) &&
      str(specOf(volume).persistentVolumeReclaimPolicy) === 'Delete'
    ) {
      let v = volume;
      if (phase !== 'Released' && phase !== 'Failed') v = await this.updateVolumePhase(v, 'Released', '');
      await this.reclaimVolume(v);
      return;
    }
    await this.unbindVolume(volume);
  }

  private async unbindVolume(volume: KObject): Promise<void> {
    const next = structuredClone(volume);
    const spec = { ...specOf(next) };
    if (hasAnnotation(volume, ANN_BOUND_BY_CONTROLLER)) {
      delete spec.claimRef;
      const ann = { ...annotationsOf(next) };
      delete ann[ANN_BOUND_BY_CONTROLLER];
      if (Object.keys(ann).length === 0) delete next.metadata.annotations;
      else next.metadata.annotations = ann;
    } else {
      // Pre-bound by the user: keep the reservation, drop the binding uid.
      const ref = { ...rec(spec.claimRef) };
      delete ref.uid;
      spec.claimRef = ref;
    }
    next.spec = spec;
    const out = await this.client.update(PVS, undefined, next);
    this.volumes.store(out);
    await this.updateVolumePhase(out, 'Available', '');
  }

  private async reclaimVolume(volume: KObject): Promise<void> {
    const policy = str(specOf(volume).persistentVolumeReclaimPolicy);
    switch (policy) {
      case 'Retain':
        return;
      case 'Recycle':
        await this.updateVolumePhaseWithEvent(
          volume,
          'Failed',
          'VolumeFailedRecycle',
          'No recycler plugin found for the volume!',
        );
        return;
      case 'Delete':
        await this.deleteVolumeOperation(volume);
        return;
      default:
        await this.updateVolumePhaseWithEvent(
          volume,
          'Failed',
          'VolumeUnknownReclaimPolicy',
          'Volume has unrecognized PersistentVolumeReclaimPolicy',
        );
    }
  }

  /** The volume's claim is gone (or has another uid), or the claim went to another volume. */
  private isVolumeReleased(volume: KObject): boolean {
    const ref = claimRefOf(volume);
    if (!ref?.uid) return false;
    const claim = this.claims.get(ref.namespace, ref.name ?? '');
    if (claim && claim.metadata.uid === ref.uid) {
      const vn = str(specOf(claim).volumeName);
      return vn !== '' && vn !== volume.metadata.name;
    }
    return true;
  }

  private async deleteVolumeOperation(volume: KObject): Promise<void> {
    const name = volume.metadata.name ?? '';
    let fresh: KObject;
    try {
      fresh = await this.client.get(PVS, undefined, name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    this.volumes.store(fresh);
    if (fresh.metadata.deletionTimestamp) return;
    if (!this.isVolumeReleased(fresh)) return;

    const provisionedBy = annotationsOf(fresh)[ANN_PROVISIONED_BY];
    if (provisionedBy) {
      const p = this.provisioners.get(provisionedBy);
      if (p) {
        await this.deleteProvisioned(fresh, p);
        return;
      }
      // An external provisioner deletes its own volumes.
      if (!provisionedBy.startsWith('kubernetes.io/')) return;
      await this.updateVolumePhaseWithEvent(
        fresh,
        'Failed',
        'VolumeFailedDelete',
        `no volume plugin matched name: ${provisionedBy}`,
      );
      return;
    }
    // Hand-made volume. A hostPath PV is deleted but its directory is kept:
    // Ordinal removes directories only when one of its provisioners created
    // them (upstream's in-tree deleter would `rm -rf` paths under /tmp).
    if (specOf(fresh).hostPath !== undefined && specOf(fresh).hostPath !== null) {
      await this.deletePV(fresh);
      return;
    }
    await this.updateVolumePhaseWithEvent(
      fresh,
      'Failed',
      'VolumeFailedDelete',
      `error getting deleter volume plugin for volume "${name}": no deletable volume plugin matched`,
    );
  }

  /** The provisioner library's deleteVolumeOperation. */
  private async deleteProvisioned(volume: KObject, p: Provisioner): Promise<void> {
    if (phaseOf(volume) !== 'Released') return;
    if (str(specOf(volume).persistentVolumeReclaimPolicy) !== 'Delete') return;
    const className = volumeClass(volume);
    const storageClass = className ? this.classes.get(undefined, className) : undefined;
    try {
      await p.delete(volume, { storageClass, nodeExists: (n) => this.nodeExists(n) });
    } catch (e) {
      await this.provisionerRecorder(p.name).event(volume, 'Warning', 'VolumeFailedDelete', errorMessage(e));
      throw new ReportedError(errorMessage(e));
    }
    await this.deletePV(volume);
  }

  private async deletePV(volume: KObject): Promise<void> {
    try {
      await this.client.delete(PVS, undefined, volume.metadata.name ?? '', {
        preconditions: volume.metadata.uid ? { uid: volume.metadata.uid } : undefined,
      });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }

  private async nodeExists(name: string): Promise<boolean> {
    if (this.nodes.get(undefined, name)) return true;
    try {
      await this.client.get(NODES, undefined, name);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }
}
