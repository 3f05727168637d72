/**
 * Volume expansion for directory-backed volumes (hostPath, local, nfs: the
 * kinds Ordinal provisions), playing both upstream's external-resizer and the
 * kubelet's online file-system expansion. Directories have no size, so a
 * resize completes at once:
 *
 * 1. the claim is marked in progress (condition Resizing, allocatedResources
 *    = the new request, allocatedResourceStatuses storage =
 *    ControllerResizeInProgress) with a Normal `Resizing` event
 *    "External resizer is resizing volume <pv>";
 * 2. the PV's spec.capacity.storage becomes the request;
 * 3. the claim's status.capacity becomes the request, the resize conditions
 *    and allocatedResourceStatuses entry are cleared (allocatedResources
 *    stays), with a Normal `VolumeResizeSuccessful` "Resize volume succeeded".
 *
 * Upstream's PersistentVolumeClaimResize admission plugin rejects a larger
 * request unless the claim's StorageClass has allowVolumeExpansion: true
 * ("only dynamically provisioned pvc can be resized and the storageclass that
 * provisions the pvc must support resize"). Registry validation cannot read
 * StorageClasses, so the check is here: such a claim gets a Warning
 * `VolumeResizeFailed` event with that message and its status stays as is.
 */
import type { KObject } from '../../api/types.js';
import { type Informer, type InformerFactory, splitKey } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import { type Clock, realClock, type WorkQueue } from '../../client/workqueue.js';
import { createRecorder, type EventRecorder } from '../events.js';
import { rfc3339 } from '../util/pods.js';
import { PVCS, PVS, STORAGECLASSES } from '../util/resources.js';
import {
  capacityOf,
  claimCapacityOf,
  claimClass,
  cmpQuantity,
  keyOf,
  phaseOf,
  rec,
  requestOf,
  requestText,
  specOf,
  str,
  uniqueEventTime,
  volumeWorkQueue,
} from './util.js';

export const EXPAND_COMPONENT = 'volume_expand';
export const RESIZE_FORBIDDEN =
  'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize';

export interface ExpandControllerOptions {
  clock?: Clock;
  recorder?: EventRecorder;
  concurrency?: number;
}

/** A bound claim asking for more than its status.capacity. */
export function needsResize(pvc: KObject): boolean {
  if (phaseOf(pvc) !== 'Bound' || !str(specOf(pvc).volumeName)) return false;
  const want = requestOf(pvc);
  const have = claimCapacityOf(pvc);
  return !!want && !!have && cmpQuantity(want, have) > 0;
}

const DIRECTORY_SOURCES = ['hostPath', 'local', 'nfs'];

export class ExpandController {
  readonly queue: WorkQueue;
  private readonly claims: Informer;
  private readonly volumes: Informer;
  private readonly classes: Informer;
  private readonly clock: Clock;
  private readonly recorder: EventRecorder;
  private readonly unsubscribes: Array<() => void> = [];
  private synced: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    informers: InformerFactory,
    opts: ExpandControllerOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.claims = informers.forResource(PVCS);
    this.volumes = informers.forResource(PVS);
    this.classes = informers.forResource(STORAGECLASSES);
    this.recorder =
      opts.recorder ??
      createRecorder(client, EXPAND_COMPONENT, {
        onError: () => undefined,
        now: uniqueEventTime(this.clock),
      });
    this.queue = volumeWorkQueue('volume-expand', 'volume expand', (key) => this.sync(key), {
      concurrency: opts.concurrency,
      clock: this.clock,
    });
  }

  start(): void {
    if (this.synced) return;
    const consider = (c: KObject): void => {
      if (needsResize(c)) this.queue.add(keyOf(c));
    };
    this.unsubscribes.push(
      this.claims.addEventHandler({ onAdd: consider, onUpdate: (_o, c) => consider(c) }),
      // A class that starts allowing expansion unblocks its waiting claims.
      this.classes.addEventHandler({
        onUpdate: (_o, sc) => {
          if (sc.allowVolumeExpansion !== true) return;
          for (const c of this.claims.list()) if (claimClass(c) === sc.metadata.name) consider(c);
        },
      }),
    );
    const infs = [this.claims, this.volumes, this.classes];
    this.synced = Promise.all(infs.map((i) => i.waitForSync())).then(() => undefined);
    this.synced.catch(() => undefined);
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribes.splice(0)) u();
    await this.queue.shutdown();
  }

  private async sync(key: string): Promise<undefined> {
    await this.synced;
    const { namespace, name } = splitKey(key);
    let claim = this.claims.get(namespace, name);
    if (!claim || !needsResize(claim)) return undefined;
    const clsName = claimClass(claim);
    const cls = clsName ? this.classes.get(undefined, clsName) : undefined;
    if (cls?.allowVolumeExpansion !== true) {
      await this.recorder.event(claim, 'Warning', 'VolumeResizeFailed', RESIZE_FORBIDDEN);
      return undefined;
    }
    const pvName = str(specOf(claim).volumeName);
    let pv = this.volumes.get(undefined, pvName);
    if (!pv) return undefined; // the PV controller reports the claim Lost
    const spec = specOf(pv);
    if (!DIRECTORY_SOURCES.some((s) => spec[s] !== undefined && spec[s] !== null)) return undefined;
    const want = requestText(claim);
    const wantQ = requestOf(claim);
    if (!wantQ) return undefined;

    claim = await this.markInProgress(claim, want);
    await this.recorder.event(claim, 'Normal', 'Resizing', `External resizer is resizing volume ${pvName}`);
    const cap = capacityOf(pv);
    if (!cap || cmpQuantity(cap, wantQ) < 0) {
      const next = structuredClone(pv);
      next.spec = { ...specOf(next), capacity: { ...rec(specOf(next).capacity), storage: want } };
      pv = await this.client.update(PVS, undefined, next);
    }
    await this.markFinished(claim, want);
    await this.recorder.event(claim, 'Normal', 'VolumeResizeSuccessful', 'Resize volume succeeded');
    return undefined;
  }

  private async markInProgress(claim: KObject, size: string): Promise<KObject> {
    const status = { ...rec(claim.status) };
    const conditions = (Array.isArray(status.conditions) ? status.conditions : []).filter(
      (c) => rec(c).type !== 'Resizing' && rec(c).type !== 'FileSystemResizePending',
    );
    conditions.push({
      type: 'Resizing',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: rfc3339(this.clock.now()),
    });
    status.conditions = conditions;
    status.allocatedResources = { ...rec(status.allocatedResources), storage: size };
    status.allocatedResourceStatuses = {
      ...rec(status.allocatedResourceStatuses),
      storage: 'ControllerResizeInProgress',
    };
    const next = structuredClone(claim);
    next.status = status;
    return this.client.update(PVCS, claim.metadata.namespace, next, { subresource: 'status' });
  }

  private async markFinished(claim: KObject, size: string): Promise<KObject> {
    const status = { ...rec(claim.status) };
    status.capacity = { ...rec(status.capacity), storage: size };
    const conditions = (Array.isArray(status.conditions) ? status.conditions : []).filter(
      (c) => rec(c).type !== 'Resizing' && rec(c).type !== 'FileSystemResizePending',
    );
    if (conditions.length > 0) status.conditions = conditions;
    else delete status.conditions;
    const statuses = { ...rec(status.allocatedResourceStatuses) };
    delete statuses.storage;
    if (Object.keys(statuses).length > 0) status.allocatedResourceStatuses = statuses;
    else delete status.allocatedResourceStatuses;
    const next = structuredClone(claim);
    next.status = status;
    return this.client.update(PVCS, claim.metadata.namespace, next, { subresource: 'status' });
  }
}
