/**
 * Pod garbage collection, as upstream's PodGC controller. Every
 * `checkPeriodMs` it force-deletes (grace period 0) pods no kubelet will ever
 * finish:
 *
 * - orphans: pods bound to a Node that no longer exists (missing from the
 *   cache for `quarantineMs`, then confirmed gone by a GET) are first marked
 *   Failed with a DisruptionTarget condition (DeletionByPodGC, "PodGC: node no
 *   longer exists");
 * - terminating pods on a node that is not Ready and carries the
 *   `node.kubernetes.io/out-of-service` taint (non-graceful node shutdown);
 * - terminating pods that were never scheduled;
 * - the oldest terminated (Succeeded/Failed) pods beyond
 *   `terminatedPodThreshold` (default 12,500, as kube-controller-manager).
 *
 * A pod on a node that merely stopped heartbeating is NOT collected: it stays
 * Terminating until its kubelet returns or someone force-deletes it.
 */
import { isConflict, isNotFound } from '../api/errors.js';
import { isObject, type KObject } from '../api/types.js';
import type { Informer, InformerFactory } from '../client/informer.js';
import type { Client } from '../client/interface.js';
import { type Clock, realClock } from '../client/workqueue.js';
import { type PodCondition, podConditions, podPhase, rfc3339 } from './util/pods.js';
import { NODES, PODS } from './util/resources.js';

export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

export interface PodGCOptions {
  clock?: Clock;
  /** How often to look (default 20 s). */
  checkPeriodMs?: number;
  /** How long a node must be missing before its pods count as orphans (default 40 s). */
  quarantineMs?: number;
  /** Terminated pods kept before the oldest are deleted; 0 disables (default 12,500). */
  terminatedPodThreshold?: number;
  onError?: (err: unknown) => void;
}

function rec(v: unknown): Record<string, unknown> {
  return isObject(v) ? v : {};
}

function nodeNameOf(pod: KObject): string {
  const n = rec(pod.spec).nodeName;
  return typeof n === 'string' ? n : '';
}

function isTerminal(pod: KObject): boolean {
  const p = podPhase(pod);
  return p === 'Succeeded' || p === 'Failed';
}

function nodeReady(node: KObject): boolean {
  const conds = rec(node.status).conditions;
  return Array.isArray(conds) && conds.some((c) => isObject(c) && c.type === 'Ready' && c.status === 'True');
}

function hasTaint(node: KObject, key: string): boolean {
  const taints = rec(node.spec).taints;
  return Array.isArray(taints) && taints.some((t) => isObject(t) && t.key === key);
}

export class PodGCController {
  private readonly clock: Clock;
  private readonly checkPeriodMs: number;
  private readonly quarantineMs: number;
  private readonly threshold: number;
  private readonly onError: (err: unknown) => void;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  /** Node name → when it was first found missing. */
  private readonly missingSince = new Map<string, number>();
  private timer: unknown;
  private stopped = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: Client,
    informers: InformerFactory,
    opts: PodGCOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.checkPeriodMs = opts.checkPeriodMs ?? 20_000;
    this.quarantineMs = opts.quarantineMs ?? 40_000;
    this.threshold = opts.terminatedPodThreshold ?? 12_500;
    this.onError = opts.onError ?? ((err) => console.error('pod GC:', err));
    this.pods = informers.forResource(PODS);
    this.nodes = informers.forResource(NODES);
  }

  start(): void {
    this.schedule(this.checkPeriodMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    await this.chain;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      void this.gc().finally(() => this.schedule(this.checkPeriodMs));
    }, ms);
  }

  /** One collection pass now (serialized with the periodic ones). */
  gc(): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.stopped) return;
      await Promise.all([this.pods.waitForSync(), this.nodes.waitForSync()]);
      const pods = this.pods.list();
      const nodes = this.nodes.list();
      if (this.threshold > 0) await this.gcTerminated(pods);
      await this.gcTerminating(pods);
      await this.gcOrphaned(pods, nodes);
      await this.gcUnscheduledTerminating(pods);
    });
    this.chain = run.catch((err: unknown) => this.onError(err));
    return this.chain;
  }

  private async gcTerminated(pods: KObject[]): Promise<void> {
    const terminated = pods.filter(isTerminal);
    const excess = terminated.length - this.threshold;
    if (excess <= 0) return;
    // Oldest first (stable: same-second pods keep the cache's arrival order).
    terminated.sort((a, b) => {
      const x = a.metadata.creationTimestamp ?? '';
      const y = b.metadata.creationTimestamp ?? '';
      return x < y ? -1 : x > y ? 1 : 0;
    });
    for (const pod of terminated.slice(0, excess)) await this.forceDelete(pod);
  }

  private async gcTerminating(pods: KObject[]): Promise<void> {
    for (const pod of pods) {
      if (!pod.metadata.deletionTimestamp || isTerminal(pod)) continue;
      const name = nodeNameOf(pod);
      if (!name) continue;
      const node = this.nodes.get(undefined, name);
      if (!node || nodeReady(node) || !hasTaint(node, TAINT_OUT_OF_SERVICE)) continue;
      await this.forceDelete(pod);
    }
  }

  private async gcOrphaned(pods: KObject[], nodes: KObject[]): Promise<void> {
    const existing = new Set(nodes.map((n) => n.metadata.name ?? ''));
    const now = this.clock.now();
    const bound = new Set<string>();
    for (const pod of pods) {
      const name = nodeNameOf(pod);
      if (!name) continue;
      bound.add(name);
      if (!existing.has(name) && !this.missingSince.has(name)) this.missingSince.set(name, now);
    }
    const deleted = new Set<string>();
    for (const [name, since] of [...this.missingSince]) {
      if (existing.has(name) || !bound.has(name)) {
        this.missingSince.delete(name);
        continue;
      }
      if (now - since < this.quarantineMs) continue;
      try {
        await this.client.get(NODES, undefined, name);
        this.missingSince.delete(name); // it is back (the cache lagged)
      } catch (err) {
        if (isNotFound(err)) deleted.add(name);
        else this.onError(err);
      }
    }
    if (deleted.size === 0) return;
    for (const pod of pods) {
      if (!deleted.has(nodeNameOf(pod))) continue;
      await this.forceDelete(pod, {
        type: 'DisruptionTarget',
        status: 'True',
        reason: 'DeletionByPodGC',
        message: 'PodGC: node no longer exists',
      });
    }
  }

  private async gcUnscheduledTerminating(pods: KObject[]): Promise<void> {
    for (const pod of pods) {
      if (pod.metadata.deletionTimestamp && !nodeNameOf(pod)) await this.forceDelete(pod);
    }
  }

  /** Upstream markFailedAndDeletePodWithCondition: phase Failed (plus `condition`) unless terminal, then delete with grace 0. */
  private async forceDelete(pod: KObject, condition?: PodCondition): Promise<void> {
    const ns = pod.metadata.namespace;
    const name = pod.metadata.name ?? '';
    try {
      if (!isTerminal(pod)) {
        const next = structuredClone(pod);
        const status = rec(next.status);
        status.phase = 'Failed';
        if (condition) {
          const conds = podConditions(pod);
          const old = conds.find((c) => c.type === condition.type);
          const cond: PodCondition = {
            ...condition,
            lastProbeTime: null,
            lastTransitionTime:
              old && old.status === condition.status && old.lastTransitionTime
                ? old.lastTransitionTime
                : rfc3339(this.clock.now()),
          };
          status.conditions = [...conds.filter((c) => c.type !== condition.type), cond];
        }
        next.status = status;
        await this.client.update(PODS, ns, next, { subresource: 'status' });
      }
      await this.client.delete(PODS, ns, name, {
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return;
      this.onError(err);
    }
  }
}
