/**
 * Simulated nodes: a node agent in the spirit of kwok that plays the kubelet
 * for any number of Nodes without running containers.
 *
 * - Registers Node objects (or adopts existing ones after a restart), posts
 *   node status every `nodeStatusMs` and renews each node's Lease in
 *   kube-node-lease every `heartbeatMs`.
 * - Watches all pods through one informer and drives the ones bound to its
 *   nodes as the kubelet would: admission (host-port conflicts are rejected
 *   with reason NodePorts), pod IP from the node's pod CIDR, init containers,
 *   Pending → Running (+Ready) after `readyDelayMs`, crash loops with back-off,
 *   graceful deletion (terminal phase, then delete with grace 0 and a uid
 *   precondition), kubelet events.
 * - `stopHeartbeats(node)` simulates a dead kubelet: no lease renewals, no
 *   status updates, pods frozen (graceful deletions are never finished), until
 *   `resumeHeartbeats(node)`.
 *
 * Test controls are pod annotations (the agent reacts to changes):
 *   sim.ordinal.dev/ready: "false"            containers run but are not ready
 *   sim.ordinal.dev/fail: "<code>"            containers exit with <code> whenever they run
 *   sim.ordinal.dev/crash: "true"             containers keep crashing (exit 1, CrashLoopBackOff)
 *   sim.ordinal.dev/phase: Failed|Succeeded   force a terminal phase (containers stop);
 *                                             sim.ordinal.dev/reason and /message set status.reason/message
 *   sim.ordinal.dev/exit-on-sigterm: "<code>" exit code when stopped for deletion (default 0)
 *   sim.ordinal.dev/termination-delay-ms: "<ms>"  graceful stop takes this long (capped by the grace period)
 *   sim.ordinal.dev/ready-delay-ms: "<ms>"    per-pod override of readyDelayMs
 * See README.md in this directory for the details.
 */
import { isAlreadyExists, isConflict, isNotFound } from '../../api/errors.js';
import { isObject, type KObject } from '../../api/types.js';
import { Informer } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import { type Clock, ExponentialRateLimiter, realClock, WorkQueue } from '../../client/workqueue.js';
import { createRecorder, type EventRecorder, type EventType } from '../../controllers/events.js';
import { LEASES, NODES, PODS } from '../../controllers/util/resources.js';
import { defaultPodCidr, PodIpAllocator, parseCidr } from './ipam.js';
import {
  DEFAULT_CAPACITY,
  leaseObject,
  microTime,
  NODE_ANNOTATIONS,
  NODE_LEASE_NAMESPACE,
  type NodeCapacity,
  newBootId,
  nodeAddress,
  nodeLabels,
  nodeObject,
  nodeStatus,
} from './node.js';
import { hostPortsConflict, type KubeletEvent, SimPod } from './runtime.js';
import { jsonEqual } from './status.js';
import { TimerQueue } from './timers.js';

export { ANN } from './runtime.js';

export interface SimOptions {
  /** A number N → nodes sim-0 … sim-(N-1); or the node names. */
  nodes: number | string[];
  clock?: Clock;
  /** A bound pod turns Running (+Ready) after this delay (default 0). */
  readyDelayMs?: number;
  /** Lease renewal interval (default 10 s, as the kubelet). */
  heartbeatMs?: number;
  /** Node status refresh interval (default 60 s). */
  nodeStatusMs?: number;
  /** Node capacity (= allocatable); defaults: 32 cpu, 256Gi memory, 1000 pods, 1Ti ephemeral storage. */
  capacity?: NodeCapacity;
  /**
   * Pod CIDR of node `i` (IPv4). Default: consecutive blocks from 10.244.0.0,
   * each big enough for the pods capacity (a /22 for 1000 pods, a /24 for ≤ 253).
   */
  podCidr?: (nodeIndex: number) => string;
  /** First crash-loop back-off (default 10 s, doubling up to 30× this, i.e. 5 min). */
  crashBackoffMs?: number;
  /** Pods handled in parallel (default 64). */
  concurrency?: number;
  /** Event writes in flight (default 16) and queued before new ones are dropped (default 50,000). */
  eventConcurrency?: number;
  eventBacklog?: number;
  /** Unexpected errors (default: console.error). */
  onError?: (err: unknown) => void;
}

export interface SimNodes {
  readonly names: string[];
  /** Stops heartbeats and workers (Node objects are not deleted). */
  stop(): Promise<void>;
  /** Simulates a dead kubelet: no lease renewals or status updates; pods frozen. */
  stopHeartbeats(node: string): void;
  resumeHeartbeats(node: string): void;
}

const NODE_PORTS_REASON = 'NodePorts';
const NODE_PORTS_MESSAGE =
  "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports";
const SANDBOX_RETRY_MS = 5_000;

interface NodeState {
  name: string;
  index: number;
  ip: string;
  cidr: string;
  allocator: PodIpAllocator;
  alive: boolean;
  node: KObject | undefined;
  lease: KObject | undefined;
  bootId: string;
  recorder: EventRecorder;
  /** Reference object for node events (the kubelet uses the node name as uid). */
  ref: KObject;
  /** Admitted, unfinished pods that claim host ports. */
  withPorts: Set<SimPod>;
}

/** Bounded-concurrency event writer: recording never holds up pod work; overflow is dropped (as upstream). */
class EventSink {
  private queue: Array<() => Promise<void>> = [];
  private head = 0;
  private inflight = 0;
  private waiters: Array<() => void> = [];
  dropped = 0;

  constructor(
    private readonly concurrency: number,
    private readonly backlog: number,
    /** True while pod work is waiting: events then trickle (one write at a time) so pods go first. */
    private readonly busy: () => boolean,
  ) {}

  /** Starts queued writes if there is room (called when pod work drains). */
  kick(): void {
    this.pump();
  }

  push(fn: () => Promise<void>): void {
    if (this.queue.length - this.head >= this.backlog) {
      this.dropped++;
      return;
    }
    this.queue.push(fn);
    this.pump();
  }

  private pump(): void {
    const limit = this.busy() ? 1 : this.concurrency;
    while (this.inflight < limit && this.head < this.queue.length) {
      const fn = this.queue[this.head] as () => Promise<void>;
      this.head++;
      this.inflight++;
      void fn()
        .catch(() => undefined)
        .finally(() => {
          this.inflight--;
          this.pump();
        });
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.inflight === 0 && this.head >= this.queue.length) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    }
  }

  /** Drops queued writes (as upstream drops events on shutdown) and waits for those in flight. */
  close(): Promise<void> {
    this.dropped += this.queue.length - this.head;
    this.queue = [];
    this.head = 0;
    return this.drain();
  }

  /** Resolves once every queued event was written (or failed). */
  drain(): Promise<void> {
    if (this.inflight === 0 && this.head >= this.queue.length) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }
}

function rec(v: unknown): Record<string, unknown> {
  return isObject(v) ? v : {};
}

class Sim implements SimNodes {
  readonly names: string[];
  private readonly clock: Clock;
  private readonly nodes = new Map<string, NodeState>();
  private readonly runtimes = new Map<string, SimPod>();
  /** Our last status write per pod, until the informer catches up: key → resourceVersion it replaced + result. */
  private readonly written = new Map<string, { fromRv: string | undefined; obj: KObject }>();
  private readonly informer: Informer;
  private readonly queue: WorkQueue;
  private readonly timers: TimerQueue;
  private readonly events: EventSink;
  private readonly onError: (err: unknown) => void;
  private readonly readyDelayMs: number;
  private readonly heartbeatMs: number;
  private readonly nodeStatusMs: number;
  private readonly capacity: Required<NodeCapacity>;
  private readonly timing: { crashBackoffMs: number; maxCrashBackoffMs: number };
  private ready = false;
  private stopped = false;
  private heartbeatTimer: unknown;
  private statusTimer: unknown;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly client: Client,
    opts: SimOptions,
  ) {
    this.clock = opts.clock ?? realClock;
    this.names =
      typeof opts.nodes === 'number'
        ? Array.from({ length: opts.nodes }, (_, i) => `sim-${i}`)
        : [...opts.nodes];
    this.readyDelayMs = opts.readyDelayMs ?? 0;
    this.heartbeatMs = opts.heartbeatMs ?? 10_000;
    this.nodeStatusMs = opts.nodeStatusMs ?? 60_000;
    this.capacity = { ...DEFAULT_CAPACITY, ...opts.capacity };
    const backoff = opts.crashBackoffMs ?? 10_000;
    this.timing = { crashBackoffMs: backoff, maxCrashBackoffMs: backoff * 30 };
    this.onError = opts.onError ?? ((err) => console.error('sim nodes:', err));
    this.informer = new Informer(client, PODS, { clock: this.clock });
    this.queue = new WorkQueue((key) => this.sync(key), {
      name: 'sim-kubelet',
      concurrency: opts.concurrency ?? 64,
      clock: this.clock,
      rateLimiter: new ExponentialRateLimiter(20, 10_000),
      onError: (key, err) =>
        this.onError(new Error(`pod ${key}: ${err instanceof Error ? err.message : String(err)}`)),
    });
    this.timers = new TimerQueue(this.clock, (key) => this.queue.add(key));
    this.events = new EventSink(
      opts.eventConcurrency ?? 16,
      opts.eventBacklog ?? 50_000,
      () => this.queue.len() > 0,
    );
    const pods = Number.parseInt(this.capacity.pods, 10);
    this.names.forEach((name, index) => {
      const cidr = opts.podCidr
        ? opts.podCidr(index)
        : defaultPodCidr(index, Number.isFinite(pods) ? pods : 110);
      parseCidr(cidr);
      const recorder = createRecorder(client, 'kubelet', {
        host: name,
        now: () => new Date(this.clock.now()),
        onError: () => undefined,
      });
      this.nodes.set(name, {
        name,
        index,
        ip: nodeAddress(index),
        cidr,
        allocator: new PodIpAllocator(cidr),
        alive: true,
        node: undefined,
        lease: undefined,
        bootId: newBootId(name),
        recorder,
        ref: { apiVersion: 'v1', kind: 'Node', metadata: { name, uid: name } },
        withPorts: new Set(),
      });
    });
  }

  async start(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => this.register(n)));
    const consider = (pod: KObject): void => {
      if (!this.ready) return;
      const node = rec(pod.spec).nodeName;
      if (typeof node === 'string' && this.nodes.has(node)) this.queue.add(this.keyOf(pod));
    };
    this.informer.addEventHandler({
      onAdd: consider,
      onUpdate: (_old, pod) => consider(pod),
      onDelete: consider,
    });
    this.informer.start();
    await this.informer.waitForSync();
    this.adoptExisting();
    this.ready = true;
    this.heartbeatTimer = this.clock.setTimeout(() => this.heartbeatTick(), this.heartbeatMs);
    this.statusTimer = this.clock.setTimeout(() => this.statusTick(), this.nodeStatusMs);
  }

  private keyOf(pod: KObject): string {
    return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
  }

  /** Takes over pods an earlier agent ran on our nodes (restart), then queues every pod of ours, oldest first. */
  private adoptExisting(): void {
    const now = this.clock.now();
    const ours = this.informer.list(undefined, (p) => this.nodes.has(String(rec(p.spec).nodeName ?? '')));
    ours.sort((a, b) =>
      (a.metadata.creationTimestamp ?? '') < (b.metadata.creationTimestamp ?? '')
        ? -1
        : (a.metadata.creationTimestamp ?? '') > (b.metadata.creationTimestamp ?? '')
          ? 1
          : 0,
    );
    for (const pod of ours) {
      const n = this.nodes.get(String(rec(pod.spec).nodeName));
      if (!n) continue;
      const rt = new SimPod(pod, n.name, now, this.readyDelayMs);
      if (!rt.adopt(pod, now)) continue;
      this.runtimes.set(rt.key, rt);
      if (rt.ip && rec(pod.spec).hostNetwork !== true) n.allocator.reserve(rt.ip);
      rt.hostPorts = SimPod.hostPorts(pod);
      if (!rt.finished && rt.hostPorts.length > 0) n.withPorts.add(rt);
      if (rt.finished) rt.released = true;
    }
    for (const pod of ours) this.queue.add(this.keyOf(pod));
  }

  // ---- nodes ------------------------------------------------------------------

  private async register(n: NodeState): Promise<void> {
    try {
      n.node = await this.client.create(NODES, undefined, nodeObject(n.name, n.cidr), {
        fieldManager: 'kubelet',
      });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      n.node = await this.adoptNode(n);
    }
    this.nodeEvent(n, 'Normal', 'Starting', 'Starting kubelet.');
    this.nodeEvent(n, 'Normal', 'NodeAllocatableEnforced', 'Updated Node Allocatable limit across pods');
    await this.postNodeStatus(n);
    // No lease namespace yet is not fatal: the next heartbeat tries again.
    await this.renewLease(n).catch((err: unknown) => this.onError(err));
  }

  /** An existing Node (agent restart): keep its pod CIDR, restore our labels if they went missing. */
  private async adoptNode(n: NodeState): Promise<KObject> {
    const node = await this.client.get(NODES, undefined, n.name);
    const spec = rec(node.spec);
    const patch: { metadata?: Record<string, unknown>; spec?: Record<string, unknown> } = {};
    const labels = node.metadata.labels ?? {};
    const wantLabels = nodeLabels(n.name);
    const missing = Object.entries(wantLabels).filter(([k]) => labels[k] === undefined);
    const annotations = node.metadata.annotations ?? {};
    const missingAnn = Object.entries(NODE_ANNOTATIONS).filter(([k]) => annotations[k] === undefined);
    if (missing.length > 0 || missingAnn.length > 0) {
      patch.metadata = {};
      if (missing.length > 0) patch.metadata.labels = Object.fromEntries(missing);
      if (missingAnn.length > 0) patch.metadata.annotations = Object.fromEntries(missingAnn);
    }
    const existingCidr = typeof spec.podCIDR === 'string' ? spec.podCIDR : '';
    if (existingCidr) {
      try {
        n.allocator = new PodIpAllocator(existingCidr);
        n.cidr = existingCidr;
      } catch {
        // Not an IPv4 CIDR we can allocate from: keep ours for pod IPs.
      }
    } else {
      patch.spec = { podCIDR: n.cidr, podCIDRs: [n.cidr] };
    }
    if (patch.metadata || patch.spec) {
      return this.client.patch(NODES, undefined, n.name, 'merge', patch, { fieldManager: 'kubelet' });
    }
    return node;
  }

  private nodeEvent(n: NodeState, type: EventType, reason: string, message: string): void {
    this.events.push(() => n.recorder.event(n.ref, type, reason, message));
  }

  /** Posts the node status (conditions, capacity, addresses, node info) with a fresh heartbeat. */
  private async postNodeStatus(n: NodeState): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const cur = n.node ?? (await this.client.get(NODES, undefined, n.name));
        const { status, events } = nodeStatus(
          cur.status,
          { name: n.name, ip: n.ip, capacity: this.capacity, bootId: n.bootId },
          this.clock.now(),
        );
        n.node = await this.client.update(
          NODES,
          undefined,
          { ...cur, status },
          { subresource: 'status', fieldManager: 'kubelet' },
        );
        for (const ev of events) this.nodeEvent(n, 'Normal', ev, `Node ${n.name} status is now: ${ev}`);
        return;
      } catch (e) {
        n.node = undefined;
        if (isConflict(e)) continue;
        if (isNotFound(e)) return; // deleted: the kubelet does not re-register on its own
        throw e;
      }
    }
  }

  private async renewLease(n: NodeState): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = this.clock.now();
      try {
        if (!n.lease) {
          try {
            n.lease = await this.client.get(LEASES, NODE_LEASE_NAMESPACE, n.name);
          } catch (e) {
            if (!isNotFound(e)) throw e;
            const node = n.node ?? (await this.client.get(NODES, undefined, n.name));
            n.lease = await this.client.create(LEASES, NODE_LEASE_NAMESPACE, leaseObject(node, now), {
              fieldManager: 'kubelet',
            });
            return;
          }
        }
        const next = structuredClone(n.lease);
        next.spec = {
          ...rec(next.spec),
          holderIdentity: n.name,
          leaseDurationSeconds: 40,
          renewTime: microTime(now),
        };
        n.lease = await this.client.update(LEASES, NODE_LEASE_NAMESPACE, next, { fieldManager: 'kubelet' });
        return;
      } catch (e) {
        n.lease = undefined;
        if (isConflict(e) || isNotFound(e) || isAlreadyExists(e)) continue;
        throw e;
      }
    }
  }

  private track<T>(p: Promise<T>): void {
    const q = p.catch((err: unknown) => this.onError(err)).finally(() => this.inflight.delete(q));
    this.inflight.add(q);
  }

  private heartbeatTick(): void {
    if (this.stopped) return;
    for (const n of this.nodes.values()) if (n.alive) this.track(this.renewLease(n));
    this.heartbeatTimer = this.clock.setTimeout(() => this.heartbeatTick(), this.heartbeatMs);
  }

  private statusTick(): void {
    if (this.stopped) return;
    for (const n of this.nodes.values()) if (n.alive) this.track(this.postNodeStatus(n));
    this.statusTimer = this.clock.setTimeout(() => this.statusTick(), this.nodeStatusMs);
  }

  stopHeartbeats(node: string): void {
    const n = this.nodes.get(node);
    if (!n) throw new Error(`unknown simulated node ${node}`);
    n.alive = false;
  }

  resumeHeartbeats(node: string): void {
    const n = this.nodes.get(node);
    if (!n) throw new Error(`unknown simulated node ${node}`);
    if (n.alive) return;
    n.alive = true;
    this.track(
      (async () => {
        // Node status first, so the node controller sees Ready before the pods turn ready again.
        await this.postNodeStatus(n);
        await this.renewLease(n);
        if (this.stopped) return;
        for (const pod of this.informer.list(undefined, (p) => rec(p.spec).nodeName === node)) {
          this.queue.add(this.keyOf(pod));
        }
      })(),
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeatTimer !== undefined) this.clock.clearTimeout(this.heartbeatTimer);
    if (this.statusTimer !== undefined) this.clock.clearTimeout(this.statusTimer);
    this.timers.stop();
    await this.queue.shutdown();
    await this.informer.stop();
    await Promise.all([...this.inflight]);
    await this.events.close();
  }

  // ---- pods -------------------------------------------------------------------

  /** The freshest copy of a pod: our own last write while the informer has not caught up with it. */
  private latest(key: string): KObject | undefined {
    const i = key.indexOf('/');
    const cached = this.informer.get(key.slice(0, i), key.slice(i + 1));
    const w = this.written.get(key);
    if (!w) return cached;
    if (
      cached &&
      cached.metadata.uid === w.obj.metadata.uid &&
      cached.metadata.resourceVersion === w.fromRv
    ) {
      return w.obj;
    }
    this.written.delete(key);
    return cached;
  }

  private forget(rt: SimPod): void {
    this.release(rt);
    if (this.runtimes.get(rt.key) === rt) this.runtimes.delete(rt.key);
    this.timers.cancel(rt.key);
  }

  /** Hands back the pod's IP and host ports (its containers stopped for good). */
  private release(rt: SimPod): void {
    if (rt.released) return;
    rt.released = true;
    const n = this.nodes.get(rt.node);
    if (!n) return;
    n.withPorts.delete(rt);
    if (rt.ip && rt.ip !== n.ip) n.allocator.release(rt.ip);
  }

  /** First sight of a pod: kubelet admission (host ports), then a sandbox IP. */
  private admit(pod: KObject, n: NodeState, now: number, emit: (e: KubeletEvent) => void): SimPod {
    const rt = new SimPod(pod, n.name, now, this.readyDelayMs);
    this.runtimes.set(rt.key, rt);
    const ports = SimPod.hostPorts(pod);
    rt.hostPorts = ports;
    if (ports.length > 0) {
      for (const other of n.withPorts) {
        if (!other.finished && hostPortsConflict(ports, other.hostPorts)) {
          rt.rejected = { reason: NODE_PORTS_REASON, message: NODE_PORTS_MESSAGE };
          rt.released = true;
          emit({ type: 'Warning', reason: NODE_PORTS_REASON, message: NODE_PORTS_MESSAGE });
          return rt;
        }
      }
      n.withPorts.add(rt);
    }
    return rt;
  }

  /** Gives the pod a sandbox IP if it has none; false when the node's range is exhausted. */
  private ensureIp(
    pod: KObject,
    rt: SimPod,
    n: NodeState,
    emit: (e: KubeletEvent) => void,
    now: number,
  ): boolean {
    if (rt.ip) return true;
    if (rec(pod.spec).hostNetwork === true) {
      rt.ip = n.ip;
      return true;
    }
    const ip = n.allocator.allocate();
    if (ip) {
      rt.ip = ip;
      return true;
    }
    emit({
      type: 'Warning',
      reason: 'FailedCreatePodSandBox',
      message: `Failed to create pod sandbox: failed to allocate for range 0: no IP addresses available in range set: ${n.cidr}`,
    });
    this.timers.schedule(rt.key, now + SANDBOX_RETRY_MS);
    return false;
  }

  private async sync(key: string): Promise<{ requeueAfterMs?: number } | undefined> {
    try {
      return await this.syncPod(key);
    } finally {
      if (this.queue.len() === 0) this.events.kick();
    }
  }

  private async syncPod(key: string): Promise<{ requeueAfterMs?: number } | undefined> {
    if (this.stopped) return undefined;
    const pod = this.latest(key);
    let rt = this.runtimes.get(key);
    if (rt && (!pod || rt.uid !== pod.metadata.uid)) {
      this.forget(rt);
      this.written.delete(key);
      rt = undefined;
    }
    if (!pod) return undefined;
    const n = this.nodes.get(String(rec(pod.spec).nodeName ?? ''));
    if (!n?.alive) return undefined;

    const now = this.clock.now();
    const events: KubeletEvent[] = [];
    const emit = (e: KubeletEvent): void => {
      events.push(e);
    };
    if (!rt) rt = this.admit(pod, n, now, emit);
    let wakeAt: number | undefined;
    if (!rt.rejected) {
      const hasIp = rt.finished || this.ensureIp(pod, rt, n, emit, now);
      if (hasIp || pod.metadata.deletionTimestamp) {
        const r = rt.advance(pod, now, this.timing);
        for (const e of r.events) events.push(e);
        wakeAt = r.wakeAt;
      }
    }
    if (rt.finished) this.release(rt);
    for (const e of events) this.events.push(() => n.recorder.event(pod, e.type, e.reason, e.message));

    if (!rt.keepStatus) {
      const status = rt.status(pod, now, n.ip);
      if (!jsonEqual(status, pod.status)) {
        try {
          const out = await this.client.update(
            PODS,
            pod.metadata.namespace,
            { ...pod, status },
            { subresource: 'status', fieldManager: 'kubelet' },
          );
          this.written.set(key, { fromRv: pod.metadata.resourceVersion, obj: out });
        } catch (e) {
          if (isNotFound(e)) return undefined;
          // The cache lagged behind someone else's write: look again once it caught up.
          if (isConflict(e)) return { requeueAfterMs: 50 };
          throw e;
        }
      }
    }

    if (pod.metadata.deletionTimestamp && rt.finished && !rt.deleteSent) {
      try {
        await this.client.delete(PODS, pod.metadata.namespace, pod.metadata.name ?? '', {
          gracePeriodSeconds: 0,
          preconditions: { uid: rt.uid },
        });
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
      rt.deleteSent = true;
    }
    if (wakeAt !== undefined) this.timers.schedule(key, wakeAt);
    return undefined;
  }
}

export async function startSimNodes(client: Client, opts: SimOptions): Promise<SimNodes> {
  const sim = new Sim(client, opts);
  try {
    await sim.start();
  } catch (e) {
    await sim.stop();
    throw e;
  }
  return sim;
}
