/**
 * Node lifecycle, as upstream's node lifecycle controller together with the
 * taint eviction controller (kube-controller-manager's
 * node-lifecycle-controller and taint-eviction-controller):
 *
 * - Health: a node is alive while its Lease in kube-node-lease is renewed or
 *   its Ready condition's lastHeartbeatTime moves (observed on this
 *   controller's own clock). After `gracePeriodMs` without either (60 s for a
 *   node that never posted status) its Ready, MemoryPressure, DiskPressure and
 *   PIDPressure conditions turn Unknown ("NodeStatusUnknown", "Kubelet stopped
 *   posting node status.").
 * - Pods: when a node's Ready condition leaves True, every pod on it gets its
 *   Ready condition set to False and a `NodeNotReady` event; pods that land on
 *   a not-ready node later get the same.
 * - Taints: condition taints with effect NoSchedule (`not-ready`,
 *   `unreachable`, the pressure taints, `unschedulable` for cordoned nodes) on
 *   every node change; NoExecute `not-ready` / `unreachable` taints through a
 *   per-zone rate-limited queue (0.1 nodes/s; stopped in a small zone that is
 *   mostly down; all NoExecute taints lifted when every node is down — the
 *   "master disruption mode"), removed once the node is Ready again.
 * - Taint eviction: a pod on a node with NoExecute taints it does not tolerate
 *   is deleted at once; one that tolerates them for tolerationSeconds is
 *   deleted when the shortest such toleration runs out (counted from when this
 *   controller noticed). Deletion is an ordinary graceful delete after a
 *   DisruptionTarget condition: a pod on an unreachable node stays Terminating
 *   until its kubelet returns or someone force-deletes it (at most one pod per
 *   StatefulSet identity). Nothing here force-deletes.
 *
 * Wiring: shared informers over Nodes, Leases and Pods; a monitor pass every
 * `monitorPeriodMs` (`monitorNodeHealth()` runs one now); work queues for the
 * NoSchedule pass, for pods landing on not-ready nodes and for evictions.
 */
import { isConflict, isNotFound } from '../api/errors.js';
import { isObject, type KObject } from '../api/types.js';
import type { Informer, InformerFactory } from '../client/informer.js';
import type { Client } from '../client/interface.js';
import { type Clock, ExponentialRateLimiter, realClock, WorkQueue } from '../client/workqueue.js';
import { createRecorder, type EventRecorder } from './events.js';
import { type NodeCondition, nodeConditions } from './util/nodes.js';
import { type PodCondition, podConditions, rfc3339 } from './util/pods.js';
import { LEASES, NODES, PODS } from './util/resources.js';
import { type Taint, type Toleration, toleratesTaint } from './util/taints.js';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export { type Taint, type Toleration, toleratesTaint };

/** Node condition → status → NoSchedule taint key (upstream nodeConditionToTaintKeyStatusMap). */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: TAINT_MEMORY_PRESSURE },
  DiskPressure: { True: TAINT_DISK_PRESSURE },
  NetworkUnavailable: { True: TAINT_NETWORK_UNAVAILABLE },
  PIDPressure: { True: TAINT_PID_PRESSURE },
};
const CONDITION_TAINT_KEYS = new Set(Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)));

/** Conditions turned Unknown when the kubelet goes silent (NetworkUnavailable belongs to the network). */
const MONITORED_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

// ---- taints and tolerations (pure) ----------------------------------------------------

function rec(v: unknown): Record<string, unknown> {
  return isObject(v) ? v : {};
}

export function nodeTaints(node: KObject): Taint[] {
  const t = rec(node.spec).taints;
  return Array.isArray(t) ? (t.filter(isObject) as unknown as Taint[]) : [];
}

export function podTolerations(pod: KObject): Toleration[] {
  const t = rec(pod.spec).tolerations;
  return Array.isArray(t) ? (t.filter(isObject) as unknown as Toleration[]) : [];
}

/** v1.Toleration.ToleratesTaint. */
/** Upstream GetMatchingTolerations: whether every taint is tolerated, and the first toleration used per taint. */
export function matchingTolerations(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
): { all: boolean; used: Toleration[] } {
  const used: Toleration[] = [];
  for (const taint of taints) {
    const t = tolerations.find((x) => toleratesTaint(x, taint));
    if (!t) return { all: false, used: [] };
    used.push(t);
  }
  return { all: true, used };
}

/** Upstream getMinTolerationTime in ms: -1 for "forever", 0 for none or a non-positive tolerationSeconds. */
export function minTolerationMs(used: readonly Toleration[]): number {
  if (used.length === 0) return 0;
  let min = Number.POSITIVE_INFINITY;
  for (const t of used) {
    if (typeof t.tolerationSeconds !== 'number') continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Number.POSITIVE_INFINITY ? -1 : min * 1000;
}

function sameTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

/** A stable identity of a taint set (key, value, effect; order-insensitive) to notice NoExecute changes. */
function taintSetKey(taints: readonly Taint[]): string {
  return taints
    .map((t) => `${t.key}\u0000${t.value ?? ''}\u0000${t.effect}`)
    .sort()
    .join('\n');
}

export type ZoneState = 'Initial' | 'Normal' | 'PartialDisruption' | 'FullDisruption';

/** Upstream ComputeZoneState over the zone's Ready conditions (undefined = none posted). */
export function computeZoneState(
  ready: readonly (NodeCondition | undefined)[],
  unhealthyThreshold = 0.55,
): { notReady: number; state: ZoneState } {
  let readyNodes = 0;
  let notReady = 0;
  for (const c of ready) {
    if (c?.status === 'True') readyNodes++;
    else notReady++;
  }
  if (readyNodes === 0 && notReady > 0) return { notReady, state: 'FullDisruption' };
  if (notReady > 2 && notReady / (notReady + readyNodes) >= unhealthyThreshold) {
    return { notReady, state: 'PartialDisruption' };
  }
  return { notReady, state: 'Normal' };
}

/** Upstream GetZoneKey: region + ":\0:" + zone, or "" without topology labels. */
export function zoneKey(node: KObject): string {
  const l = node.metadata.labels ?? {};
  const zone = l['topology.kubernetes.io/zone'] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '';
  const region = l['topology.kubernetes.io/region'] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '';
  if (!zone && !region) return '';
  return `${region}:\u0000:${zone}`;
}

function readyOf(node: KObject): NodeCondition | undefined {
  return nodeConditions(node.status).find((c) => c.type === 'Ready');
}

function parseTime(s: unknown): number {
  const t = typeof s === 'string' ? Date.parse(s) : Number.NaN;
  return Number.isNaN(t) ? 0 : t;
}

// ---- rate limiting ------------------------------------------------------------------------

/** A token bucket (burst 1) on the injected clock; qps 0 never admits. */
class TokenBucket {
  private tokens = 1;
  private last: number;

  constructor(
    readonly qps: number,
    private readonly clock: Clock,
  ) {
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    if (this.qps > 0) this.tokens = Math.min(1, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
  }

  tryAccept(): boolean {
    if (this.qps <= 0) return false;
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until the next token (Infinity when qps is 0). */
  msUntilToken(): number {
    if (this.qps <= 0) return Number.POSITIVE_INFINITY;
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.qps) * 1000);
  }
}

/** Upstream RateLimitedTimedQueue: nodes waiting for their NoExecute taint, in arrival order. */
class TaintQueue {
  readonly items = new Map<string, { processAt: number }>();
  limiter: TokenBucket;

  constructor(qps: number, clock: Clock) {
    this.limiter = new TokenBucket(qps, clock);
  }

  add(node: string, now: number): boolean {
    if (this.items.has(node)) return false;
    this.items.set(node, { processAt: now });
    return true;
  }

  remove(node: string): boolean {
    return this.items.delete(node);
  }
}

// ---- the controller -----------------------------------------------------------------------

export interface NodeLifecycleOptions {
  clock?: Clock;
  /** How long a node may go without a heartbeat before its conditions turn Unknown (default 40 s). */
  gracePeriodMs?: number;
  /** How often node health is checked (default 5 s). */
  monitorPeriodMs?: number;
  /** Grace for a node that never posted status (default 60 s). */
  startupGracePeriodMs?: number;
  /** NoExecute tainting rate per zone, nodes per second (default 0.1). */
  evictionRateQps?: number;
  /** Rate in a partially disrupted zone larger than largeClusterThreshold (default 0.01). */
  secondaryEvictionRateQps?: number;
  largeClusterThreshold?: number;
  unhealthyZoneThreshold?: number;
  /** Events from the node lifecycle part (default: component "node-controller"). */
  recorder?: EventRecorder;
  /** Events from taint eviction (default: component "taint-eviction-controller"). */
  evictionRecorder?: EventRecorder;
  onError?: (err: unknown) => void;
}

interface NodeHealth {
  probeTimestamp: number;
  readyTransitionTimestamp: number;
  /** The Ready condition last seen (undefined: none posted). */
  ready: NodeCondition | undefined;
  leaseRenew: number | undefined;
}

interface ScheduledEviction {
  uid: string;
  createdAt: number;
  fireAt: number;
  timer: unknown;
}

export class NodeLifecycleController {
  private readonly clock: Clock;
  private readonly gracePeriodMs: number;
  private readonly monitorPeriodMs: number;
  private readonly startupGracePeriodMs: number;
  private readonly evictionQps: number;
  private readonly secondaryQps: number;
  private readonly largeClusterThreshold: number;
  private readonly unhealthyThreshold: number;
  private readonly recorder: EventRecorder;
  private readonly evictionRecorder: EventRecorder;
  private readonly onError: (err: unknown) => void;
  private readonly nodes: Informer;
  private readonly leases: Informer;
  private readonly pods: Informer;
  /** NoSchedule condition taints, per node. */
  readonly nodeQueue: WorkQueue;
  /** Pods that landed on a not-ready node. */
  readonly podQueue: WorkQueue;
  /** Taint-eviction deletes. */
  readonly evictionQueue: WorkQueue;

  private readonly health = new Map<string, NodeHealth>();
  private readonly known = new Map<string, KObject>();
  private readonly zoneStates = new Map<string, ZoneState>();
  private readonly taintQueues = new Map<string, TaintQueue>();
  private readonly nodesToRetry = new Set<string>();
  /** node → pod keys (for MarkPodsNotReady and taint eviction). */
  private readonly podsByNode = new Map<string, Set<string>>();
  /** Taint eviction: node → its NoExecute taints (only nodes that have some). */
  private readonly noExecute = new Map<string, Taint[]>();
  private readonly scheduled = new Map<string, ScheduledEviction>();
  /** Evictions whose time came: key → pod uid. */
  private readonly firing = new Map<string, string>();

  private unsubscribe: Array<() => void> = [];
  private stopped = false;
  private started = false;
  private monitorTimer: unknown;
  private taintTimer: unknown;
  private taintTimerAt = Number.POSITIVE_INFINITY;
  private passChain: Promise<void> = Promise.resolve();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    informers: InformerFactory,
    opts: NodeLifecycleOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.gracePeriodMs = opts.gracePeriodMs ?? 40_000;
    this.monitorPeriodMs = opts.monitorPeriodMs ?? 5_000;
    this.startupGracePeriodMs = opts.startupGracePeriodMs ?? 60_000;
    this.evictionQps = opts.evictionRateQps ?? 0.1;
    this.secondaryQps = opts.secondaryEvictionRateQps ?? 0.01;
    this.largeClusterThreshold = opts.largeClusterThreshold ?? 50;
    this.unhealthyThreshold = opts.unhealthyZoneThreshold ?? 0.55;
    this.onError = opts.onError ?? ((err) => console.error('node lifecycle controller:', err));
    // Event times come from the wall clock (as the other controllers' recorders): event names derive
    // from them, and a second recorder naming the same object at the same instant would collide.
    this.recorder = opts.recorder ?? createRecorder(client, 'node-controller', { onError: () => undefined });
    this.evictionRecorder =
      opts.evictionRecorder ??
      createRecorder(client, 'taint-eviction-controller', { onError: () => undefined });
    this.nodes = informers.forResource(NODES);
    this.leases = informers.forResource(LEASES);
    this.pods = informers.forResource(PODS);
    const quiet = (what: string) => (key: string, err: unknown) => {
      if (!isConflict(err) && !isNotFound(err)) this.onError(new Error(`${what} ${key}: ${String(err)}`));
    };
    this.nodeQueue = new WorkQueue((key) => this.noScheduleTaintingPass(key), {
      name: 'node-lifecycle-nodes',
      concurrency: 4,
      clock: this.clock,
      rateLimiter: new ExponentialRateLimiter(50, 30_000),
      onError: quiet('tainting node'),
    });
    this.podQueue = new WorkQueue((key) => this.processPod(key), {
      name: 'node-lifecycle-pods',
      concurrency: 8,
      clock: this.clock,
      rateLimiter: new ExponentialRateLimiter(50, 30_000),
      onError: quiet('marking pod not ready'),
    });
    this.evictionQueue = new WorkQueue((key) => this.evict(key), {
      name: 'taint-eviction',
      concurrency: 8,
      clock: this.clock,
      rateLimiter: new ExponentialRateLimiter(10, 30_000),
      onError: quiet('evicting pod'),
    });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.unsubscribe.push(
      this.nodes.addEventHandler({
        onAdd: (n) => this.nodeChanged(undefined, n),
        onUpdate: (o, n) => this.nodeChanged(o, n),
        onDelete: (n) => this.nodeDeleted(n),
      }),
      this.pods.addEventHandler({
        onAdd: (p) => this.podChanged(undefined, p),
        onUpdate: (o, p) => this.podChanged(o, p),
        onDelete: (p) => this.podDeleted(p),
      }),
    );
    this.loop = (async () => {
      try {
        await this.waitForSync();
      } catch {
        return;
      }
      if (this.stopped) return;
      this.scheduleMonitor(0);
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    if (this.monitorTimer !== undefined) this.clock.clearTimeout(this.monitorTimer);
    if (this.taintTimer !== undefined) this.clock.clearTimeout(this.taintTimer);
    for (const s of this.scheduled.values()) this.clock.clearTimeout(s.timer);
    this.scheduled.clear();
    await Promise.all([this.nodeQueue.shutdown(), this.podQueue.shutdown(), this.evictionQueue.shutdown()]);
    await this.passChain;
    await this.loop;
  }

  private waitForSync(): Promise<void> {
    return Promise.all([this.nodes.waitForSync(), this.leases.waitForSync(), this.pods.waitForSync()]).then(
      () => undefined,
    );
  }

  private scheduleMonitor(ms: number): void {
    if (this.stopped) return;
    this.monitorTimer = this.clock.setTimeout(() => {
      void this.monitorNodeHealth().finally(() => this.scheduleMonitor(this.monitorPeriodMs));
    }, ms);
  }

  // ---- informer handlers --------------------------------------------------------------

  private podKey(pod: KObject): string {
    return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
  }

  private nodeNameOf(pod: KObject): string {
    const n = rec(pod.spec).nodeName;
    return typeof n === 'string' ? n : '';
  }

  private nodeChanged(old: KObject | undefined, node: KObject): void {
    const name = node.metadata.name ?? '';
    this.nodeQueue.add(name);
    // Taint eviction follows the node's NoExecute taints.
    const before = old ? nodeTaints(old).filter((t) => t.effect === 'NoExecute') : [];
    const after = nodeTaints(node).filter((t) => t.effect === 'NoExecute');
    if (old && taintSetKey(before) === taintSetKey(after)) return;
    if (after.length === 0) {
      if (!this.noExecute.delete(name)) return;
      for (const key of this.podsByNode.get(name) ?? []) this.cancelEviction(key, true);
      return;
    }
    this.noExecute.set(name, after);
    for (const key of this.podsByNode.get(name) ?? []) this.processPodForEviction(key);
  }

  private nodeDeleted(node: KObject): void {
    const name = node.metadata.name ?? '';
    if (this.noExecute.delete(name)) {
      for (const key of this.podsByNode.get(name) ?? []) this.cancelEviction(key, true);
    }
  }

  private podChanged(old: KObject | undefined, pod: KObject): void {
    const key = this.podKey(pod);
    const node = this.nodeNameOf(pod);
    const oldNode = old ? this.nodeNameOf(old) : '';
    if (old && oldNode !== node && oldNode) this.podsByNode.get(oldNode)?.delete(key);
    if (!node) return;
    let set = this.podsByNode.get(node);
    if (!set) {
      set = new Set();
      this.podsByNode.set(node, set);
    }
    set.add(key);
    // Upstream podUpdated: pods that just landed on a node are checked against its readiness.
    if (!old || oldNode !== node) this.podQueue.add(key);
    // Taint eviction looks again when the pod is new, moved, replaced or its tolerations changed.
    if (
      old &&
      old.metadata.uid === pod.metadata.uid &&
      oldNode === node &&
      JSON.stringify(podTolerations(old)) === JSON.stringify(podTolerations(pod))
    ) {
      return;
    }
    this.processPodForEviction(key);
  }

  private podDeleted(pod: KObject): void {
    const key = this.podKey(pod);
    const node = this.nodeNameOf(pod);
    if (node) {
      const set = this.podsByNode.get(node);
      set?.delete(key);
      if (set?.size === 0) this.podsByNode.delete(node);
    }
    this.cancelEviction(key, false);
  }

  private podFromCache(key: string): KObject | undefined {
    const i = key.indexOf('/');
    return this.pods.get(key.slice(0, i), key.slice(i + 1));
  }

  // ---- health monitoring ------------------------------------------------------------------

  /** One monitor pass now (serialized with the periodic ones). */
  monitorNodeHealth(): Promise<void> {
    const run = this.passChain.then(() => this.monitorPass());
    this.passChain = run.catch((err: unknown) => this.onError(err));
    return this.passChain;
  }

  private async monitorPass(): Promise<void> {
    if (this.stopped) return;
    const nodes = this.nodes.list();
    const names = new Set(nodes.map((n) => n.metadata.name ?? ''));
    for (const n of nodes) {
      const name = n.metadata.name ?? '';
      if (this.known.has(name)) continue;
      this.known.set(name, n);
      this.nodeEvent(n, 'RegisteredNode', `Registered Node ${name} in Controller`);
      const zone = zoneKey(n);
      if (!this.taintQueues.has(zone)) {
        this.taintQueues.set(zone, new TaintQueue(this.evictionQps, this.clock));
        this.zoneStates.set(zone, 'Initial');
      }
    }
    for (const [name, n] of [...this.known]) {
      if (names.has(name)) continue;
      this.known.delete(name);
      this.health.delete(name);
      this.nodesToRetry.delete(name);
      this.nodeEvent(n, 'RemovingNode', `Removing Node ${name} from Controller`);
      this.taintQueues.get(zoneKey(n))?.remove(name);
    }

    const zoneConditions = new Map<string, (NodeCondition | undefined)[]>();
    for (const cached of nodes) {
      if (this.stopped) return;
      const name = cached.metadata.name ?? '';
      let result: { node: KObject; observed: NodeCondition | undefined; current: NodeCondition | undefined };
      try {
        result = await this.updateNodeHealth(cached);
      } catch (err) {
        if (!isNotFound(err)) this.onError(err);
        continue;
      }
      const { node, observed, current } = result;
      const zone = zoneKey(node);
      let list = zoneConditions.get(zone);
      if (!list) {
        list = [];
        zoneConditions.set(zone, list);
      }
      list.push(current);
      if (!current) continue;
      await this.processTaintBasedEviction(node, observed);
      const needsRetry = this.nodesToRetry.has(name);
      const becameNotReady = current.status !== 'True' && observed?.status === 'True';
      if (becameNotReady) {
        this.nodeEvent(node, 'NodeNotReady', `Node ${name} status is now: NodeNotReady`, true);
      }
      if (becameNotReady || (needsRetry && observed?.status !== 'True')) {
        if (await this.markPodsNotReady(name)) this.nodesToRetry.delete(name);
        else this.nodesToRetry.add(name);
      } else {
        this.nodesToRetry.delete(name);
      }
    }
    await this.handleDisruption(zoneConditions, nodes);
    await this.noExecuteTaintingPass();
  }

  private nodeEvent(node: KObject, reason: string, message: string, statusChange = false): void {
    const name = node.metadata.name ?? '';
    const ref: KObject = { apiVersion: 'v1', kind: 'Node', metadata: { name, uid: node.metadata.uid } };
    // RecordNodeEvent prefixes "Node <name> event: "; RecordNodeStatusChange does not.
    void this.recorder.event(
      ref,
      'Normal',
      reason,
      statusChange ? message : `Node ${name} event: ${message}`,
    );
  }

  /**
   * Upstream tryUpdateNodeHealth: updates the probe timestamps from the node's
   * Ready heartbeat and Lease, and turns the conditions Unknown when the grace
   * period passed. Returns the Ready condition before (observed) and after (current).
   */
  private async updateNodeHealth(
    cached: KObject,
  ): Promise<{ node: KObject; observed: NodeCondition | undefined; current: NodeCondition | undefined }> {
    const name = cached.metadata.name ?? '';
    let node = cached;
    for (let attempt = 0; ; attempt++) {
      const now = this.clock.now();
      const currentReady = readyOf(node);
      let observed: NodeCondition | undefined;
      let gracePeriod: number;
      let h = this.health.get(name);
      const created = parseTime(node.metadata.creationTimestamp);
      if (!currentReady) {
        observed = {
          type: 'Ready',
          status: 'Unknown',
          lastHeartbeatTime: node.metadata.creationTimestamp,
          lastTransitionTime: node.metadata.creationTimestamp,
        };
        gracePeriod = this.startupGracePeriodMs;
        if (!h) {
          h = {
            probeTimestamp: created,
            readyTransitionTimestamp: created,
            ready: undefined,
            leaseRenew: undefined,
          };
        } else {
          h = { ...h, ready: undefined };
        }
      } else {
        observed = { ...currentReady };
        gracePeriod = this.gracePeriodMs;
        if (!h) {
          h = {
            probeTimestamp: now,
            readyTransitionTimestamp: now,
            ready: { ...currentReady },
            leaseRenew: undefined,
          };
        } else if (!h.ready) {
          h = { ...h, probeTimestamp: now, readyTransitionTimestamp: now, ready: { ...currentReady } };
        } else if (h.ready.lastHeartbeatTime !== currentReady.lastHeartbeatTime) {
          const transition =
            h.ready.lastTransitionTime !== currentReady.lastTransitionTime ? now : h.readyTransitionTimestamp;
          h = { ...h, probeTimestamp: now, readyTransitionTimestamp: transition, ready: { ...currentReady } };
        }
      }
      const lease = this.leases.get(NODE_LEASE_NAMESPACE, name);
      if (lease) {
        const renew = parseTime(rec(lease.spec).renewTime);
        if (renew > 0 && (h.leaseRenew === undefined || h.leaseRenew < renew)) {
          h = { ...h, leaseRenew: renew, probeTimestamp: now };
        }
      }
      this.health.set(name, h);

      if (now <= h.probeTimestamp + gracePeriod) {
        return { node, observed, current: readyOf(node) };
      }
      // Silent for longer than the grace period: every monitored condition turns Unknown.
      const next = structuredClone(node);
      const status = rec(next.status);
      const conds = nodeConditions(next.status).map((c) => ({ ...c }));
      const stamp = rfc3339(now);
      for (const type of MONITORED_CONDITIONS) {
        const c = conds.find((x) => x.type === type);
        if (!c) {
          conds.push({
            type,
            status: 'Unknown',
            lastHeartbeatTime: node.metadata.creationTimestamp,
            lastTransitionTime: stamp,
            reason: 'NodeStatusNeverUpdated',
            message: 'Kubelet never posted node status.',
          });
        } else if (c.status !== 'Unknown') {
          c.status = 'Unknown';
          c.reason = 'NodeStatusUnknown';
          c.message = 'Kubelet stopped posting node status.';
          c.lastTransitionTime = stamp;
        }
      }
      status.conditions = conds;
      next.status = status;
      const current = conds.find((c) => c.type === 'Ready');
      if (JSON.stringify(current) === JSON.stringify(currentReady)) {
        return { node, observed, current };
      }
      try {
        const out = await this.client.update(NODES, undefined, next, { subresource: 'status' });
        this.health.set(name, { ...h, ready: readyOf(out), readyTransitionTimestamp: now });
        return { node: out, observed, current: readyOf(out) };
      } catch (err) {
        if (!isConflict(err) || attempt >= 4) throw err;
        node = await this.client.get(NODES, undefined, name);
      }
    }
  }

  /** Upstream MarkPodsNotReady for every pod on the node; false if some update failed. */
  private async markPodsNotReady(node: string): Promise<boolean> {
    let ok = true;
    for (const key of [...(this.podsByNode.get(node) ?? [])]) {
      const pod = this.podFromCache(key);
      if (!pod || this.nodeNameOf(pod) !== node) continue;
      try {
        await this.markPodNotReady(pod);
      } catch (err) {
        if (isNotFound(err)) continue;
        if (!isConflict(err)) this.onError(err);
        ok = false;
      }
    }
    return ok;
  }

  /** Sets the pod's Ready condition False (keeping reason and message) and records NodeNotReady. */
  private async markPodNotReady(pod: KObject): Promise<void> {
    const conds = podConditions(pod);
    const ready = conds.find((c) => c.type === 'Ready');
    if (!ready || ready.status === 'False') return;
    const now = rfc3339(this.clock.now());
    const next = structuredClone(pod);
    const status = rec(next.status);
    status.conditions = conds.map(
      (c): PodCondition => (c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: now } : c),
    );
    next.status = status;
    await this.client.update(PODS, pod.metadata.namespace, next, { subresource: 'status' });
    void this.recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
  }

  /** Upstream processPod: a pod that landed on a node whose Ready condition is not True is marked not ready. */
  private async processPod(key: string): Promise<void> {
    await this.waitForSync();
    const pod = this.podFromCache(key);
    if (!pod) return;
    const nodeName = this.nodeNameOf(pod);
    if (!nodeName) return;
    const node = this.nodes.get(undefined, nodeName);
    const ready = node ? readyOf(node) : undefined;
    if (!ready || ready.status === 'True') return;
    await this.markPodNotReady(pod);
  }

  // ---- NoSchedule condition taints ------------------------------------------------------

  private async noScheduleTaintingPass(name: string): Promise<void> {
    await this.waitForSync();
    const node = this.nodes.get(undefined, name);
    if (!node) return;
    const want: Taint[] = [];
    for (const c of nodeConditions(node.status)) {
      const key = CONDITION_TAINTS[c.type]?.[c.status];
      if (key) want.push({ key, effect: 'NoSchedule' });
    }
    if (rec(node.spec).unschedulable === true) want.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
    const have = nodeTaints(node).filter(
      (t) => t.effect === 'NoSchedule' && (t.key === TAINT_UNSCHEDULABLE || CONDITION_TAINT_KEYS.has(t.key)),
    );
    const add = want.filter((w) => !have.some((h) => sameTaint(h, w)));
    const del = have.filter((h) => !want.some((w) => sameTaint(h, w)));
    if (add.length === 0 && del.length === 0) return;
    await this.swapTaints(name, add, del);
  }

  /**
   * Upstream SwapNodeControllerTaint: adds `add` (stamped with timeAdded) and
   * removes `del` (matched by key and effect), re-reading the node on conflicts.
   */
  private async swapTaints(name: string, add: readonly Taint[], del: readonly Taint[]): Promise<boolean> {
    const stamp = rfc3339(this.clock.now());
    let node = this.nodes.get(undefined, name);
    for (let attempt = 0; attempt < 5; attempt++) {
      if (!node) return false;
      const current = nodeTaints(node);
      let next = current.filter((t) => !del.some((d) => sameTaint(t, d)));
      for (const a of add) {
        if (next.some((t) => sameTaint(t, a))) continue;
        next = [...next, { ...a, timeAdded: stamp }];
      }
      if (JSON.stringify(next) === JSON.stringify(current)) return true;
      const updated = structuredClone(node);
      const spec = rec(updated.spec);
      if (next.length > 0) spec.taints = next;
      else delete spec.taints;
      updated.spec = spec;
      try {
        await this.client.update(NODES, undefined, updated);
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        if (!isConflict(err)) throw err;
        node = await this.client.get(NODES, undefined, name).catch(() => undefined);
      }
    }
    return false;
  }

  // ---- NoExecute taints (rate limited per zone) ----------------------------------------

  private async processTaintBasedEviction(node: KObject, observed: NodeCondition | undefined): Promise<void> {
    const name = node.metadata.name ?? '';
    const taints = nodeTaints(node);
    const has = (key: string) => taints.some((t) => t.key === key && t.effect === 'NoExecute');
    const queue = this.taintQueues.get(zoneKey(node));
    switch (observed?.status) {
      case 'False':
        if (has(TAINT_UNREACHABLE)) {
          await this.swapTaints(
            name,
            [{ key: TAINT_NOT_READY, effect: 'NoExecute' }],
            [{ key: TAINT_UNREACHABLE, effect: 'NoExecute' }],
          );
        } else {
          if (!has(TAINT_NOT_READY)) queue?.remove(name);
          queue?.add(name, this.clock.now());
        }
        break;
      case 'Unknown':
        if (has(TAINT_NOT_READY)) {
          await this.swapTaints(
            name,
            [{ key: TAINT_UNREACHABLE, effect: 'NoExecute' }],
            [{ key: TAINT_NOT_READY, effect: 'NoExecute' }],
          );
        } else {
          if (!has(TAINT_UNREACHABLE)) queue?.remove(name);
          queue?.add(name, this.clock.now());
        }
        break;
      case 'True':
        await this.markNodeAsReachable(node);
        break;
      default:
        break;
    }
  }

  /** Removes the NoExecute not-ready/unreachable taints and drops the node from its taint queue. */
  private async markNodeAsReachable(node: KObject): Promise<void> {
    const name = node.metadata.name ?? '';
    const has = nodeTaints(node).some(
      (t) => t.effect === 'NoExecute' && (t.key === TAINT_UNREACHABLE || t.key === TAINT_NOT_READY),
    );
    if (has) {
      await this.swapTaints(
        name,
        [],
        [
          { key: TAINT_UNREACHABLE, effect: 'NoExecute' },
          { key: TAINT_NOT_READY, effect: 'NoExecute' },
        ],
      );
    }
    this.taintQueues.get(zoneKey(node))?.remove(name);
  }

  private zoneQps(state: ZoneState, size: number): number {
    switch (state) {
      case 'PartialDisruption':
        return size > this.largeClusterThreshold ? this.secondaryQps : 0;
      default:
        return this.evictionQps;
    }
  }

  private setZoneLimiter(zone: string, size: number, state: ZoneState): void {
    const q = this.taintQueues.get(zone);
    if (!q) return;
    const qps = this.zoneQps(state, size);
    if (q.limiter.qps !== qps) q.limiter = new TokenBucket(qps, this.clock);
  }

  /** Upstream handleDisruption: zone states pick the tainting rate; all zones down stops NoExecute tainting. */
  private async handleDisruption(
    zoneConditions: Map<string, (NodeCondition | undefined)[]>,
    nodes: KObject[],
  ): Promise<void> {
    const newStates = new Map<string, ZoneState>();
    let allAreFullyDisrupted = true;
    for (const [zone, conds] of zoneConditions) {
      const { state } = computeZoneState(conds, this.unhealthyThreshold);
      if (state !== 'FullDisruption') allAreFullyDisrupted = false;
      newStates.set(zone, state);
      if (!this.zoneStates.has(zone)) this.zoneStates.set(zone, 'Initial');
      if (!this.taintQueues.has(zone))
        this.taintQueues.set(zone, new TaintQueue(this.evictionQps, this.clock));
    }
    let allWasFullyDisrupted = true;
    for (const [zone, state] of [...this.zoneStates]) {
      if (!zoneConditions.has(zone)) {
        this.zoneStates.delete(zone);
        continue;
      }
      if (state !== 'FullDisruption') {
        allWasFullyDisrupted = false;
        break;
      }
    }
    if (zoneConditions.size === 0) return;
    if (allAreFullyDisrupted && allWasFullyDisrupted) return;
    if (allAreFullyDisrupted) {
      // Every node is down: more likely the control plane's view than the nodes. Stop evicting.
      for (const n of nodes) {
        try {
          await this.markNodeAsReachable(this.nodes.get(undefined, n.metadata.name ?? '') ?? n);
        } catch (err) {
          this.onError(err);
        }
      }
      for (const zone of this.zoneStates.keys()) {
        const q = this.taintQueues.get(zone);
        if (q) q.limiter = new TokenBucket(0, this.clock);
        this.zoneStates.set(zone, 'FullDisruption');
      }
      return;
    }
    if (allWasFullyDisrupted) {
      // Leaving full disruption: give every node a fresh grace period.
      const now = this.clock.now();
      for (const n of nodes) {
        const h = this.health.get(n.metadata.name ?? '');
        if (h)
          this.health.set(n.metadata.name ?? '', {
            ...h,
            probeTimestamp: now,
            readyTransitionTimestamp: now,
          });
      }
      for (const zone of this.zoneStates.keys()) {
        const state = newStates.get(zone) ?? 'Normal';
        this.setZoneLimiter(zone, zoneConditions.get(zone)?.length ?? 0, state);
        this.zoneStates.set(zone, state);
      }
      return;
    }
    for (const [zone, state] of this.zoneStates) {
      const next = newStates.get(zone) ?? state;
      if (next === state) continue;
      this.setZoneLimiter(zone, zoneConditions.get(zone)?.length ?? 0, next);
      this.zoneStates.set(zone, next);
    }
  }

  /** Upstream doNoExecuteTaintingPass: taints queued nodes as far as each zone's rate allows. */
  private async noExecuteTaintingPass(): Promise<void> {
    let nextAt = Number.POSITIVE_INFINITY;
    for (const q of this.taintQueues.values()) {
      for (const [name, item] of [...q.items]) {
        if (this.stopped) return;
        const now = this.clock.now();
        if (item.processAt > now) {
          nextAt = Math.min(nextAt, item.processAt);
          break;
        }
        if (!q.limiter.tryAccept()) break;
        const node = this.nodes.get(undefined, name);
        if (!node) {
          q.items.delete(name);
          continue;
        }
        const ready = readyOf(node);
        let done: boolean;
        if (!ready) done = false;
        else if (ready.status === 'False') {
          done = await this.swapTaints(
            name,
            [{ key: TAINT_NOT_READY, effect: 'NoExecute' }],
            [{ key: TAINT_UNREACHABLE, effect: 'NoExecute' }],
          );
        } else if (ready.status === 'Unknown') {
          done = await this.swapTaints(
            name,
            [{ key: TAINT_UNREACHABLE, effect: 'NoExecute' }],
            [{ key: TAINT_NOT_READY, effect: 'NoExecute' }],
          );
        } else done = true;
        if (done) q.items.delete(name);
        else {
          q.items.delete(name);
          q.items.set(name, { processAt: now + 50 });
        }
      }
      if (q.items.size > 0)
        nextAt = Math.min(nextAt, this.clock.now() + Math.max(100, q.limiter.msUntilToken()));
    }
    if (nextAt !== Number.POSITIVE_INFINITY && !this.stopped) this.armTaintTimer(nextAt);
  }

  private armTaintTimer(at: number): void {
    if (this.taintTimer !== undefined && this.taintTimerAt <= at) return;
    if (this.taintTimer !== undefined) this.clock.clearTimeout(this.taintTimer);
    this.taintTimerAt = at;
    this.taintTimer = this.clock.setTimeout(
      () => {
        this.taintTimer = undefined;
        this.taintTimerAt = Number.POSITIVE_INFINITY;
        const run = this.passChain.then(() => this.noExecuteTaintingPass());
        this.passChain = run.catch((err: unknown) => this.onError(err));
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  // ---- taint eviction ------------------------------------------------------------------

  /** Upstream processPodOnNode: evict now, schedule, or cancel, from the node's NoExecute taints. */
  private processPodForEviction(key: string): void {
    if (this.stopped) return;
    const pod = this.podFromCache(key);
    if (!pod) {
      this.cancelEviction(key, false);
      return;
    }
    const taints = this.noExecute.get(this.nodeNameOf(pod));
    if (!taints || taints.length === 0) {
      this.cancelEviction(key, true);
      return;
    }
    const now = this.clock.now();
    const uid = pod.metadata.uid ?? '';
    const { all, used } = matchingTolerations(taints, podTolerations(pod));
    if (!all) {
      this.cancelEviction(key, false);
      this.scheduleEviction(key, uid, now, now);
      return;
    }
    const min = minTolerationMs(used);
    if (min < 0) {
      this.cancelEviction(key, true);
      return;
    }
    const existing = this.scheduled.get(key);
    let startTime = now;
    if (existing && existing.uid === uid) {
      startTime = existing.createdAt;
      if (startTime + min < now + min) return;
      this.cancelEviction(key, true);
    }
    this.scheduleEviction(key, uid, startTime, now + min);
  }

  private scheduleEviction(key: string, uid: string, createdAt: number, fireAt: number): void {
    const prev = this.scheduled.get(key);
    if (prev) this.clock.clearTimeout(prev.timer);
    this.scheduled.delete(key);
    const fire = (): void => {
      const i = key.indexOf('/');
      void this.evictionRecorder.event(
        { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: key.slice(0, i), name: key.slice(i + 1) } },
        'Normal',
        'TaintManagerEviction',
        `Marking for deletion Pod ${key}`,
      );
      this.firing.set(key, uid);
      this.evictionQueue.add(key);
    };
    const delay = fireAt - this.clock.now();
    if (delay <= 0) {
      fire();
      return;
    }
    const timer = this.clock.setTimeout(() => {
      const cur = this.scheduled.get(key);
      if (cur?.timer !== timer) return;
      this.scheduled.delete(key);
      fire();
    }, delay);
    this.scheduled.set(key, { uid, createdAt, fireAt, timer });
  }

  /** Cancels a scheduled (not yet fired) eviction; `withEvent` records "Cancelling deletion". */
  private cancelEviction(key: string, withEvent: boolean): void {
    const s = this.scheduled.get(key);
    if (!s) return;
    this.clock.clearTimeout(s.timer);
    this.scheduled.delete(key);
    if (!withEvent) return;
    const i = key.indexOf('/');
    void this.evictionRecorder.event(
      { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: key.slice(0, i), name: key.slice(i + 1) } },
      'Normal',
      'TaintManagerEviction',
      `Cancelling deletion of Pod ${key}`,
    );
  }

  /** Upstream addConditionAndDeletePod: DisruptionTarget condition, then an ordinary (graceful) delete. */
  private async evict(key: string): Promise<void> {
    const uid = this.firing.get(key);
    if (uid === undefined) return;
    const i = key.indexOf('/');
    const ns = key.slice(0, i);
    const name = key.slice(i + 1);
    let pod: KObject;
    try {
      pod = await this.client.get(PODS, ns, name);
    } catch (err) {
      if (isNotFound(err)) {
        this.firing.delete(key);
        return;
      }
      throw err;
    }
    if ((uid && pod.metadata.uid !== uid) || pod.metadata.deletionTimestamp) {
      this.firing.delete(key);
      return;
    }
    const conds = podConditions(pod);
    const existing = conds.find((c) => c.type === 'DisruptionTarget');
    const want: PodCondition = {
      type: 'DisruptionTarget',
      status: 'True',
      reason: 'DeletionByTaintManager',
      message: 'Taint manager: deleting due to NoExecute taint',
    };
    if (
      existing?.status !== want.status ||
      existing.reason !== want.reason ||
      existing.message !== want.message
    ) {
      const now = rfc3339(this.clock.now());
      const next = structuredClone(pod);
      const status = rec(next.status);
      const others = conds.filter((c) => c.type !== 'DisruptionTarget');
      const cond: PodCondition = {
        ...want,
        lastProbeTime: null,
        lastTransitionTime: existing?.status === 'True' ? (existing.lastTransitionTime ?? now) : now,
      };
      status.conditions = [...others, cond];
      next.status = status;
      await this.client.update(PODS, ns, next, { subresource: 'status' });
    }
    try {
      await this.client.delete(PODS, ns, name, { preconditions: { uid: pod.metadata.uid } });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
    this.firing.delete(key);
  }
}
