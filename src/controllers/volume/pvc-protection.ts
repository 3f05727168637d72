/**
 * PVC protection (upstream pkg/controller/volume/pvcprotection): a claim being
 * deleted keeps its `kubernetes.io/pvc-protection` finalizer while a pod that
 * is scheduled to a node and not finished (phase Succeeded/Failed) uses it;
 * once none does, the finalizer is removed and the API server deletes the
 * claim. Claims not being deleted get the finalizer if they lack it (the
 * registry adds it on create, as upstream's admission plugin; this covers
 * claims created before that).
 *
 * "In use" is decided from the pods informer (indexed by claim) and, when the
 * cache finds no user, confirmed by a live list of the namespace's pods, as
 * upstream does, so a pod the cache has not seen yet still protects the claim.
 */
import { isNotFound } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { type Informer, type InformerFactory, splitKey } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import type { Clock, WorkQueue } from '../../client/workqueue.js';
import { PODS, PVCS } from '../util/resources.js';
import { type PodClaimIndex, podClaimIndex } from './pod-index.js';
import {
  hasFinalizer,
  isPodTerminated,
  keyOf,
  PVC_PROTECTION_FINALIZER,
  podClaimNames,
  specOf,
  str,
  volumeWorkQueue,
} from './util.js';

export interface PVCProtectionControllerOptions {
  clock?: Clock;
  concurrency?: number;
}

/** The pod keeps the claim: scheduled, not finished, and referencing it. */
export function podUsesClaim(pod: KObject, claimName: string): boolean {
  if (!str(specOf(pod).nodeName)) return false;
  if (isPodTerminated(pod)) return false;
  return podClaimNames(pod).includes(claimName);
}

export class PVCProtectionController {
  readonly queue: WorkQueue;
  private readonly claims: Informer;
  private readonly pods: Informer;
  private index: PodClaimIndex | undefined;
  private readonly unsubscribes: Array<() => void> = [];
  private synced: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    informers: InformerFactory,
    opts: PVCProtectionControllerOptions = {},
  ) {
    this.claims = informers.forResource(PVCS);
    this.pods = informers.forResource(PODS);
    this.queue = volumeWorkQueue('pvc-protection', 'pvc-protection', (key) => this.sync(key), opts);
  }

  start(): void {
    if (this.synced) return;
    this.index = podClaimIndex(this.pods);
    const consider = (c: KObject): void => {
      const deleting = !!c.metadata.deletionTimestamp;
      if (deleting === hasFinalizer(c, PVC_PROTECTION_FINALIZER)) this.queue.add(keyOf(c));
    };
    this.unsubscribes.push(
      this.claims.addEventHandler({ onAdd: consider, onUpdate: (_o, c) => consider(c) }),
      this.index.onPodChange((keys) => {
        for (const k of keys) {
          const { namespace, name } = splitKey(k);
          const c = this.claims.get(namespace, name);
          if (c?.metadata.deletionTimestamp) this.queue.add(k);
        }
      }),
    );
    this.synced = Promise.all([this.claims.waitForSync(), this.pods.waitForSync()]).then(() => undefined);
    this.synced.catch(() => undefined);
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribes.splice(0)) u();
    await this.queue.shutdown();
  }

  private async sync(key: string): Promise<undefined> {
    await this.synced;
    const { namespace, name } = splitKey(key);
    const claim = this.claims.get(namespace, name);
    if (!claim) return undefined;
    const deleting = !!claim.metadata.deletionTimestamp;
    const has = hasFinalizer(claim, PVC_PROTECTION_FINALIZER);
    if (deleting && has) {
      if (!(await this.isBeingUsed(claim))) await this.setFinalizer(claim, false);
      return undefined;
    }
    if (!deleting && !has) await this.setFinalizer(claim, true);
    return undefined;
  }

  private async isBeingUsed(claim: KObject): Promise<boolean> {
    const ns = claim.metadata.namespace ?? '';
    const name = claim.metadata.name ?? '';
    for (const p of this.index?.podsUsing(ns, name) ?? []) if (podUsesClaim(p, name)) return true;
    // The cache may not have seen a new pod yet: a live list settles it.
    const list = await this.client.list(PODS, ns);
    return list.items.some((p) => podUsesClaim(p, name));
  }

  private async setFinalizer(claim: KObject, present: boolean): Promise<void> {
    const next = structuredClone(claim);
    const fins = (next.metadata.finalizers ?? []).filter((f) => f !== PVC_PROTECTION_FINALIZER);
    if (present) fins.push(PVC_PROTECTION_FINALIZER);
    next.metadata.finalizers = fins;
    try {
      await this.client.update(PVCS, claim.metadata.namespace, next);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
