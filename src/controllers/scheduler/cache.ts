/**
 * The scheduler cache (upstream internal/cache): NodeInfo per node, kept up to
 * date incrementally from the pod and node informers, plus "assumed" pods the
 * scheduler has decided to bind but the informer has not shown assigned yet.
 * Assumed pods count on their node like any other, so a burst of pods never
 * over-commits a node while the watch lags the bindings.
 */
import type { KObject } from '../../api/types.js';
import { NodeInfo, type PodEntry } from './nodeinfo.js';
import { podInfo } from './podinfo.js';

export function podKey(pod: KObject): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

export class SchedulerCache {
  private readonly infos = new Map<string, NodeInfo>();
  private readonly pods = new Map<string, PodEntry>();
  /** "ns/claim" → pods (assigned or assumed) using the claim. */
  readonly pvcRefs = new Map<string, number>();
  private readonly byNamespace = new Map<string, Set<PodEntry>>();
  /** Pods with required anti-affinity terms. */
  readonly withAntiAffinity = new Set<PodEntry>();
  private sorted: NodeInfo[] | undefined;

  /** Adds or refreshes a node. */
  setNode(node: KObject): NodeInfo {
    const name = node.metadata.name ?? '';
    let info = this.infos.get(name);
    if (!info) {
      info = new NodeInfo(name);
      this.infos.set(name, info);
    }
    if (!info.node) this.sorted = undefined;
    info.setNode(node);
    return info;
  }

  /** Forgets a node; its pods stay accounted until they go away. */
  removeNode(name: string): void {
    const info = this.infos.get(name);
    if (!info) return;
    info.node = undefined;
    this.sorted = undefined;
    if (info.podCount === 0) this.infos.delete(name);
  }

  /** Nodes that exist, by name. */
  nodes(): NodeInfo[] {
    if (!this.sorted) {
      this.sorted = [...this.infos.values()].filter((n) => n.node !== undefined);
      this.sorted.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    return this.sorted;
  }

  node(name: string): NodeInfo | undefined {
    const n = this.infos.get(name);
    return n?.node ? n : undefined;
  }

  /** The NodeInfo a pod is accounted on, whether or not the Node object exists. */
  nodeInfo(name: string): NodeInfo | undefined {
    return this.infos.get(name);
  }

  /** Accounted pods in one namespace, or in all of them. */
  *podsIn(namespace: string | undefined): Iterable<PodEntry> {
    if (namespace !== undefined) {
      yield* this.byNamespace.get(namespace) ?? [];
      return;
    }
    yield* this.pods.values();
  }

  pod(key: string): PodEntry | undefined {
    return this.pods.get(key);
  }

  /** True when the pod (this uid) is assumed or assigned in the cache. */
  has(key: string, uid: string | undefined): boolean {
    return this.pods.get(key)?.uid === uid;
  }

  /** Counts a pod on `nodeName` before the binding is visible. */
  assume(pod: KObject, nodeName: string): PodEntry {
    const key = podKey(pod);
    const old = this.pods.get(key);
    if (old) this.remove(old);
    const e: PodEntry = {
      key,
      uid: pod.metadata.uid ?? '',
      nodeName,
      info: podInfo(pod),
      namespace: pod.metadata.namespace ?? '',
      assumed: true,
    };
    this.add(e);
    return e;
  }

  /** Drops an assumption (binding failed or was abandoned); a confirmed entry is kept. */
  forget(key: string, uid: string): void {
    const e = this.pods.get(key);
    if (e?.assumed && e.uid === uid) this.remove(e);
  }

  /**
   * An assigned, non-terminal pod as the informer shows it (confirms an
   * assumption). Returns true when the pod was not accounted before.
   */
  addOrUpdatePod(pod: KObject, nodeName: string): boolean {
    const key = podKey(pod);
    const info = podInfo(pod);
    const old = this.pods.get(key);
    if (old && old.uid === pod.metadata.uid && old.nodeName === nodeName && old.info === info) {
      old.assumed = false;
      return false;
    }
    if (old) this.remove(old);
    this.add({
      key,
      uid: pod.metadata.uid ?? '',
      nodeName,
      info,
      namespace: pod.metadata.namespace ?? '',
      assumed: false,
    });
    return !old || old.uid !== pod.metadata.uid;
  }

  /** Removes the pod (only the given incarnation when `uid` is set). Returns the removed entry. */
  removePod(key: string, uid?: string): PodEntry | undefined {
    const e = this.pods.get(key);
    if (!e || (uid !== undefined && e.uid !== uid)) return undefined;
    this.remove(e);
    return e;
  }

  private add(e: PodEntry): void {
    this.pods.set(e.key, e);
    let info = this.infos.get(e.nodeName);
    if (!info) {
      info = new NodeInfo(e.nodeName);
      this.infos.set(e.nodeName, info);
    }
    info.addPod(e);
    let inNs = this.byNamespace.get(e.namespace);
    if (!inNs) {
      inNs = new Set();
      this.byNamespace.set(e.namespace, inNs);
    }
    inNs.add(e);
    if (e.info.antiAffinityTerms.length > 0) this.withAntiAffinity.add(e);
    for (const c of e.info.claims) {
      const k = `${e.namespace}/${c.name}`;
      this.pvcRefs.set(k, (this.pvcRefs.get(k) ?? 0) + 1);
    }
  }

  private remove(e: PodEntry): void {
    if (this.pods.get(e.key) === e) this.pods.delete(e.key);
    const info = this.infos.get(e.nodeName);
    if (info) {
      info.removePod(e);
      if (!info.node && info.podCount === 0) this.infos.delete(e.nodeName);
    }
    const inNs = this.byNamespace.get(e.namespace);
    if (inNs) {
      inNs.delete(e);
      if (inNs.size === 0) this.byNamespace.delete(e.namespace);
    }
    this.withAntiAffinity.delete(e);
    for (const c of e.info.claims) {
      const k = `${e.namespace}/${c.name}`;
      const n = (this.pvcRefs.get(k) ?? 0) - 1;
      if (n <= 0) this.pvcRefs.delete(k);
      else this.pvcRefs.set(k, n);
    }
  }
}
