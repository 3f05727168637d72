/**
 * The StatefulSet controller (upstream pkg/controller/statefulset/stateful_set.go):
 * informers on Pods, StatefulSets, PVCs and ControllerRevisions feed a work
 * queue of set keys; each pass adopts orphan revisions, claims pods and runs
 * the policy in control.ts.
 *
 * Pod events enqueue the set named by the pod's controllerRef (uid checked);
 * an orphan pod enqueues every set in its namespace whose selector matches, so
 * one can adopt it. A pod turning Ready under minReadySeconds>0 requeues its
 * set after minReadySeconds+1s, and a pass that leaves availableReplicas short
 * of spec.replicas requeues after minReadySeconds. Deleting a claim that
 * belongs to a set's claim template also wakes the set (a pod may be waiting
 * for it to go).
 *
 * Passes read from the informer caches. To stay cheap with thousands of pods,
 * the controller indexes pods by the parent name parsed from their name and by
 * controller uid, so a pass only looks at the pods it could claim or release.
 */

import { isAlreadyExists, isConflict, isNotFound } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { type Informer, type InformerFactory, splitKey } from '../../client/informer.js';
import type { Client } from '../../client/interface.js';
import {
  type Clock,
  ExponentialRateLimiter,
  type Result,
  realClock,
  WorkQueue,
} from '../../client/workqueue.js';
import { type LabelMatcher, labelSelectorAsMatcher } from '../../machinery/selectors.js';
import { createRecorder, type EventRecorder } from '../events.js';
import { getControllerOf } from '../util/controller-ref.js';
import { isPodReady } from '../util/pods.js';
import { CONTROLLERREVISIONS, PODS, PVCS, STATEFULSETS } from '../util/resources.js';
import { SyncPacer } from '../util/sync-pacer.js';
import { StatefulSetControl } from './control.js';
import {
  AggregateSyncError,
  ClientObjectManager,
  errorText,
  RevisionHistory,
  recheckSet,
  StatefulPodControl,
  StatusUpdater,
} from './pod-control.js';
import { isOwnedOrOrphanRevision, parseParentAndOrdinal, setView } from './utils.js';

export interface StatefulSetControllerOptions {
  clock?: Clock;
  recorder?: EventRecorder;
  /** Sets synced in parallel (default 5). */
  concurrency?: number;
  /** MaxUnavailableStatefulSet feature gate (default on, as in 1.35). */
  maxUnavailableStatefulSet?: boolean;
  /** Called for failed passes that are not routine cache-lag conflicts (default console.error). */
  onError?: (key: string, err: unknown) => void;
}

/** Errors that only mean "the cache was behind", "still waiting" or "going away": retried quietly. */
export function isRoutineError(err: unknown): boolean {
  if (err instanceof AggregateSyncError) return err.errors.every(isRoutineError);
  if (isNotFound(err) || isConflict(err) || isAlreadyExists(err)) return true;
  if (err instanceof Error) {
    if (/^pvc .* is being deleted$/.test(err.message)) return true;
    // Creating pods in a namespace that is going away: the namespace controller is removing the set too.
    if (err.message.includes('because it is being terminated')) return true;
    if (err.cause !== undefined) return isRoutineError(err.cause);
  }
  return false;
}

export class StatefulSetController {
  readonly queue: WorkQueue;
  private readonly clock: Clock;
  private readonly pods: Informer;
  private readonly sets: Informer;
  private readonly claims: Informer;
  private readonly revisions: Informer;
  private readonly objects: ClientObjectManager;
  private readonly history: RevisionHistory;
  private readonly control: StatefulSetControl;
  /** "<ns>/<parent name parsed from the pod name>" → pod names. */
  private readonly byParent = new Map<string, Set<string>>();
  /** controller uid → "<ns>/<pod name>". */
  private readonly byOwner = new Map<string, Set<string>>();
  /** set uid → selector parsed at a resourceVersion. */
  private readonly selectors = new Map<string, { rv: string; matcher: LabelMatcher | undefined }>();
  private readonly unsubscribes: Array<() => void> = [];
  private synced: Promise<void> | undefined;
  /**
   * A pass scans every pod of the set, so for a set of thousands of pods
   * back-to-back passes (one per pod event) would take the whole event loop;
   * a pass due sooner than two pass-lengths after the last one is deferred
   * until then, which coalesces the events that arrive meanwhile. Passes over
   * small sets take well under a millisecond and are not delayed noticeably.
   */
  private readonly pacer: SyncPacer;

  constructor(client: Client, informers: InformerFactory, opts: StatefulSetControllerOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.pacer = new SyncPacer(this.clock, 2, Number.POSITIVE_INFINITY);
    const clock = this.clock;
    this.pods = informers.forResource(PODS);
    this.sets = informers.forResource(STATEFULSETS);
    this.claims = informers.forResource(PVCS);
    this.revisions = informers.forResource(CONTROLLERREVISIONS);
    const recorder =
      opts.recorder ??
      createRecorder(client, 'statefulset-controller', {
        onError: () => undefined,
        now: () => new Date(clock.now()),
      });
    this.objects = new ClientObjectManager(client, this.pods, this.claims);
    const podControl = new StatefulPodControl(this.objects, recorder);
    this.history = new RevisionHistory(this.objects);
    this.control = new StatefulSetControl(podControl, this.history, new StatusUpdater(this.objects), {
      now: () => clock.now(),
      maxUnavailableStatefulSet: opts.maxUnavailableStatefulSet,
    });
    const onError =
      opts.onError ??
      ((key: string, err: unknown) =>
        console.error(`statefulset controller: syncing ${key}: ${errorText(err)}`));
    this.queue = new WorkQueue((key) => this.sync(key), {
      name: 'statefulset',
      concurrency: opts.concurrency ?? 5,
      clock,
      rateLimiter: new ExponentialRateLimiter(5, 60_000),
      onError: (key, err) => {
        if (!isRoutineError(err)) onError(key, err);
      },
    });
  }

  /** Registers informer handlers; the caller starts the informer factory. */
  start(): void {
    this.unsubscribes.push(
      this.pods.addEventHandler({
        onAdd: (pod) => {
          this.indexPod(pod);
          this.addPod(pod);
        },
        onUpdate: (old, cur) => {
          this.unindexPod(old);
          this.indexPod(cur);
          this.updatePod(old, cur);
        },
        onDelete: (pod) => {
          this.unindexPod(pod);
          this.deletePod(pod);
        },
      }),
      this.sets.addEventHandler({
        onAdd: (set) => this.enqueue(set),
        onUpdate: (_old, set) => this.enqueue(set),
        onDelete: (set) => {
          this.selectors.delete(set.metadata.uid ?? '');
          this.enqueue(set);
        },
      }),
      this.claims.addEventHandler({ onDelete: (claim) => this.deleteClaim(claim) }),
    );
    this.synced = Promise.all([
      this.pods.waitForSync(),
      this.sets.waitForSync(),
      this.claims.waitForSync(),
      this.revisions.waitForSync(),
    ]).then(() => undefined);
    this.synced.catch(() => undefined);
  }

  /** Stops taking work and waits for in-flight passes. */
  async stop(): Promise<void> {
    for (const u of this.unsubscribes.splice(0)) u();
    await this.queue.shutdown();
  }

  // ---- pod index -----------------------------------------------------------------

  private indexPod(pod: KObject): void {
    const ns = pod.metadata.namespace ?? '';
    const name = pod.metadata.name ?? '';
    const { parent } = parseParentAndOrdinal(name);
    if (parent) addTo(this.byParent, `${ns}/${parent}`, name);
    const ref = getControllerOf(pod);
    if (ref?.kind === 'StatefulSet') addTo(this.byOwner, ref.uid, `${ns}/${name}`);
  }

  private unindexPod(pod: KObject): void {
    const ns = pod.metadata.namespace ?? '';
    const name = pod.metadata.name ?? '';
    const { parent } = parseParentAndOrdinal(name);
    if (parent) removeFrom(this.byParent, `${ns}/${parent}`, name);
    const ref = getControllerOf(pod);
    if (ref?.kind === 'StatefulSet') removeFrom(this.byOwner, ref.uid, `${ns}/${name}`);
  }

  /** Cached pods the set could claim (named after it) or must consider releasing (controlled by it). */
  private candidatePods(set: KObject): KObject[] {
    const ns = set.metadata.namespace ?? '';
    const out: KObject[] = [];
    const named = this.byParent.get(`${ns}/${set.metadata.name ?? ''}`);
    for (const name of named ?? []) {
      const pod = this.pods.get(ns, name);
      if (pod) out.push(pod);
    }
    for (const key of this.byOwner.get(set.metadata.uid ?? '') ?? []) {
      const { namespace, name } = splitKey(key);
      if (namespace !== ns || named?.has(name)) continue;
      const pod = this.pods.get(ns, name);
      if (pod) out.push(pod);
    }
    return out;
  }

  // ---- event handlers ------------------------------------------------------------

  private enqueue(set: KObject): void {
    this.queue.add(`${set.metadata.namespace ?? ''}/${set.metadata.name ?? ''}`);
  }

  private resolveControllerRef(
    namespace: string,
    ref: { kind: string; name: string; uid: string },
  ): KObject | undefined {
    if (ref.kind !== 'StatefulSet') return undefined;
    const set = this.sets.get(namespace, ref.name);
    if (!set || set.metadata.uid !== ref.uid) return undefined;
    return set;
  }

  private selectorOf(set: KObject): LabelMatcher | undefined {
    const uid = set.metadata.uid ?? '';
    const rv = set.metadata.resourceVersion ?? '';
    const hit = this.selectors.get(uid);
    if (hit && hit.rv === rv) return hit.matcher;
    let matcher: LabelMatcher | undefined;
    try {
      matcher = labelSelectorAsMatcher(setView(set).selector);
    } catch {
      matcher = undefined;
    }
    this.selectors.set(uid, { rv, matcher });
    return matcher;
  }

  /** Sets whose (non-empty) selector matches the pod's labels (upstream GetPodStatefulSets). */
  private setsForPod(pod: KObject): KObject[] {
    const out: KObject[] = [];
    for (const set of this.sets.list(pod.metadata.namespace ?? '')) {
      const m = this.selectorOf(set);
      if (!m || m.empty || m.nothing) continue;
      if (m.matches(pod.metadata.labels ?? {})) out.push(set);
    }
    return out;
  }

  private addPod(pod: KObject): void {
    if (pod.metadata.deletionTimestamp) {
      // Seen for the first time already being deleted: not a creation.
      this.deletePod(pod);
      return;
    }
    const ref = getControllerOf(pod);
    if (ref) {
      const set = this.resolveControllerRef(pod.metadata.namespace ?? '', ref);
      if (set) this.enqueue(set);
      return;
    }
    for (const set of this.setsForPod(pod)) this.enqueue(set);
  }

  private updatePod(old: KObject, cur: KObject): void {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    const ns = cur.metadata.namespace ?? '';
    const labelChanged = !sameLabels(old.metadata.labels, cur.metadata.labels);
    const curRef = getControllerOf(cur);
    const oldRef = getControllerOf(old);
    const refChanged = JSON.stringify(curRef ?? null) !== JSON.stringify(oldRef ?? null);
    if (refChanged && oldRef) {
      const oldSet = this.resolveControllerRef(ns, oldRef);
      if (oldSet) this.enqueue(oldSet);
    }
    if (curRef) {
      const set = this.resolveControllerRef(ns, curRef);
      if (!set) return;
      this.enqueue(set);
      const mrs = setView(set).minReadySeconds;
      if (!isPodReady(old) && isPodReady(cur) && mrs > 0) {
        // One second more than minReadySeconds, so the pod is surely available by then.
        this.queue.addAfter(`${ns}/${set.metadata.name ?? ''}`, (mrs + 1) * 1000);
      }
      return;
    }
    if (labelChanged || refChanged) for (const set of this.setsForPod(cur)) this.enqueue(set);
  }

  private deletePod(pod: KObject): void {
    const ref = getControllerOf(pod);
    if (!ref) return;
    const set = this.resolveControllerRef(pod.metadata.namespace ?? '', ref);
    if (set) this.enqueue(set);
  }

  /** A claim named `<template>-<set>-<ordinal>` went away: its set may be waiting for that. */
  private deleteClaim(claim: KObject): void {
    const name = claim.metadata.name ?? '';
    for (const set of this.sets.list(claim.metadata.namespace ?? '')) {
      for (const tpl of setView(set).volumeClaimTemplates) {
        const prefix = `${tpl.metadata?.name ?? ''}-${set.metadata.name ?? ''}-`;
        if (name.startsWith(prefix) && /^[0-9]+$/.test(name.slice(prefix.length))) {
          this.enqueue(set);
          break;
        }
      }
    }
  }

  // ---- sync -----------------------------------------------------------------------

  /** Revisions in the set's namespace matching its selector, owned by it or by nobody. */
  private listRevisions(set: KObject, selector: LabelMatcher): KObject[] {
    return this.revisions.list(
      set.metadata.namespace ?? '',
      (r) => selector.matches(r.metadata.labels ?? {}) && isOwnedOrOrphanRevision(r, set),
    );
  }

  /** Adopts orphan revisions the selector matches, after re-reading the set live. */
  private async adoptOrphanRevisions(set: KObject, selector: LabelMatcher): Promise<void> {
    const orphans = this.listRevisions(set, selector).filter((r) => !getControllerOf(r));
    if (orphans.length === 0) return;
    try {
      await recheckSet(this.objects, set);
    } catch (err) {
      throw new Error(`can't adopt ControllerRevisions: ${errorText(err)}`, { cause: err });
    }
    for (const rev of orphans) {
      try {
        await this.history.adoptControllerRevision(set, rev);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** One pass over the set named by `key`. */
  async sync(key: string): Promise<Result | undefined> {
    await this.synced;
    const wait = this.pacer.delay(key, 0);
    if (wait >= 5) return { requeueAfterMs: wait };
    return this.pacer.run(key, this.sets, () => this.syncSet(key));
  }

  private async syncSet(key: string): Promise<Result | undefined> {
    const { namespace, name } = splitKey(key);
    const set = this.sets.get(namespace, name);
    if (!set) return undefined;
    let selector: LabelMatcher;
    try {
      selector = labelSelectorAsMatcher(setView(set).selector);
    } catch {
      // A selector that cannot be parsed will not parse next time either.
      return undefined;
    }
    await this.adoptOrphanRevisions(set, selector);
    const pods = await this.objects.claimPods(set, this.candidatePods(set), selector, () =>
      recheckSet(this.objects, set),
    );
    const status = await this.control.updateStatefulSet(set, pods, this.listRevisions(set, selector));
    const v = setView(set);
    if (v.minReadySeconds > 0 && status.availableReplicas !== v.replicas) {
      return { requeueAfterMs: v.minReadySeconds * 1000 };
    }
    return undefined;
  }
}

function addTo(index: Map<string, Set<string>>, key: string, value: string): void {
  let s = index.get(key);
  if (!s) {
    s = new Set();
    index.set(key, s);
  }
  s.add(value);
}

function removeFrom(index: Map<string, Set<string>>, key: string, value: string): void {
  const s = index.get(key);
  if (!s) return;
  s.delete(value);
  if (s.size === 0) index.delete(key);
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (a?.[k] !== b?.[k]) return false;
  return true;
}
