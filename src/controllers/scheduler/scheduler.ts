/**
 * The scheduler: assigns pending pods to nodes as kube-scheduler 1.33's
 * default profile does, in one process.
 *
 * Pods that are unassigned, ours (spec.schedulerName), not terminating, not
 * finished and not gated are queued by key. A scheduling cycle is synchronous
 * (PreFilter → Filter over every node → Score → assume), so cycles never see
 * each other half-done even with several workers; the pod is then "assumed"
 * on its node in the cache (its requests count there at once) and bound
 * through the pods/binding subresource. Per-node sums are maintained
 * incrementally from the informers, so a cycle costs O(nodes).
 *
 * Unschedulable pods get PodScheduled=False/Unschedulable with upstream's
 * FitError message and a FailedScheduling event, and are retried when a
 * relevant cluster event happens (after their backoff: 1 s doubling to 10 s)
 * and periodically (5 s doubling to 60 s).
 *
 * Filters: NodeUnschedulable, TaintToleration (a node whose Ready condition
 * is not True counts as tainted not-ready/unreachable, as the kubelet and the
 * node lifecycle controller taint it), NodeAffinity, NodePorts,
 * NodeResourcesFit, VolumeRestrictions (ReadWriteOncePod), VolumeBinding and
 * required InterPodAffinity. Scores: least allocated, balanced allocation,
 * PreferNoSchedule taints, preferred node affinity and spreading of a
 * workload's replicas, with upstream's default weights. Preemption is only
 * evaluated for the message: no pods are evicted.
 *
 * Pods with unbound WaitForFirstConsumer claims: the chosen node is written
 * to the claims (volume.kubernetes.io/selected-node) or matching PVs are
 * pre-bound, the pod stays assumed on the node, and it is bound once the PV
 * controller has bound every claim (upstream VolumeBinding PreBind).
 */
import { isConflict, isNotFound } from '../../api/errors.js';
import { isObject, type KObject } from '../../api/types.js';
import { type Informer, type InformerFactory, splitKey } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import { type Clock, ExponentialRateLimiter, realClock, WorkQueue } from '../../client/workqueue.js';
import { createRecorder, type EventRecorder } from '../events.js';
import { podPhase, podSpec, podStatus, rfc3339, setCondition } from '../util/pods.js';
import { NAMESPACES, NODES, PODS, PVCS, PVS, STORAGECLASSES } from '../util/resources.js';
import { podKey, SchedulerCache } from './cache.js';
import {
  balancedAllocationScore,
  ERR_AFFINITY_CONFLICT,
  ERR_NODE_PORTS,
  ERR_RWOP_CONFLICT,
  type FilterStatus,
  fitsResources,
  intolerablePreferNoSchedule,
  leastAllocatedScore,
  nodeAffinityFilter,
  nodePortsFilter,
  nodeUnschedulableFilter,
  type PodAffinity,
  podAffinity,
  preferredAffinityWeight,
  taintTolerationFilter,
} from './filters.js';
import {
  fitErrorMessage,
  NO_NODES_AVAILABLE,
  NO_PREEMPTION_VICTIMS,
  PREEMPTION_NOT_HELPFUL,
  PREEMPTION_POLICY_NEVER,
} from './fit-error.js';
import { type InterPodSource, interPodFilter, interPodPreFilter } from './interpod.js';
import type { NodeInfo, PodEntry } from './nodeinfo.js';
import { emptyResources, type PodInfo, podInfo } from './podinfo.js';
import {
  ANN_BOUND_BY_CONTROLLER,
  ANN_SELECTED_NODE,
  checkVolumeBindings,
  claimKey,
  type PodVolumeClaims,
  type VolumeLookups,
  type VolumePlan,
  volumeFilter,
  volumePreFilter,
} from './volumes.js';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export interface SchedulerOptions {
  clock?: Clock;
  /** Pods with this spec.schedulerName are ours (default "default-scheduler"). */
  schedulerName?: string;
  /** Events recorder (default: core/v1 Events from component <schedulerName>). */
  recorder?: EventRecorder;
  /** Scheduling cycles and bindings in flight at once (default 16). */
  parallelism?: number;
  /** How long a pod waits for its volumes to be bound before it is scheduled again (default 600 s). */
  bindTimeoutMs?: number;
  /** Unexpected errors (default console.error). */
  onError?: (err: unknown) => void;
}

/** Initial and maximum per-pod backoff after a failed attempt (upstream podInitialBackoff/podMaxBackoff). */
export const POD_INITIAL_BACKOFF_MS = 1_000;
export const POD_MAX_BACKOFF_MS = 10_000;
/** Periodic retry of unschedulable pods without any cluster event. */
export const UNSCHEDULABLE_RETRY_MS = 5_000;
export const UNSCHEDULABLE_MAX_RETRY_MS = 60_000;

/** Plugins whose verdict an assigned pod going away can change. */
const POD_DELETE_PLUGINS: ReadonlySet<string> = new Set([
  'NodeResourcesFit',
  'NodePorts',
  'VolumeRestrictions',
  'InterPodAffinity',
]);
/** Plugins whose verdict a newly assigned pod can change (pod affinity). */
const POD_ADD_PLUGINS: ReadonlySet<string> = new Set(['InterPodAffinity']);
/** Plugins whose verdict a PVC / PV / StorageClass change can change. */
const VOLUME_PLUGINS: ReadonlySet<string> = new Set(['VolumeBinding', 'VolumeRestrictions']);

/** Event spam filter per pod (client-go EventSourceObjectSpamFilter defaults: burst 25, 1 per 5 min). */
const EVENT_BURST = 25;
const EVENT_REFILL_MS = 300_000;

export type SchedulingDecision =
  | { kind: 'fit'; node: NodeInfo; plan: VolumePlan | undefined }
  | { kind: 'fail'; message: string; plugins: Set<string> };

interface UnschedulableEntry {
  uid: string;
  attempts: number;
  lastAttempt: number;
  /** Plugins that rejected the pod in its last attempt ("*" for everything). */
  plugins: Set<string>;
}

interface WaitingEntry {
  uid: string;
  nodeName: string;
  plan: VolumePlan;
  deadline: number;
  assumedPVs: string[];
}

function backoffMs(attempts: number): number {
  return Math.min(POD_INITIAL_BACKOFF_MS * 2 ** Math.max(0, attempts - 1), POD_MAX_BACKOFF_MS);
}

function periodicRetryMs(attempts: number): number {
  return Math.min(
    UNSCHEDULABLE_RETRY_MS * 2 ** Math.max(0, Math.min(attempts - 1, 10)),
    UNSCHEDULABLE_MAX_RETRY_MS,
  );
}

function isTerminal(pod: KObject): boolean {
  const p = podPhase(pod);
  return p === 'Succeeded' || p === 'Failed';
}

function nodeNameOf(pod: KObject): string {
  const n = podSpec(pod).nodeName;
  return typeof n === 'string' ? n : '';
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Event messages are capped at 1 kB, as upstream's truncateMessage does. */
export function truncateMessage(message: string): string {
  const max = 1024;
  return message.length <= max ? message : `${message.slice(0, max - 3)}...`;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function readyStatus(node: KObject): unknown {
  const st = isObject(node.status) ? node.status : {};
  const conds = Array.isArray(st.conditions) ? st.conditions.filter(isObject) : [];
  return conds.find((c) => c.type === 'Ready')?.status;
}

/** A node update that can change a scheduling verdict (not a heartbeat). */
function nodeChangeMatters(a: KObject, b: KObject): boolean {
  const sa = isObject(a.spec) ? a.spec : {};
  const sb = isObject(b.spec) ? b.spec : {};
  const ta = isObject(a.status) ? a.status : {};
  const tb = isObject(b.status) ? b.status : {};
  return (
    !sameJson(a.metadata.labels, b.metadata.labels) ||
    !sameJson(sa.taints, sb.taints) ||
    sa.unschedulable !== sb.unschedulable ||
    !sameJson(ta.allocatable, tb.allocatable) ||
    readyStatus(a) !== readyStatus(b)
  );
}

export class Scheduler {
  readonly queue: WorkQueue;
  readonly cache = new SchedulerCache();
  readonly schedulerName: string;
  private readonly clock: Clock;
  private readonly recorder: EventRecorder;
  private readonly bindTimeoutMs: number;
  private readonly onError: (err: unknown) => void;
  private readonly podInf: Informer;
  private readonly nodeInf: Informer;
  private readonly pvcInf: Informer;
  private readonly pvInf: Informer;
  private readonly scInf: Informer;
  private readonly nsInf: Informer;
  private readonly unschedulable = new Map<string, UnschedulableEntry>();
  private readonly waiting = new Map<string, WaitingEntry>();
  /** PV name → claim ("ns/name") it was pre-bound to by a pod still waiting for its volumes. */
  private readonly assumedPVs = new Map<string, string>();
  private readonly eventBudget = new Map<string, { tokens: number; at: number }>();
  private readonly lookups: VolumeLookups;
  private readonly interPod: InterPodSource;
  private unsubscribe: Array<() => void> = [];
  private ready: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly client: Client,
    informers: InformerFactory,
    opts: SchedulerOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.recorder = opts.recorder ?? createRecorder(client, this.schedulerName, { onError: () => undefined });
    this.bindTimeoutMs = opts.bindTimeoutMs ?? 600_000;
    this.onError = opts.onError ?? ((err) => console.error('scheduler:', err));
    this.podInf = informers.forResource(PODS);
    this.nodeInf = informers.forResource(NODES);
    this.pvcInf = informers.forResource(PVCS);
    this.pvInf = informers.forResource(PVS);
    this.scInf = informers.forResource(STORAGECLASSES);
    this.nsInf = informers.forResource(NAMESPACES);
    this.lookups = {
      pvc: (ns, name) => this.pvcInf.get(ns, name),
      pv: (name) => this.pvInf.get(undefined, name),
      pvs: () => this.pvInf.list(),
      storageClass: (name) => this.scInf.get(undefined, name),
      assumedClaimOf: (name) => this.assumedPVs.get(name),
    };
    this.interPod = {
      podsWithAntiAffinity: () => this.cache.withAntiAffinity,
      podsIn: (ns) => this.cache.podsIn(ns),
      nodeInfo: (name) => this.cache.nodeInfo(name),
      namespaceLabels: (ns) => this.nsInf.get(undefined, ns)?.metadata.labels,
    };
    this.queue = new WorkQueue((key) => this.sync(key), {
      name: 'scheduler',
      concurrency: opts.parallelism ?? 16,
      clock: this.clock,
      rateLimiter: new ExponentialRateLimiter(5, POD_MAX_BACKOFF_MS),
      onError: (key, err) => {
        if (this.stopped || isConflict(err) || isNotFound(err)) return;
        this.onError(new Error(`scheduling ${key}: ${errMessage(err)}`));
      },
    });
  }

  start(): void {
    this.unsubscribe.push(
      this.nodeInf.addEventHandler({
        onAdd: (n) => {
          this.cache.setNode(n);
          this.moveUnschedulable(undefined);
        },
        onUpdate: (old, n) => {
          this.cache.setNode(n);
          if (nodeChangeMatters(old, n)) this.moveUnschedulable(undefined);
        },
        onDelete: (n) => this.cache.removeNode(n.metadata.name ?? ''),
      }),
      this.podInf.addEventHandler({
        onAdd: (p) => this.onPod(undefined, p),
        onUpdate: (old, p) => this.onPod(old, p),
        onDelete: (p) => this.onPodDelete(p),
      }),
    );
    const volumeEvent = (): void => {
      this.moveUnschedulable(VOLUME_PLUGINS);
      for (const k of this.waiting.keys()) this.queue.add(k);
    };
    for (const inf of [this.pvcInf, this.pvInf, this.scInf]) {
      this.unsubscribe.push(
        inf.addEventHandler({ onAdd: volumeEvent, onUpdate: volumeEvent, onDelete: volumeEvent }),
      );
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    await this.queue.shutdown();
  }

  // ---------------------------------------------------------------------------
  // event handlers

  private responsible(pod: KObject): boolean {
    const name = podSpec(pod).schedulerName;
    return (typeof name === 'string' && name !== '' ? name : DEFAULT_SCHEDULER_NAME) === this.schedulerName;
  }

  /** Unassigned, ours, not terminating, not finished and not gated. */
  needsScheduling(pod: KObject): boolean {
    if (nodeNameOf(pod) || !this.responsible(pod) || pod.metadata.deletionTimestamp || isTerminal(pod))
      return false;
    const gates = podSpec(pod).schedulingGates;
    return !(Array.isArray(gates) && gates.length > 0);
  }

  private onPod(old: KObject | undefined, pod: KObject): void {
    const key = podKey(pod);
    const uid = pod.metadata.uid ?? '';
    const nodeName = nodeNameOf(pod);
    if (nodeName) {
      if (isTerminal(pod)) {
        // The scheduler ignores finished pods (upstream's informer excludes them): resources are free.
        if (this.cache.removePod(key, uid)) this.moveUnschedulable(POD_DELETE_PLUGINS);
      } else if (this.cache.addOrUpdatePod(pod, nodeName)) {
        this.moveUnschedulable(POD_ADD_PLUGINS);
      }
      this.unschedulable.delete(key);
      this.eventBudget.delete(`${key}/${uid}`);
      if (this.waiting.has(key)) this.queue.add(key);
      return;
    }
    if (!this.responsible(pod)) return;
    const u = this.unschedulable.get(key);
    if (u && u.uid === uid && old) {
      // Our own status writes come back here: only a changed spec or labels can change the verdict.
      if (sameJson(old.spec, pod.spec) && sameJson(old.metadata.labels, pod.metadata.labels)) {
        if (!pod.metadata.deletionTimestamp) return;
      }
      this.queue.addAfter(key, Math.max(0, u.lastAttempt + backoffMs(u.attempts) - this.clock.now()));
      return;
    }
    this.queue.add(key);
  }

  private onPodDelete(pod: KObject): void {
    const key = podKey(pod);
    const uid = pod.metadata.uid ?? '';
    if (this.cache.removePod(key, uid)) this.moveUnschedulable(POD_DELETE_PLUGINS);
    if (this.unschedulable.get(key)?.uid === uid) this.unschedulable.delete(key);
    this.eventBudget.delete(`${key}/${uid}`);
    const w = this.waiting.get(key);
    if (w && w.uid === uid) this.abandonWaiting(key);
  }

  /**
   * Sends unschedulable pods rejected by one of `plugins` (all of them when
   * undefined) back to the queue once their backoff has passed.
   */
  private moveUnschedulable(plugins: ReadonlySet<string> | undefined): void {
    if (this.unschedulable.size === 0) return;
    const now = this.clock.now();
    for (const [key, u] of this.unschedulable) {
      // Pods waiting for their volumes are driven by PVC/PV events and their deadline.
      if (this.waiting.has(key)) continue;
      if (plugins && !u.plugins.has('*')) {
        let hit = false;
        for (const p of u.plugins) {
          if (plugins.has(p)) {
            hit = true;
            break;
          }
        }
        if (!hit) continue;
      }
      this.queue.addAfter(key, Math.max(0, u.lastAttempt + backoffMs(u.attempts) - now));
    }
  }

  // ---------------------------------------------------------------------------
  // the scheduling loop

  private whenReady(): Promise<void> {
    this.ready ??= Promise.all(
      [this.podInf, this.nodeInf, this.pvcInf, this.pvInf, this.scInf, this.nsInf].map((i) =>
        i.waitForSync(),
      ),
    ).then(() => undefined);
    return this.ready;
  }

  private async sync(key: string): Promise<void> {
    await this.whenReady();
    if (this.stopped) return;
    const { namespace, name } = splitKey(key);
    const pod = this.podInf.get(namespace, name);
    if (!pod) {
      this.unschedulable.delete(key);
      if (this.waiting.has(key)) this.abandonWaiting(key);
      return;
    }
    const uid = pod.metadata.uid ?? '';
    const w = this.waiting.get(key);
    if (w) {
      if (w.uid === uid && this.needsScheduling(pod)) {
        await this.continueWaiting(key, pod, w);
        return;
      }
      this.abandonWaiting(key);
    }
    if (!this.needsScheduling(pod)) {
      this.unschedulable.delete(key);
      return;
    }
    // Assumed: its binding is in flight or not yet visible.
    if (this.cache.has(key, uid)) return;

    const d = this.schedulePod(pod);
    if (d.kind === 'fail') {
      await this.recordFailure(pod, key, d.message, d.plugins, 'Unschedulable');
      return;
    }
    const entry = this.cache.assume(pod, d.node.name);
    const plan = d.plan;
    if (plan && (plan.staticBindings.length > 0 || plan.provisions.length > 0)) {
      await this.startVolumeBinding(key, pod, entry, plan);
      return;
    }
    await this.bind(pod, entry);
  }

  /**
   * One scheduling cycle (synchronous): PreFilter, Filter on every node,
   * Score, select. On failure, the message is upstream's FitError text.
   */
  schedulePod(pod: KObject): SchedulingDecision {
    const nodes = this.cache.nodes();
    const numAll = nodes.length;
    if (numAll === 0) return { kind: 'fail', message: NO_NODES_AVAILABLE, plugins: new Set(['*']) };
    const info = podInfo(pod);
    const aff = podAffinity(pod);

    // PreFilter.
    let candidates = nodes;
    let absent: FilterStatus | undefined;
    const preFilterFail = (s: FilterStatus): SchedulingDecision => ({
      kind: 'fail',
      message: fitErrorMessage(
        { numAllNodes: numAll, preFilterMsg: s.reasons.join(', '), nodeStatuses: [], evaluated: 0 },
        this.preemptionMessage(pod, info, nodes, new Map(), s),
      ),
      plugins: new Set([s.plugin]),
    });
    if (aff.nodeNames === 'conflict') {
      return preFilterFail({
        code: 'UnschedulableAndUnresolvable',
        reasons: [ERR_AFFINITY_CONFLICT],
        plugin: 'NodeAffinity',
      });
    }
    if (aff.nodeNames) {
      const named = aff.nodeNames;
      candidates = nodes.filter((n) => named.has(n.name));
      absent = {
        code: 'UnschedulableAndUnresolvable',
        reasons: ["node(s) didn't satisfy plugin(s) [NodeAffinity]"],
        plugin: 'NodeAffinity',
      };
    }
    const vol = volumePreFilter(pod, info.claims, this.lookups);
    if (vol.status) return preFilterFail(vol.status);
    const claims: PodVolumeClaims | undefined = vol.claims;
    const interPod = interPodPreFilter(pod, info.affinityTerms, info.antiAffinityTerms, this.interPod);
    let rwopConflict = false;
    for (const k of claims?.readWriteOncePod ?? [])
      if ((this.cache.pvcRefs.get(k) ?? 0) > 0) rwopConflict = true;

    // Filter.
    const statuses = new Map<NodeInfo, FilterStatus>();
    const feasible: NodeInfo[] = [];
    const plans = new Map<NodeInfo, VolumePlan>();
    for (const node of candidates) {
      let s = this.filterNode(info, aff, node, rwopConflict);
      if (!s && claims) {
        const r = volumeFilter(claims, node, this.lookups);
        if (r.status) s = r.status;
        else if (r.plan) plans.set(node, r.plan);
      }
      if (!s && interPod) s = interPodFilter(interPod, node);
      if (s) statuses.set(node, s);
      else feasible.push(node);
    }
    if (feasible.length === 0) {
      const plugins = new Set<string>();
      for (const s of statuses.values()) plugins.add(s.plugin);
      if (absent) plugins.add(absent.plugin);
      const message = fitErrorMessage(
        {
          numAllNodes: numAll,
          nodeStatuses: statuses.values(),
          evaluated: candidates.length,
          absentStatus: absent,
        },
        this.preemptionMessage(pod, info, nodes, statuses, absent),
      );
      return { kind: 'fail', message, plugins };
    }
    const node = this.selectHost(info, aff, feasible);
    return { kind: 'fit', node, plan: plans.get(node) };
  }

  /** The Filter plugins up to NodeResourcesFit and VolumeRestrictions; the first failure wins. */
  private filterNode(
    info: PodInfo,
    aff: PodAffinity,
    node: NodeInfo,
    rwopConflict: boolean,
  ): FilterStatus | undefined {
    return (
      nodeUnschedulableFilter(info, node) ??
      taintTolerationFilter(info, node) ??
      nodeAffinityFilter(aff, node) ??
      nodePortsFilter(info, node) ??
      fitsResources(
        info,
        { requested: node.requested, podCount: node.podCount },
        node.allocatable,
        node.allowedPods,
      ) ??
      (rwopConflict
        ? { code: 'Unschedulable', reasons: [ERR_RWOP_CONFLICT], plugin: 'VolumeRestrictions' }
        : undefined)
    );
  }

  /**
   * DefaultPreemption's PostFilter message. Nodes rejected as unresolvable
   * are "not helpful"; on the others, lower-priority pods are the potential
   * victims: none → "No preemption victims found", otherwise the filters are
   * run again without them. When preemption could make room, upstream
   * preempts and reports nothing here (this scheduler does not evict).
   */
  private preemptionMessage(
    pod: KObject,
    info: PodInfo,
    nodes: readonly NodeInfo[],
    statuses: ReadonlyMap<NodeInfo, FilterStatus>,
    absent: FilterStatus | undefined,
  ): string | undefined {
    if (podSpec(pod).preemptionPolicy === 'Never') return `preemption: ${PREEMPTION_POLICY_NEVER}`;
    const out: FilterStatus[] = [];
    for (const node of nodes) {
      const s = statuses.get(node) ?? absent;
      if (!s || s.code === 'UnschedulableAndUnresolvable') {
        out.push({ code: 'UnschedulableAndUnresolvable', reasons: [PREEMPTION_NOT_HELPFUL], plugin: '' });
        continue;
      }
      const victims: PodEntry[] = [];
      for (const e of node.pods.values()) if (e.info.priority < info.priority) victims.push(e);
      if (victims.length === 0) {
        out.push({ code: 'UnschedulableAndUnresolvable', reasons: [NO_PREEMPTION_VICTIMS], plugin: '' });
        continue;
      }
      const after = this.filterWithout(info, node, victims, s);
      if (!after) return undefined;
      out.push(after);
    }
    return `preemption: ${fitErrorMessage({ numAllNodes: nodes.length, nodeStatuses: out, evaluated: nodes.length })}`;
  }

  /** NodePorts, NodeResourcesFit and VolumeRestrictions on a node with `victims` taken away. */
  private filterWithout(
    info: PodInfo,
    node: NodeInfo,
    victims: readonly PodEntry[],
    original: FilterStatus,
  ): FilterStatus | undefined {
    const gone = new Set(victims);
    for (const p of info.hostPorts) {
      for (const e of node.pods.values()) {
        if (gone.has(e)) continue;
        for (const q of e.info.hostPorts) {
          if (q.port !== p.port || q.protocol !== p.protocol) continue;
          if (p.ip === '0.0.0.0' || q.ip === '0.0.0.0' || p.ip === q.ip)
            return { code: 'Unschedulable', reasons: [ERR_NODE_PORTS], plugin: 'NodePorts' };
        }
      }
    }
    const requested = emptyResources();
    requested.milliCpu = node.requested.milliCpu;
    requested.memory = node.requested.memory;
    requested.ephemeralStorage = node.requested.ephemeralStorage;
    for (const [k, v] of node.requested.scalar) requested.scalar.set(k, v);
    for (const v of victims) {
      requested.milliCpu -= v.info.requests.milliCpu;
      requested.memory -= v.info.requests.memory;
      requested.ephemeralStorage -= v.info.requests.ephemeralStorage;
      for (const [k, n] of v.info.requests.scalar)
        requested.scalar.set(k, (requested.scalar.get(k) ?? 0) - n);
    }
    const fit = fitsResources(
      info,
      { requested, podCount: node.podCount - victims.length },
      node.allocatable,
      node.allowedPods,
    );
    if (fit) return fit;
    // Not re-evaluated without the victims: assume they do not help.
    if (original.plugin === 'VolumeRestrictions' || original.plugin === 'InterPodAffinity') return original;
    return undefined;
  }

  /**
   * Scores feasible nodes (least allocated + balanced allocation, untolerated
   * PreferNoSchedule taints, preferred node affinity, spreading of the
   * workload's replicas) with upstream's default weights. Ties go to the node
   * with fewer pods, then to the first by name.
   */
  private selectHost(info: PodInfo, aff: PodAffinity, feasible: readonly NodeInfo[]): NodeInfo {
    const first = feasible[0]!;
    if (feasible.length === 1) return first;
    const n = feasible.length;
    const taints = new Array<number>(n);
    const affinity = new Array<number>(n);
    const owners = new Array<number>(n);
    let maxTaint = 0;
    let maxAff = 0;
    let maxOwn = 0;
    for (let i = 0; i < n; i++) {
      const node = feasible[i]!;
      const t = intolerablePreferNoSchedule(info, node);
      const a = aff.preferred.length > 0 ? preferredAffinityWeight(aff, node) : 0;
      const o = info.ownerUid ? (node.owners.get(info.ownerUid) ?? 0) : 0;
      taints[i] = t;
      affinity[i] = a;
      owners[i] = o;
      if (t > maxTaint) maxTaint = t;
      if (a > maxAff) maxAff = a;
      if (o > maxOwn) maxOwn = o;
    }
    let best = first;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const node = feasible[i]!;
      const t = taints[i] ?? 0;
      const a = affinity[i] ?? 0;
      const o = owners[i] ?? 0;
      const score =
        leastAllocatedScore(info, node) +
        balancedAllocationScore(info, node) +
        3 * (maxTaint > 0 ? ((maxTaint - t) * 100) / maxTaint : 100) +
        2 * (maxAff > 0 ? (a * 100) / maxAff : 0) +
        2 * (maxOwn > 0 ? ((maxOwn - o) * 100) / maxOwn : 100);
      if (
        score > bestScore + 1e-9 ||
        (Math.abs(score - bestScore) <= 1e-9 && node.podCount < best.podCount)
      ) {
        best = node;
        bestScore = score;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------------------
  // outcomes

  private async bind(pod: KObject, entry: PodEntry): Promise<void> {
    const ns = pod.metadata.namespace ?? '';
    const name = pod.metadata.name ?? '';
    const binding: KObject = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name, namespace: ns, uid: pod.metadata.uid },
      target: { apiVersion: 'v1', kind: 'Node', name: entry.nodeName },
    };
    try {
      await this.client.create(PODS, ns, binding, { subresource: 'binding' });
    } catch (err) {
      this.cache.forget(entry.key, entry.uid);
      // Gone, being deleted or already assigned: the informer tells the rest.
      if (isNotFound(err)) return;
      if (isConflict(err)) {
        this.queue.addRateLimited(entry.key);
        return;
      }
      throw err;
    }
    this.unschedulable.delete(entry.key);
    void this.recorder.event(
      pod,
      'Normal',
      'Scheduled',
      `Successfully assigned ${ns}/${name} to ${entry.nodeName}`,
    );
  }

  /** Records a failed attempt: condition, event, and when to try again. */
  private async recordFailure(
    pod: KObject,
    key: string,
    message: string,
    plugins: Set<string>,
    reason: 'Unschedulable' | 'SchedulerError',
  ): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    const prev = this.unschedulable.get(key);
    const attempts = (prev?.uid === uid ? prev.attempts : 0) + 1;
    const now = this.clock.now();
    this.unschedulable.set(key, { uid, attempts, lastAttempt: now, plugins });
    this.queue.addAfter(key, reason === 'Unschedulable' ? periodicRetryMs(attempts) : backoffMs(attempts));
    if (this.allowEvent(`${key}/${uid}`, now))
      void this.recorder.event(pod, 'Warning', 'FailedScheduling', truncateMessage(message));
    await this.setUnscheduledCondition(pod, reason, message);
  }

  private allowEvent(id: string, now: number): boolean {
    let b = this.eventBudget.get(id);
    if (!b) {
      b = { tokens: EVENT_BURST, at: now };
      this.eventBudget.set(id, b);
    }
    const refill = Math.floor((now - b.at) / EVENT_REFILL_MS);
    if (refill > 0) {
      b.tokens = Math.min(EVENT_BURST, b.tokens + refill);
      b.at += refill * EVENT_REFILL_MS;
    }
    if (b.tokens <= 0) return false;
    b.tokens--;
    return true;
  }

  /** PodScheduled=False with the reason and message, written only when it changes. */
  private async setUnscheduledCondition(pod: KObject, reason: string, message: string): Promise<void> {
    const old = (Array.isArray(podStatus(pod).conditions) ? (podStatus(pod).conditions as unknown[]) : [])
      .filter(isObject)
      .find((c) => c.type === 'PodScheduled');
    if (old && old.status === 'False' && old.reason === reason && old.message === message) return;
    const copy = structuredClone(pod);
    if (!isObject(copy.status)) copy.status = {};
    const status = copy.status as Record<string, unknown>;
    setCondition(
      status,
      { type: 'PodScheduled', status: 'False', lastProbeTime: null, reason, message },
      rfc3339(this.clock.now()),
    );
    try {
      await this.client.update(PODS, pod.metadata.namespace, copy, { subresource: 'status' });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  // ---------------------------------------------------------------------------
  // volume binding (upstream VolumeBinding Reserve/PreBind)

  private async startVolumeBinding(
    key: string,
    pod: KObject,
    entry: PodEntry,
    plan: VolumePlan,
  ): Promise<void> {
    const assumedPVs: string[] = [];
    for (const b of plan.staticBindings) {
      const pvName = b.pv.metadata.name ?? '';
      this.assumedPVs.set(pvName, claimKey(b.pvc));
      assumedPVs.push(pvName);
    }
    const w: WaitingEntry = {
      uid: entry.uid,
      nodeName: entry.nodeName,
      plan,
      deadline: this.clock.now() + this.bindTimeoutMs,
      assumedPVs,
    };
    this.waiting.set(key, w);
    try {
      await this.bindVolumes(pod, plan, entry.nodeName);
    } catch (err) {
      this.abandonWaiting(key);
      if (isNotFound(err) && !this.podInf.get(pod.metadata.namespace, pod.metadata.name ?? '')) return;
      await this.recordFailure(
        pod,
        key,
        `running PreBind plugin "VolumeBinding": ${errMessage(err)}`,
        new Set(['VolumeBinding']),
        'SchedulerError',
      );
      return;
    }
    this.queue.addAfter(key, this.bindTimeoutMs);
    await this.continueWaiting(key, pod, w);
  }

  /** The API writes that hand the claims to the PV controller. */
  private async bindVolumes(pod: KObject, plan: VolumePlan, nodeName: string): Promise<void> {
    const ns = pod.metadata.namespace ?? '';
    for (const b of plan.staticBindings) {
      const pv = structuredClone(b.pv);
      const spec = isObject(pv.spec) ? pv.spec : {};
      spec.claimRef = {
        kind: 'PersistentVolumeClaim',
        namespace: ns,
        name: b.pvc.metadata.name,
        uid: b.pvc.metadata.uid,
        apiVersion: 'v1',
        resourceVersion: b.pvc.metadata.resourceVersion,
      };
      pv.spec = spec;
      pv.metadata.annotations = { ...(pv.metadata.annotations ?? {}), [ANN_BOUND_BY_CONTROLLER]: 'yes' };
      b.pv = await this.client.update(PVS, undefined, pv);
    }
    for (let i = 0; i < plan.provisions.length; i++) {
      const c = plan.provisions[i]!;
      if (c.metadata.annotations?.[ANN_SELECTED_NODE] === nodeName) continue;
      plan.provisions[i] = await this.client.patch(PVCS, ns, c.metadata.name ?? '', 'merge', {
        metadata: { annotations: { [ANN_SELECTED_NODE]: nodeName } },
      });
    }
  }

  private async continueWaiting(key: string, pod: KObject, w: WaitingEntry): Promise<void> {
    const node = this.cache.node(w.nodeName);
    const r = node
      ? checkVolumeBindings(w.plan, pod.metadata.namespace ?? '', node, this.lookups)
      : { error: `failed to get node "${w.nodeName}"` };
    if (r === 'wait') {
      const left = w.deadline - this.clock.now();
      if (left > 0) {
        this.queue.addAfter(key, left);
        return;
      }
      this.abandonWaiting(key);
      await this.recordFailure(
        pod,
        key,
        'running PreBind plugin "VolumeBinding": binding volumes: context deadline exceeded',
        new Set(['VolumeBinding']),
        'SchedulerError',
      );
      return;
    }
    if (r !== 'bound') {
      this.abandonWaiting(key);
      await this.recordFailure(
        pod,
        key,
        `running PreBind plugin "VolumeBinding": binding volumes: ${r.error}`,
        new Set(['VolumeBinding']),
        'SchedulerError',
      );
      return;
    }
    this.waiting.delete(key);
    for (const pv of w.assumedPVs) this.assumedPVs.delete(pv);
    const entry = this.cache.pod(key);
    if (!entry || entry.uid !== w.uid) {
      this.queue.add(key);
      return;
    }
    await this.bind(pod, entry);
  }

  private abandonWaiting(key: string): void {
    const w = this.waiting.get(key);
    if (!w) return;
    this.waiting.delete(key);
    for (const pv of w.assumedPVs) if (this.assumedPVs.get(pv) !== undefined) this.assumedPVs.delete(pv);
    this.cache.forget(key, w.uid);
  }
}
