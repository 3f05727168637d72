/**
 * Which pods use which claims (upstream's PodPVCIndex): "namespace/claim" →
 * pod keys, kept from a pods informer. One index per informer, shared by the
 * PV controller (WaitForPodScheduled events) and the PVC protection
 * controller (claims in use).
 */
import type { KObject } from '../../api/types.js';
import type { Informer } from '../../client/informer.js';
import { podClaimNames } from './util.js';

export class PodClaimIndex {
  /** claim key → pod key → pod. */
  private readonly byClaim = new Map<string, Map<string, KObject>>();
  /** pod key → claim keys it was indexed under. */
  private readonly claimsOfPod = new Map<string, string[]>();
  private readonly listeners: Array<(claimKeys: string[], pod: KObject) => void> = [];

  constructor(private readonly informer: Informer) {
    informer.addEventHandler({
      onAdd: (p) => this.put(p),
      onUpdate: (_old, p) => this.put(p),
      onDelete: (p) => this.remove(p),
    });
  }

  /** Called after a pod using claims was added, changed or deleted (claim keys old and new). */
  onPodChange(fn: (claimKeys: string[], pod: KObject) => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  waitForSync(): Promise<void> {
    return this.informer.waitForSync();
  }

  /** Pods (cached objects: do not mutate) using the claim "namespace/name". */
  podsUsing(namespace: string, claimName: string): KObject[] {
    const m = this.byClaim.get(`${namespace}/${claimName}`);
    return m ? [...m.values()] : [];
  }

  private podKey(p: KObject): string {
    return `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`;
  }

  private put(p: KObject): void {
    const pk = this.podKey(p);
    const ns = p.metadata.namespace ?? '';
    const keys = podClaimNames(p).map((c) => `${ns}/${c}`);
    const old = this.claimsOfPod.get(pk) ?? [];
    for (const k of old) if (!keys.includes(k)) this.unlink(k, pk);
    for (const k of keys) {
      let m = this.byClaim.get(k);
      if (!m) {
        m = new Map();
        this.byClaim.set(k, m);
      }
      m.set(pk, p);
    }
    if (keys.length > 0) this.claimsOfPod.set(pk, keys);
    else this.claimsOfPod.delete(pk);
    const touched = [...new Set([...old, ...keys])];
    if (touched.length > 0) this.notify(touched, p);
  }

  private remove(p: KObject): void {
    const pk = this.podKey(p);
    const old = this.claimsOfPod.get(pk) ?? [];
    for (const k of old) this.unlink(k, pk);
    this.claimsOfPod.delete(pk);
    if (old.length > 0) this.notify(old, p);
  }

  private unlink(claimKey: string, podKey: string): void {
    const m = this.byClaim.get(claimKey);
    if (!m) return;
    m.delete(podKey);
    if (m.size === 0) this.byClaim.delete(claimKey);
  }

  private notify(keys: string[], p: KObject): void {
    for (const l of [...this.listeners]) l(keys, p);
  }
}

const indexes = new WeakMap<Informer, PodClaimIndex>();

/** The shared index for a pods informer (created and wired on first use). */
export function podClaimIndex(pods: Informer): PodClaimIndex {
  let idx = indexes.get(pods);
  if (!idx) {
    idx = new PodClaimIndex(pods);
    indexes.set(pods, idx);
  }
  return idx;
}
