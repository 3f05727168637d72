/**
 * PV protection (upstream pkg/controller/volume/pvprotection): a volume being
 * deleted keeps its `kubernetes.io/pv-protection` finalizer while it is Bound
 * (the PV controller's status); otherwise the finalizer is removed and the API
 * server deletes it. Volumes not being deleted get the finalizer if they lack
 * it (the registry adds it on create, as upstream's admission plugin).
 */
import { isNotFound } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import type { Informer, InformerFactory } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import type { Clock, WorkQueue } from '../../client/workqueue.js';
import { PVS } from '../util/resources.js';
import { hasFinalizer, PV_PROTECTION_FINALIZER, phaseOf, volumeWorkQueue } from './util.js';

export interface PVProtectionControllerOptions {
  clock?: Clock;
  concurrency?: number;
}

export class PVProtectionController {
  readonly queue: WorkQueue;
  private readonly volumes: Informer;
  private unsubscribe: (() => void) | undefined;
  private synced: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    informers: InformerFactory,
    opts: PVProtectionControllerOptions = {},
  ) {
    this.volumes = informers.forResource(PVS);
    this.queue = volumeWorkQueue('pv-protection', 'pv-protection', (key) => this.sync(key), opts);
  }

  start(): void {
    if (this.synced) return;
    const consider = (v: KObject): void => {
      const deleting = !!v.metadata.deletionTimestamp;
      if (deleting === hasFinalizer(v, PV_PROTECTION_FINALIZER)) this.queue.add(v.metadata.name ?? '');
    };
    this.unsubscribe = this.volumes.addEventHandler({ onAdd: consider, onUpdate: (_o, v) => consider(v) });
    this.synced = this.volumes.waitForSync();
    this.synced.catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.queue.shutdown();
  }

  private async sync(name: string): Promise<undefined> {
    await this.synced;
    const pv = this.volumes.get(undefined, name);
    if (!pv) return undefined;
    const deleting = !!pv.metadata.deletionTimestamp;
    const has = hasFinalizer(pv, PV_PROTECTION_FINALIZER);
    if (deleting && has && phaseOf(pv) !== 'Bound') await this.setFinalizer(pv, false);
    else if (!deleting && !has) await this.setFinalizer(pv, true);
    return undefined;
  }

  private async setFinalizer(pv: KObject, present: boolean): Promise<void> {
    const next = structuredClone(pv);
    const fins = (next.metadata.finalizers ?? []).filter((f) => f !== PV_PROTECTION_FINALIZER);
    if (present) fins.push(PV_PROTECTION_FINALIZER);
    next.metadata.finalizers = fins;
    try {
      await this.client.update(PVS, undefined, next);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
