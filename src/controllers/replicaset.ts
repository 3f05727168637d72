/**
 * The ReplicaSet controller, as upstream's pkg/controller/replicaset:
 *
 * - keeps `spec.replicas` active pods (not Succeeded/Failed, not terminating)
 *   per ReplicaSet, creating them from the template with generateName
 *   `<rs>-` and a controller ownerReference, in slow-start batches (1, 2, 4, …),
 *   and deleting surplus pods in upstream's ActivePodsWithRanks order;
 * - adopts matching orphans and releases owned pods that stopped matching
 *   (`claimObjects`), re-reading the ReplicaSet before the first adoption;
 * - tracks "expectations" (creations/deletions it issued but has not yet seen
 *   through the informer) and does not manage replicas again until they are
 *   observed or expire, so a lagging cache never causes double creation or
 *   deletion;
 * - writes status (replicas, fullyLabeledReplicas, readyReplicas,
 *   availableReplicas, observedGeneration, ReplicaFailure) only when it changed.
 *
 * Reads come from shared informer caches plus an index of pods by controller
 * uid, so a pass costs O(pods of this ReplicaSet), not O(pods in the cluster).
 */
import { isAlreadyExists, isNotFound, isStatusError } from '../api/errors.js';
import { isObject, type KObject, type LabelSelector } from '../api/types.js';
import { type Informer, type InformerFactory, objectKey, splitKey } from '../client/informer.js';
import type { Client } from '../client/interface.js';
import { type Clock, ExponentialRateLimiter, realClock, WorkQueue } from '../client/workqueue.js';
import { type LabelMatcher, labelSelectorAsMatcher, selectorFromSet } from '../machinery/selectors.js';
import { createRecorder, type EventRecorder } from './events.js';
import { claimObjects, getControllerOf, newControllerRef } from './util/controller-ref.js';
import {
  getPodCondition,
  isPodActive,
  isPodAvailable,
  isPodReady,
  msUntilAvailable,
  podPhase,
  podSpec,
  podStatus,
  rfc3339,
} from './util/pods.js';
import { PODS, REPLICASETS } from './util/resources.js';

// ---------------------------------------------------------------------------
// shared helpers (also used by the Deployment controller)

/**
 * Objects indexed by the uid of their controller ownerReference; objects
 * without a controller are kept per namespace as orphans (upstream's
 * PodControllerUIDIndex with its orphan key). Fed from informer events, whose
 * objects are the cache's own copies (never mutated here).
 */
export class ControllerIndex {
  private readonly owned = new Map<string, Map<string, KObject>>();
  private readonly orphans = new Map<string, Map<string, KObject>>();
  /** object key → bucket it is filed under ("u:<uid>" or "o:<namespace>"). */
  private readonly where = new Map<string, string>();

  upsert(obj: KObject): void {
    const key = objectKey(obj);
    const ref = getControllerOf(obj);
    const bucket = ref ? `u:${ref.uid}` : `o:${obj.metadata.namespace ?? ''}`;
    const prev = this.where.get(key);
    if (prev !== undefined && prev !== bucket) this.drop(prev, key);
    this.where.set(key, bucket);
    const map = ref ? this.owned : this.orphans;
    const id = ref ? ref.uid : (obj.metadata.namespace ?? '');
    let m = map.get(id);
    if (!m) {
      m = new Map();
      map.set(id, m);
    }
    m.set(key, obj);
  }

  remove(obj: KObject): void {
    const key = objectKey(obj);
    const prev = this.where.get(key);
    if (prev === undefined) return;
    // Only drop the entry if it is this object (a same-named successor may already be filed).
    const cur = this.lookup(prev, key);
    if (cur && cur.metadata.uid !== obj.metadata.uid) return;
    this.drop(prev, key);
    this.where.delete(key);
  }

  /** Objects whose controller has this uid. */
  controlledBy(uid: string): KObject[] {
    return [...(this.owned.get(uid)?.values() ?? [])];
  }

  /** Objects without a controller in a namespace. */
  orphansIn(namespace: string): KObject[] {
    return [...(this.orphans.get(namespace)?.values() ?? [])];
  }

  private lookup(bucket: string, key: string): KObject | undefined {
    const id = bucket.slice(2);
    return (bucket.startsWith('u:') ? this.owned : this.orphans).get(id)?.get(key);
  }

  private drop(bucket: string, key: string): void {
    const id = bucket.slice(2);
    const map = bucket.startsWith('u:') ? this.owned : this.orphans;
    const m = map.get(id);
    if (!m) return;
    m.delete(key);
    if (m.size === 0) map.delete(id);
  }
}

/** JSON with object keys sorted at every level: equal text for semantically equal plain data. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) {
    const parts: string[] = [];
    for (const x of v) parts.push(x === undefined ? 'null' : canonicalJson(x));
    return `[${parts.join(',')}]`;
  }
  if (isObject(v)) {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Upstream's ExpectationsTimeout. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Expectation {
  add: number;
  del: number;
  at: number;
}

/**
 * Upstream's UIDTrackingControllerExpectations: per controller key, how many
 * creations and deletions were issued but not yet observed. Deletions are
 * tracked by pod key so a graceful delete (deletionTimestamp) and the final
 * removal count once. Expectations expire after `ttlMs`.
 */
export class ControllerExpectations {
  private readonly exps = new Map<string, Expectation>();
  private readonly deleting = new Map<string, Set<string>>();

  constructor(
    private readonly clock: Clock = realClock,
    private readonly ttlMs = EXPECTATIONS_TIMEOUT_MS,
  ) {}

  /** True when nothing is pending for the key (none recorded, all observed, or expired). */
  satisfied(key: string): boolean {
    const e = this.exps.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.clock.now() - e.at > this.ttlMs;
  }

  /** Pending [adds, dels] (undefined when none recorded). */
  get(key: string): [number, number] | undefined {
    const e = this.exps.get(key);
    return e ? [e.add, e.del] : undefined;
  }

  expectCreations(key: string, adds: number): void {
    this.exps.set(key, { add: adds, del: 0, at: this.clock.now() });
  }

  expectDeletions(key: string, podKeys: string[]): void {
    this.deleting.set(key, new Set(podKeys));
    this.exps.set(key, { add: 0, del: podKeys.length, at: this.clock.now() });
  }

  creationObserved(key: string): void {
    this.lower(key, 1, 0);
  }

  /** Counts the deletion of `podKey` once, if it was expected. */
  deletionObserved(key: string, podKey: string): void {
    const s = this.deleting.get(key);
    if (!s?.has(podKey)) return;
    s.delete(podKey);
    this.lower(key, 0, 1);
  }

  lower(key: string, add: number, del: number): void {
    const e = this.exps.get(key);
    if (!e) return;
    e.add -= add;
    e.del -= del;
  }

  delete(key: string): void {
    this.exps.delete(key);
    this.deleting.delete(key);
  }
}

/**
 * Upstream's slowStartBatch: calls `fn` `count` times in batches of 1, 2, 4, …
 * (each batch in parallel), stopping after the first batch with a failure.
 * Returns the number of successful calls and the first error.
 */
export async function slowStartBatch(
  count: number,
  initialBatchSize: number,
  fn: () => Promise<void>,
): Promise<{ successes: number; error: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initialBatchSize); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const calls: Promise<void>[] = [];
    for (let i = 0; i < batch; i++) calls.push(fn());
    const results = await Promise.allSettled(calls);
    let firstError: unknown;
    let failed = 0;
    for (const r of results) {
      if (r.status === 'rejected') {
        if (failed === 0) firstError = r.reason;
        failed++;
      }
    }
    successes += batch - failed;
    if (failed > 0) return { successes, error: firstError ?? new Error('pod creation failed') };
    remaining -= batch;
  }
  return { successes, error: undefined };
}

// ---------------------------------------------------------------------------
// deletion ranking (upstream controller.ActivePodsWithRanks, replica_set.go getPodsToDelete)

/** Annotation lowering a pod's deletion preference (upstream PodDeletionCost, on by default). */
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function phaseOrdinal(pod: KObject): number {
  return PHASE_ORDINAL[podPhase(pod)] ?? 0;
}

function nodeName(pod: KObject): string {
  const n = podSpec(pod).nodeName;
  return typeof n === 'string' ? n : '';
}

/** int32 from the pod-deletion-cost annotation; 0 when absent or invalid. */
export function podDeletionCost(pod: KObject): number {
  const v = pod.metadata.annotations?.[POD_DELETION_COST];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n >= -2147483648 && n <= 2147483647 ? n : 0;
}

/** ms since epoch of an RFC 3339 time, or 0 (Go's zero time) when absent/invalid. */
function timeMs(t: unknown): number {
  if (typeof t !== 'string' || t === '') return 0;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : ms;
}

function readyTimeMs(pod: KObject): number {
  if (!isPodReady(pod)) return 0;
  return timeMs(getPodCondition(pod, 'Ready')?.lastTransitionTime);
}

function maxContainerRestarts(pod: KObject): number {
  const cs = podStatus(pod).containerStatuses;
  let max = 0;
  if (Array.isArray(cs)) {
    for (const c of cs) {
      const n = isObject(c) && typeof c.restartCount === 'number' ? c.restartCount : 0;
      if (n > max) max = n;
    }
  }
  return max;
}

/** afterOrZero: a zero time sorts first, otherwise the later time does. */
function afterOrZero(t1: number, t2: number): boolean {
  if (t1 === 0 || t2 === 0) return t1 === 0;
  return t1 > t2;
}

/** Difference of floor(log2(age in ns)) buckets (upstream logarithmicRankDiff). */
function logarithmicRankDiff(t1: number, t2: number, nowMs: number): number {
  const d1 = (nowMs - t1) * 1e6;
  const d2 = (nowMs - t2) * 1e6;
  const r1 = d1 > 0 ? Math.floor(Math.log2(d1)) : -1;
  const r2 = d2 > 0 ? Math.floor(Math.log2(d2)) : -1;
  return r1 - r2;
}

/**
 * Upstream ActivePodsWithRanks.Less: true if pod `a` (with rank `ra`) should be
 * deleted before pod `b`. Rules in order: unscheduled < scheduled; Pending <
 * Unknown < Running; not ready < ready; lower pod-deletion-cost; higher rank
 * (more related pods on the same node); ready for a shorter time; more
 * container restarts; created more recently. Times compare in log2 buckets
 * (LogarithmicScaleDown, GA) with the uid as tie-breaker.
 */
export function podDeletionLess(a: KObject, ra: number, b: KObject, rb: number, nowMs: number): boolean {
  const na = nodeName(a);
  const nb = nodeName(b);
  if (na !== nb && (na === '' || nb === '')) return na === '';
  const pa = phaseOrdinal(a);
  const pb = phaseOrdinal(b);
  if (pa !== pb) return pa < pb;
  const readyA = isPodReady(a);
  const readyB = isPodReady(b);
  if (readyA !== readyB) return !readyA;
  const ca = podDeletionCost(a);
  const cb = podDeletionCost(b);
  if (ca !== cb) return ca < cb;
  if (ra !== rb) return ra > rb;
  if (readyA && readyB) {
    const t1 = readyTimeMs(a);
    const t2 = readyTimeMs(b);
    if (t1 !== t2) {
      if (nowMs === 0 || t1 === 0 || t2 === 0) return afterOrZero(t1, t2);
      const diff = logarithmicRankDiff(t1, t2, nowMs);
      if (diff === 0) return (a.metadata.uid ?? '') < (b.metadata.uid ?? '');
      return diff < 0;
    }
  }
  const rsA = maxContainerRestarts(a);
  const rsB = maxContainerRestarts(b);
  if (rsA !== rsB) return rsA > rsB;
  const c1 = timeMs(a.metadata.creationTimestamp);
  const c2 = timeMs(b.metadata.creationTimestamp);
  if (c1 !== c2) {
    if (nowMs === 0 || c1 === 0 || c2 === 0) return afterOrZero(c1, c2);
    const diff = logarithmicRankDiff(c1, c2, nowMs);
    if (diff === 0) return (a.metadata.uid ?? '') < (b.metadata.uid ?? '');
    return diff < 0;
  }
  return false;
}

/**
 * Sorts `pods` into deletion preference order. Each pod's rank is the number of
 * active `related` pods on its node (upstream getPodsRankedByRelatedPodsOnSameNode).
 * Returns a new array.
 */
export function rankPodsForDeletion(
  pods: readonly KObject[],
  related: readonly KObject[],
  nowMs: number,
): KObject[] {
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const n = nodeName(p);
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked = pods.map((pod) => ({ pod, rank: onNode.get(nodeName(pod)) ?? 0 }));
  ranked.sort((x, y) => {
    if (podDeletionLess(x.pod, x.rank, y.pod, y.rank, nowMs)) return -1;
    if (podDeletionLess(y.pod, y.rank, x.pod, x.rank, nowMs)) return 1;
    return 0;
  });
  return ranked.map((r) => r.pod);
}

/** The `diff` pods to delete first (upstream getPodsToDelete). */
export function getPodsToDelete(
  filtered: readonly KObject[],
  related: readonly KObject[],
  diff: number,
  nowMs: number,
): KObject[] {
  // No need to rank when all of them go.
  if (diff < filtered.length) return rankPodsForDeletion(filtered, related, nowMs).slice(0, diff);
  return filtered.slice(0, diff);
}

// ---------------------------------------------------------------------------
// status

export interface ReplicaSetCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: ReplicaSetCondition[];
}

function num(v: unknown, dflt = 0): number {
  return typeof v === 'number' ? v : dflt;
}

/** spec.replicas (defaulted to 1 by the API). */
export function specReplicas(obj: KObject): number {
  return num(isObject(obj.spec) ? obj.spec.replicas : undefined, 1);
}

export function minReadySeconds(obj: KObject): number {
  return num(isObject(obj.spec) ? obj.spec.minReadySeconds : undefined);
}

function statusOf(obj: KObject): Record<string, unknown> {
  return isObject(obj.status) ? obj.status : {};
}

function conditionsOf(obj: KObject): ReplicaSetCondition[] {
  const c = statusOf(obj).conditions;
  return Array.isArray(c) ? (c.filter(isObject) as unknown as ReplicaSetCondition[]) : [];
}

function templateOf(obj: KObject): Record<string, unknown> {
  const spec = isObject(obj.spec) ? obj.spec : {};
  return isObject(spec.template) ? spec.template : {};
}

function templateLabels(obj: KObject): Record<string, string> | undefined {
  const meta = templateOf(obj).metadata;
  return isObject(meta) && isObject(meta.labels) ? (meta.labels as Record<string, string>) : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Upstream calculateStatus: counts over the claimed active pods; a
 * ReplicaFailure condition is added on a manage error (FailedCreate when pods
 * were missing, FailedDelete when there were too many) and removed once a pass
 * succeeds. Zero-valued optional fields are omitted, as the API serialises them.
 */
export function calculateReplicaSetStatus(
  rs: KObject,
  pods: readonly KObject[],
  manageErr: unknown,
  nowMs: number,
): ReplicaSetStatus {
  const tmpl = selectorFromSet(templateLabels(rs));
  const minReady = minReadySeconds(rs);
  let fully = 0;
  let ready = 0;
  let available = 0;
  for (const p of pods) {
    if (tmpl.matches(p.metadata.labels)) fully++;
    if (isPodReady(p)) {
      ready++;
      if (isPodAvailable(p, minReady, nowMs)) available++;
    }
  }
  let conditions = conditionsOf(rs).map((c) => ({ ...c }));
  const failure = conditions.find((c) => c.type === 'ReplicaFailure');
  if (manageErr !== undefined && !failure) {
    const diff = pods.length - specReplicas(rs);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    conditions.push({
      type: 'ReplicaFailure',
      status: 'True',
      lastTransitionTime: rfc3339(nowMs),
      reason,
      message: errorMessage(manageErr),
    });
  } else if (manageErr === undefined && failure) {
    conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
  }
  const old = statusOf(rs);
  const st: ReplicaSetStatus = { replicas: pods.length };
  if (fully) st.fullyLabeledReplicas = fully;
  if (ready) st.readyReplicas = ready;
  if (available) st.availableReplicas = available;
  if (num(old.observedGeneration)) st.observedGeneration = num(old.observedGeneration);
  if (conditions.length > 0) st.conditions = conditions;
  return st;
}

/** True when `next` differs from the ReplicaSet's status, or its generation was not yet observed. */
export function replicaSetStatusChanged(rs: KObject, next: ReplicaSetStatus): boolean {
  const cur = statusOf(rs);
  return !(
    num(cur.replicas) === next.replicas &&
    num(cur.fullyLabeledReplicas) === (next.fullyLabeledReplicas ?? 0) &&
    num(cur.readyReplicas) === (next.readyReplicas ?? 0) &&
    num(cur.availableReplicas) === (next.availableReplicas ?? 0) &&
    num(rs.metadata.generation) === num(cur.observedGeneration) &&
    canonicalJson(conditionsOf(rs)) === canonicalJson(next.conditions ?? [])
  );
}

// ---------------------------------------------------------------------------
// pods from the template

const MAX_NAME_LENGTH = 253;

/** upstream getPodsPrefix: "<name>-" unless that is not a valid name prefix. */
export function podNamePrefix(controllerName: string): string {
  const prefix = `${controllerName}-`;
  return prefix.length > MAX_NAME_LENGTH ? controllerName : prefix;
}

/** upstream GetPodFromTemplate: template labels/annotations/finalizers, spec copy, controller ref. */
export function podFromTemplate(owner: KObject): KObject {
  const tmpl = templateOf(owner);
  const meta = isObject(tmpl.metadata) ? tmpl.metadata : {};
  const pod: KObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: podNamePrefix(owner.metadata.name ?? ''),
      namespace: owner.metadata.namespace,
      ownerReferences: [newControllerRef(owner)],
    },
    spec: structuredClone(isObject(tmpl.spec) ? tmpl.spec : {}),
  };
  if (isObject(meta.labels)) pod.metadata.labels = { ...(meta.labels as Record<string, string>) };
  if (isObject(meta.annotations))
    pod.metadata.annotations = { ...(meta.annotations as Record<string, string>) };
  if (Array.isArray(meta.finalizers)) pod.metadata.finalizers = [...(meta.finalizers as string[])];
  return pod;
}

function isNamespaceTerminating(err: unknown): boolean {
  return (
    isStatusError(err) && (err.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating')
  );
}

// ---------------------------------------------------------------------------
// the controller

export interface ReplicaSetControllerOptions {
  clock?: Clock;
  /** ReplicaSets synced in parallel (upstream --concurrent-replicaset-syncs, default 5). */
  concurrency?: number;
  /** Most pods created or deleted per pass (upstream BurstReplicas, 500). */
  burstReplicas?: number;
  recorder?: EventRecorder;
  /** How long unobserved expectations block a ReplicaSet (default 5 min). */
  expectationsTimeoutMs?: number;
}

export const REPLICASET_COMPONENT = 'replicaset-controller';

/** Tries per pod when its generated name is already taken (upstream's server-side retry count). */
const GENERATE_NAME_ATTEMPTS = 8;

export class ReplicaSetController {
  readonly queue: WorkQueue;
  readonly expectations: ControllerExpectations;
  private readonly clock: Clock;
  private readonly burst: number;
  private readonly recorder: EventRecorder;
  private readonly pods: Informer;
  private readonly sets: Informer;
  private readonly podIndex = new ControllerIndex();
  private readonly rsIndex = new ControllerIndex();
  private readonly unsubscribes: Array<() => void> = [];

  constructor(
    private readonly client: Client,
    informers: InformerFactory,
    opts: ReplicaSetControllerOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.burst = opts.burstReplicas ?? 500;
    this.expectations = new ControllerExpectations(this.clock, opts.expectationsTimeoutMs);
    this.recorder =
      opts.recorder ??
      createRecorder(client, REPLICASET_COMPONENT, {
        now: () => new Date(this.clock.now()),
        onError: () => undefined,
      });
    this.pods = informers.forResource(PODS);
    this.sets = informers.forResource(REPLICASETS);
    this.queue = new WorkQueue((key) => this.sync(key), {
      name: 'replicaset',
      concurrency: opts.concurrency ?? 5,
      clock: this.clock,
      rateLimiter: new ExponentialRateLimiter(5, 60_000),
      onError: (key, err) => {
        if (!isStatusError(err)) console.error(`replicaset controller: syncing ${key}:`, err);
      },
    });
  }

  start(): void {
    this.unsubscribes.push(
      this.sets.addEventHandler({
        onAdd: (rs) => {
          this.rsIndex.upsert(rs);
          this.queue.add(objectKey(rs));
        },
        onUpdate: (_old, rs) => {
          this.rsIndex.upsert(rs);
          this.queue.add(objectKey(rs));
        },
        onDelete: (rs) => {
          this.rsIndex.remove(rs);
          const key = objectKey(rs);
          this.expectations.delete(key);
          this.queue.add(key);
        },
      }),
      this.pods.addEventHandler({
        onAdd: (pod) => this.addPod(pod),
        onUpdate: (old, pod) => this.updatePod(old, pod),
        onDelete: (pod) => {
          this.podIndex.remove(pod);
          this.deletePod(pod);
        },
      }),
    );
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribes.splice(0)) u();
    await this.queue.shutdown();
  }

  // ---- event handlers ---------------------------------------------------------

  private resolveControllerRef(namespace: string | undefined, pod: KObject): KObject | undefined {
    const ref = getControllerOf(pod);
    if (ref?.kind !== 'ReplicaSet') return undefined;
    const rs = this.sets.get(namespace, ref.name);
    return rs && rs.metadata.uid === ref.uid ? rs : undefined;
  }

  /** ReplicaSets in the pod's namespace whose selector matches it (for orphans). */
  private replicaSetsForPod(pod: KObject): KObject[] {
    const out: KObject[] = [];
    if (!pod.metadata.labels) return out;
    for (const rs of this.sets.list(pod.metadata.namespace)) {
      const m = selectorOf(rs);
      if (m && !m.empty && m.matches(pod.metadata.labels)) out.push(rs);
    }
    return out;
  }

  private addPod(pod: KObject): void {
    this.podIndex.upsert(pod);
    if (pod.metadata.deletionTimestamp) {
      // Seen for the first time while already terminating (e.g. after a restart).
      this.deletePod(pod);
      return;
    }
    if (getControllerOf(pod)) {
      const rs = this.resolveControllerRef(pod.metadata.namespace, pod);
      if (!rs) return;
      const key = objectKey(rs);
      this.expectations.creationObserved(key);
      this.queue.add(key);
      return;
    }
    for (const rs of this.replicaSetsForPod(pod)) this.queue.add(objectKey(rs));
  }

  private updatePod(old: KObject, cur: KObject): void {
    this.podIndex.upsert(cur);
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    const labelChanged =
      canonicalJson(old.metadata.labels ?? {}) !== canonicalJson(cur.metadata.labels ?? {});
    if (cur.metadata.deletionTimestamp) {
      // Graceful deletion: treat the pod as gone now, so the ReplicaSet replaces it promptly.
      this.deletePod(cur);
      if (labelChanged) this.deletePod(old);
      return;
    }
    const curRef = getControllerOf(cur);
    const oldRef = getControllerOf(old);
    const refChanged = curRef?.uid !== oldRef?.uid;
    if (refChanged && oldRef) {
      const rs = this.resolveControllerRef(old.metadata.namespace, old);
      if (rs) this.queue.add(objectKey(rs));
    }
    if (curRef) {
      const rs = this.resolveControllerRef(cur.metadata.namespace, cur);
      if (!rs) return;
      const key = objectKey(rs);
      this.queue.add(key);
      const minReady = minReadySeconds(rs);
      // Availability is a matter of time: look again once minReadySeconds passed.
      if (!isPodReady(old) && isPodReady(cur) && minReady > 0)
        this.queue.addAfter(key, minReady * 1000 + 1000);
      return;
    }
    if (labelChanged || refChanged)
      for (const rs of this.replicaSetsForPod(cur)) this.queue.add(objectKey(rs));
  }

  private deletePod(pod: KObject): void {
    const rs = this.resolveControllerRef(pod.metadata.namespace, pod);
    if (!rs) return;
    const key = objectKey(rs);
    this.expectations.deletionObserved(key, objectKey(pod));
    this.queue.add(key);
  }

  // ---- sync -------------------------------------------------------------------

  private async sync(key: string): Promise<{ requeueAfterMs?: number } | undefined> {
    await Promise.all([this.pods.waitForSync(), this.sets.waitForSync()]);
    const { namespace, name } = splitKey(key);
    const rs = this.sets.get(namespace, name);
    if (!rs) {
      this.expectations.delete(key);
      return undefined;
    }
    const needsSync = this.expectations.satisfied(key);
    const selector = selectorOf(rs);
    if (!selector) return undefined; // an invalid selector selects nothing; nothing to do until it changes
    const uid = rs.metadata.uid ?? '';
    const candidates: KObject[] = [];
    for (const p of this.podIndex.controlledBy(uid)) if (isPodActive(p)) candidates.push(p);
    for (const p of this.podIndex.orphansIn(namespace ?? '')) if (isPodActive(p)) candidates.push(p);
    const pods = await claimObjects(candidates, {
      client: this.client,
      resource: PODS,
      owner: rs,
      selector,
      canAdopt: () => this.recheck(rs),
    });
    let manageErr: unknown;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      try {
        await this.manageReplicas(key, rs, pods);
      } catch (e) {
        manageErr = e;
      }
    }
    const now = this.clock.now();
    const status = calculateReplicaSetStatus(rs, pods, manageErr, now);
    const updated = await this.updateStatus(rs, status);
    if (manageErr !== undefined) throw manageErr;
    const minReady = minReadySeconds(updated);
    if (minReady > 0) {
      // Pods turn available with time alone: come back when the next one does.
      let soonest: number | undefined;
      for (const p of pods) {
        if (isPodAvailable(p, minReady, now)) continue;
        const ms = msUntilAvailable(p, minReady, now);
        if (ms !== undefined && (soonest === undefined || ms < soonest)) soonest = ms;
      }
      if (soonest !== undefined) return { requeueAfterMs: Math.max(1, soonest + 1) };
    }
    return undefined;
  }

  /** upstream RecheckDeletionTimestamp: the ReplicaSet must still be this one and not being deleted. */
  private async recheck(rs: KObject): Promise<void> {
    const fresh = await this.client.get(REPLICASETS, rs.metadata.namespace, rs.metadata.name ?? '');
    if (fresh.metadata.uid !== rs.metadata.uid) {
      throw new Error(
        `original ReplicaSet ${rs.metadata.namespace}/${rs.metadata.name} is gone: got uid ${fresh.metadata.uid}, wanted ${rs.metadata.uid}`,
      );
    }
    if (fresh.metadata.deletionTimestamp) {
      throw new Error(
        `${rs.metadata.namespace}/${rs.metadata.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`,
      );
    }
  }

  /** Pods of every ReplicaSet sharing this one's controller (upstream getIndirectlyRelatedPods). */
  private relatedPods(rs: KObject): KObject[] {
    const ref = getControllerOf(rs);
    if (!ref) return [];
    const seen = new Set<string>();
    const out: KObject[] = [];
    for (const sibling of this.rsIndex.controlledBy(ref.uid)) {
      const sel = selectorOf(sibling);
      if (!sel) continue;
      for (const p of this.podIndex.controlledBy(sibling.metadata.uid ?? '')) {
        const uid = p.metadata.uid ?? '';
        if (seen.has(uid) || !sel.matches(p.metadata.labels)) continue;
        seen.add(uid);
        out.push(p);
      }
    }
    return out;
  }

  private async manageReplicas(key: string, rs: KObject, pods: KObject[]): Promise<void> {
    const diff = pods.length - specReplicas(rs);
    if (diff < 0) {
      const n = Math.min(-diff, this.burst);
      this.expectations.expectCreations(key, n);
      const { successes, error } = await slowStartBatch(n, 1, () => this.createPod(rs));
      // Creations that were never issued will never be observed.
      const skipped = n - successes;
      if (skipped > 0) this.expectations.lower(key, skipped, 0);
      if (error !== undefined) throw error;
      return;
    }
    if (diff > 0) {
      const n = Math.min(diff, this.burst);
      const victims = getPodsToDelete(pods, this.relatedPods(rs), n, this.clock.now());
      this.expectations.expectDeletions(
        key,
        victims.map((p) => objectKey(p)),
      );
      const errors: unknown[] = [];
      await Promise.all(
        victims.map(async (pod) => {
          try {
            await this.deletePodFor(rs, pod);
          } catch (e) {
            // The informer will not report this deletion: stop waiting for it.
            this.expectations.deletionObserved(key, objectKey(pod));
            if (!isNotFound(e)) errors.push(e);
          }
        }),
      );
      if (errors.length > 0) throw errors[0];
    }
  }

  private async createPod(rs: KObject): Promise<void> {
    const pod = podFromTemplate(rs);
    if (Object.keys(pod.metadata.labels ?? {}).length === 0)
      throw new Error('unable to create pods, no labels');
    let created: KObject | undefined;
    for (let attempt = 1; !created; attempt++) {
      try {
        created = await this.client.create(PODS, rs.metadata.namespace, pod);
      } catch (e) {
        // A generated name that is taken: try another one (upstream's API server retries these itself).
        if (isAlreadyExists(e) && attempt < GENERATE_NAME_ATTEMPTS) continue;
        // Pods are going away with their namespace anyway.
        if (isNamespaceTerminating(e)) return;
        void this.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(e)}`);
        throw e;
      }
    }
    void this.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
  }

  private async deletePodFor(rs: KObject, pod: KObject): Promise<void> {
    const name = pod.metadata.name ?? '';
    try {
      await this.client.delete(PODS, rs.metadata.namespace, name);
    } catch (e) {
      if (isNotFound(e)) throw e;
      void this.recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(e)}`);
      throw new Error(`unable to delete pods: ${errorMessage(e)}`);
    }
    void this.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
  }

  /** upstream updateReplicaSetStatus: write only on change, one retry against a fresh read. */
  private async updateStatus(rs: KObject, status: ReplicaSetStatus): Promise<KObject> {
    if (!replicaSetStatusChanged(rs, status)) return rs;
    const generation = rs.metadata.generation;
    const next: ReplicaSetStatus = { ...status };
    if (generation) next.observedGeneration = generation;
    else delete next.observedGeneration;
    let cur = rs;
    for (let attempt = 0; ; attempt++) {
      const copy = structuredClone(cur);
      copy.status = next;
      try {
        return await this.client.update(REPLICASETS, rs.metadata.namespace, copy, { subresource: 'status' });
      } catch (e) {
        if (attempt >= 1) throw e;
        cur = await this.client.get(REPLICASETS, rs.metadata.namespace, rs.metadata.name ?? '');
      }
    }
  }
}

/** The ReplicaSet's selector as a matcher, or undefined when it is invalid. */
function selectorOf(obj: KObject): LabelMatcher | undefined {
  const spec = isObject(obj.spec) ? obj.spec : {};
  try {
    return labelSelectorAsMatcher(isObject(spec.selector) ? (spec.selector as LabelSelector) : undefined);
  } catch {
    return undefined;
  }
}
