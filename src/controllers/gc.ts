/**
 * The garbage collector: honours metadata.ownerReferences as upstream's
 * garbage collector does.
 *
 * - Background: a dependent whose owners are all gone is deleted. An owner is
 *   identified by uid: an object recreated under the owner's name with a new
 *   uid does not keep the dependent alive. A namespaced dependent's owners are
 *   looked up in its own namespace (or are cluster-scoped); a cluster-scoped
 *   dependent naming a namespaced kind has an unresolvable owner and is kept.
 * - Foreground: an owner with deletionTimestamp and the `foregroundDeletion`
 *   finalizer has its dependents deleted; the finalizer is removed (so the
 *   owner goes) once no dependent with `blockOwnerDeletion: true` remains.
 * - Orphan: an owner with deletionTimestamp and the `orphan` finalizer has its
 *   ownerReference removed from every dependent, then the finalizer removed.
 *
 * Wiring: informers over every kind that supports list+watch feed a
 * dependency index (owner uid → dependents) and a level-based work queue keyed
 * by object coordinates. Each pass re-reads the object and its owners from the
 * API (never trusting the cache to delete anything); the index is only used to
 * find dependents. NotFound and Conflict answers just end or re-queue a pass.
 */
import { isConflict, isNotFound } from '../api/errors.js';
import { type KObject, type OwnerReference, parseApiVersion } from '../api/types.js';
import type { EventHandlers, InformerFactory } from '../client/informer.js';
import type { Client, DeleteOpts, ResourceRef } from '../client/interface.js';
import { type Clock, ExponentialRateLimiter, realClock, WorkQueue } from '../client/workqueue.js';
import type { ResourceDef } from '../registry/types.js';
import type { EventRecorder } from './events.js';

export const FINALIZER_FOREGROUND = 'foregroundDeletion';
export const FINALIZER_ORPHAN = 'orphan';

/** What the collector knows about one observed object. */
interface Node {
  def: ResourceDef;
  namespace: string | undefined;
  name: string;
  uid: string;
  owners: OwnerReference[];
  beingDeleted: boolean;
  deletingDependents: boolean;
}

type OwnerState = 'solid' | 'dangling' | 'waiting';

export interface GarbageCollectorOptions {
  clock?: Clock;
  concurrency?: number;
  recorder?: EventRecorder;
}

function hasFinalizer(obj: KObject, f: string): boolean {
  return (obj.metadata.finalizers ?? []).includes(f);
}

function refOf(d: ResourceDef): ResourceRef {
  return { group: d.group, version: d.version, resource: d.plural };
}

function kindKey(d: { group: string; version: string; plural: string }): string {
  return `${d.group}/${d.version}/${d.plural}`;
}

/** Queue key: "<group>/<version>/<plural>|<namespace>|<name>". */
export function gcKey(d: ResourceDef, namespace: string | undefined, name: string): string {
  return `${kindKey(d)}|${namespace ?? ''}|${name}`;
}

/** upstream's objectReference.String(), used in event messages. */
function describeOwner(ref: OwnerReference, namespace: string | undefined): string {
  return `[${ref.apiVersion}/${ref.kind}, namespace: ${namespace ?? ''}, name: ${ref.name}, uid: ${ref.uid}]`;
}

export class GarbageCollector {
  readonly queue: WorkQueue;
  private readonly byKindKey = new Map<string, ResourceDef>();
  private readonly byGroupKind = new Map<string, ResourceDef[]>();
  private readonly watched: ResourceDef[];
  private readonly nodes = new Map<string, Node>();
  /** owner uid → dependent uids. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly unsubscribes: Array<() => void> = [];
  private readonly recorder: EventRecorder | undefined;
  private synced: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    resources: ResourceDef[],
    private readonly informers: InformerFactory,
    opts: GarbageCollectorOptions = {},
  ) {
    for (const d of resources) {
      this.byKindKey.set(kindKey(d), d);
      const gk = `${d.group}/${d.kind}`;
      this.byGroupKind.set(gk, [...(this.byGroupKind.get(gk) ?? []), d]);
    }
    this.watched = resources.filter((d) => d.verbs.includes('list') && d.verbs.includes('watch'));
    this.recorder = opts.recorder;
    const clock = opts.clock ?? realClock;
    this.queue = new WorkQueue((key) => this.sync(key), {
      name: 'garbage-collector',
      concurrency: opts.concurrency ?? 8,
      clock,
      rateLimiter: new ExponentialRateLimiter(5, 60_000),
      onError: (key, err) => {
        if (!isConflict(err) && !isNotFound(err)) console.error(`garbage collector: syncing ${key}:`, err);
      },
    });
  }

  /** Registers with an informer per watchable kind; the caller starts the factory. */
  start(): void {
    const infs = this.watched.map((def) => {
      const inf = this.informers.forResource(refOf(def));
      const h: EventHandlers = {
        onAdd: (o) => this.observe(def, undefined, o),
        onUpdate: (old, o) => this.observe(def, old, o),
        onDelete: (o) => this.forget(def, o),
      };
      this.unsubscribes.push(inf.addEventHandler(h));
      return inf;
    });
    // Passes wait for every informer's first list, so the dependency index is complete.
    this.synced = Promise.all(infs.map((i) => i.waitForSync())).then(() => undefined);
    this.synced.catch(() => undefined);
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribes.splice(0)) u();
    await this.queue.shutdown();
  }

  // ---- graph ---------------------------------------------------------------------

  private keyOf(n: Node): string {
    return gcKey(n.def, n.namespace, n.name);
  }

  private enqueueUid(uid: string): void {
    const n = this.nodes.get(uid);
    if (n) this.queue.add(this.keyOf(n));
  }

  private enqueueDependents(uid: string): void {
    for (const d of this.dependents.get(uid) ?? []) this.enqueueUid(d);
  }

  private link(owners: OwnerReference[], uid: string): void {
    for (const r of owners) {
      let s = this.dependents.get(r.uid);
      if (!s) {
        s = new Set();
        this.dependents.set(r.uid, s);
      }
      s.add(uid);
    }
  }

  private unlink(owners: OwnerReference[], uid: string): void {
    for (const r of owners) {
      const s = this.dependents.get(r.uid);
      if (!s) continue;
      s.delete(uid);
      if (s.size === 0) this.dependents.delete(r.uid);
    }
  }

  private observe(def: ResourceDef, old: KObject | undefined, obj: KObject): void {
    const uid = obj.metadata.uid;
    const name = obj.metadata.name;
    if (!uid || !name) return;
    const owners = obj.metadata.ownerReferences ?? [];
    const prev = this.nodes.get(uid);
    const node: Node = {
      def,
      namespace: def.namespaced ? obj.metadata.namespace : undefined,
      name,
      uid,
      owners,
      beingDeleted: obj.metadata.deletionTimestamp !== undefined,
      deletingDependents:
        obj.metadata.deletionTimestamp !== undefined && hasFinalizer(obj, FINALIZER_FOREGROUND),
    };
    if (prev) {
      this.unlink(prev.owners, uid);
      // An owner that lost a blocking dependent (reference removed or unblocked) may be able to finish.
      for (const r of prev.owners) {
        if (!r.blockOwnerDeletion) continue;
        const now = owners.find((o) => o.uid === r.uid);
        if (!now?.blockOwnerDeletion) this.enqueueUid(r.uid);
      }
    }
    this.nodes.set(uid, node);
    this.link(owners, uid);

    const wasOrphaning = old?.metadata.deletionTimestamp !== undefined && hasFinalizer(old, FINALIZER_ORPHAN);
    const wasForeground =
      old?.metadata.deletionTimestamp !== undefined && hasFinalizer(old, FINALIZER_FOREGROUND);
    const orphaning = node.beingDeleted && hasFinalizer(obj, FINALIZER_ORPHAN);
    if (orphaning && !wasOrphaning) this.queue.add(this.keyOf(node));
    if (node.deletingDependents && !wasForeground) {
      this.queue.add(this.keyOf(node));
      this.enqueueDependents(uid);
    }
    // Dependents that joined or left a foreground deletion after it started are covered by the owner's pass.
    if (this.ownersNeedCheck(node)) this.queue.add(this.keyOf(node));
  }

  /** True when any owner is unknown, mismatched, or waiting for its dependents (a cheap hint; passes verify). */
  private ownersNeedCheck(n: Node): boolean {
    if (n.beingDeleted) return false;
    for (const r of n.owners) {
      const o = this.nodes.get(r.uid);
      if (!o) return true;
      if (o.deletingDependents) return true;
      if (o.name !== r.name || o.def.kind !== r.kind) return true;
      if (o.namespace !== undefined && o.namespace !== n.namespace) return true;
    }
    return false;
  }

  private forget(def: ResourceDef, obj: KObject): void {
    const uid = obj.metadata.uid;
    if (!uid) return;
    const n = this.nodes.get(uid);
    if (!n || n.def !== def) return;
    this.nodes.delete(uid);
    this.unlink(n.owners, uid);
    // Its dependents may now be orphaned; owners waiting on it may now finish.
    this.enqueueDependents(uid);
    for (const r of n.owners) {
      const o = this.nodes.get(r.uid);
      if (o?.beingDeleted) this.enqueueUid(r.uid);
    }
  }

  private parseKey(
    key: string,
  ): { def: ResourceDef; namespace: string | undefined; name: string } | undefined {
    const [kk, ns, name] = key.split('|');
    const def = kk === undefined ? undefined : this.byKindKey.get(kk);
    if (!def || name === undefined) return undefined;
    return { def, namespace: def.namespaced ? ns || undefined : undefined, name };
  }

  /** The kind an owner reference names, by group and kind (any served version, the named one first). */
  private ownerDef(ref: OwnerReference): ResourceDef | undefined {
    const { group, version } = parseApiVersion(ref.apiVersion);
    const defs = this.byGroupKind.get(`${group}/${ref.kind}`) ?? [];
    return defs.find((d) => d.version === version) ?? defs[0];
  }

  // ---- passes ---------------------------------------------------------------------

  /** One level-based pass over the object named by `key`. */
  async sync(key: string): Promise<undefined> {
    await this.synced;
    const id = this.parseKey(key);
    if (!id) return undefined;
    let obj: KObject;
    try {
      obj = await this.client.get(refOf(id.def), id.namespace, id.name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    if (obj.metadata.deletionTimestamp) {
      if (hasFinalizer(obj, FINALIZER_ORPHAN)) await this.orphanDependents(id.def, obj);
      else if (hasFinalizer(obj, FINALIZER_FOREGROUND)) await this.processDeletingDependents(id.def, obj);
      return undefined;
    }
    await this.attemptToDelete(id.def, obj);
    return undefined;
  }

  /** Classifies the owners of `obj` against the live API and deletes or repairs it accordingly. */
  private async attemptToDelete(def: ResourceDef, obj: KObject): Promise<void> {
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const ns = def.namespaced ? obj.metadata.namespace : undefined;
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const r of refs) {
      const state = await this.ownerState(obj, ns, r);
      if (state === 'solid') solid.push(r);
      else if (state === 'dangling') dangling.push(r);
      else waiting.push(r);
    }
    const uid = obj.metadata.uid;
    if (solid.length > 0) {
      // Still owned: drop references to owners that are gone or waiting for their dependents.
      const drop = new Set([...dangling, ...waiting].map((r) => r.uid));
      if (drop.size === 0) return;
      await this.mutate(def, ns, obj.metadata.name!, uid, (o) => {
        const before = o.metadata.ownerReferences ?? [];
        const after = before.filter((r) => !drop.has(r.uid));
        if (after.length === before.length) return false;
        o.metadata.ownerReferences = after;
        return true;
      });
      return;
    }
    const myDependents = uid ? [...(this.dependents.get(uid) ?? [])] : [];
    if (waiting.length > 0 && myDependents.length > 0) {
      // A dependent that itself waits on its dependents could deadlock with us: stop blocking our owners.
      const cyclic = myDependents.some((d) => this.nodes.get(d)?.deletingDependents);
      if (cyclic) {
        const waitingUids = new Set(waiting.map((r) => r.uid));
        await this.mutate(def, ns, obj.metadata.name!, uid, (o) => {
          let changed = false;
          for (const r of o.metadata.ownerReferences ?? []) {
            if (waitingUids.has(r.uid) && r.blockOwnerDeletion) {
              r.blockOwnerDeletion = false;
              changed = true;
            }
          }
          return changed;
        });
      }
      await this.deleteObject(def, ns, obj, 'Foreground');
      return;
    }
    const policy = hasFinalizer(obj, FINALIZER_ORPHAN)
      ? 'Orphan'
      : hasFinalizer(obj, FINALIZER_FOREGROUND)
        ? 'Foreground'
        : 'Background';
    await this.deleteObject(def, ns, obj, policy);
  }

  /** Looks the owner up where it must live and says whether it keeps the dependent alive. */
  private async ownerState(dep: KObject, depNs: string | undefined, r: OwnerReference): Promise<OwnerState> {
    const od = this.ownerDef(r);
    // An owner of a kind we do not serve cannot be verified: keep the dependent (upstream retries forever).
    if (!od) return 'solid';
    if (od.namespaced && depNs === undefined) {
      // A cluster-scoped dependent cannot be owned by a namespaced kind: unresolvable, never collected.
      void this.recorder?.event(
        dep,
        'Warning',
        'OwnerRefInvalidNamespace',
        `ownerRef ${describeOwner(r, undefined)} does not exist in namespace ""`,
      );
      return 'solid';
    }
    let owner: KObject;
    try {
      owner = await this.client.get(refOf(od), od.namespaced ? depNs : undefined, r.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.reportCrossNamespace(dep, depNs, r);
      return 'dangling';
    }
    if (owner.metadata.uid !== r.uid) {
      this.reportCrossNamespace(dep, depNs, r);
      return 'dangling';
    }
    if (owner.metadata.deletionTimestamp && hasFinalizer(owner, FINALIZER_FOREGROUND)) return 'waiting';
    return 'solid';
  }

  /** Warns when the referenced uid is known to live in another namespace (upstream's OwnerRefInvalidNamespace). */
  private reportCrossNamespace(dep: KObject, depNs: string | undefined, r: OwnerReference): void {
    const known = this.nodes.get(r.uid);
    if (!known || known.namespace === undefined || known.namespace === depNs) return;
    void this.recorder?.event(
      dep,
      'Warning',
      'OwnerRefInvalidNamespace',
      `ownerRef ${describeOwner(r, depNs)} does not exist in namespace ${JSON.stringify(depNs ?? '')}`,
    );
  }

  /** Foreground deletion of `owner`: delete its dependents; drop the finalizer once no blocking ones remain. */
  private async processDeletingDependents(def: ResourceDef, owner: KObject): Promise<void> {
    const uid = owner.metadata.uid!;
    const ns = def.namespaced ? owner.metadata.namespace : undefined;
    let blocking = 0;
    for (const depUid of this.dependents.get(uid) ?? []) {
      const d = this.nodes.get(depUid);
      if (!d) continue;
      const ref = d.owners.find((r) => r.uid === uid);
      if (!ref) continue;
      if (ref.blockOwnerDeletion) blocking++;
      if (!d.beingDeleted || d.deletingDependents) this.queue.add(this.keyOf(d));
    }
    if (blocking > 0) return; // Their deletion (or unblocking) re-queues us.
    await this.mutate(def, ns, owner.metadata.name!, uid, (o) => {
      const fins = o.metadata.finalizers ?? [];
      if (!fins.includes(FINALIZER_FOREGROUND)) return false;
      o.metadata.finalizers = fins.filter((f) => f !== FINALIZER_FOREGROUND);
      return true;
    });
  }

  /** Orphan deletion of `owner`: strip its ownerReference from every dependent, then drop the finalizer. */
  private async orphanDependents(def: ResourceDef, owner: KObject): Promise<void> {
    const uid = owner.metadata.uid!;
    const ns = def.namespaced ? owner.metadata.namespace : undefined;
    for (const depUid of [...(this.dependents.get(uid) ?? [])]) {
      const d = this.nodes.get(depUid);
      if (!d) continue;
      await this.mutate(d.def, d.namespace, d.name, d.uid, (o) => {
        const before = o.metadata.ownerReferences ?? [];
        const after = before.filter((r) => r.uid !== uid);
        if (after.length === before.length) return false;
        o.metadata.ownerReferences = after;
        return true;
      });
    }
    await this.mutate(def, ns, owner.metadata.name!, uid, (o) => {
      const fins = o.metadata.finalizers ?? [];
      if (!fins.includes(FINALIZER_ORPHAN)) return false;
      o.metadata.finalizers = fins.filter((f) => f !== FINALIZER_ORPHAN);
      return true;
    });
  }

  // ---- writes (the only place that changes the cluster) -----------------------------

  private async deleteObject(
    def: ResourceDef,
    ns: string | undefined,
    obj: KObject,
    policy: NonNullable<DeleteOpts['propagationPolicy']>,
  ): Promise<void> {
    try {
      await this.client.delete(refOf(def), ns, obj.metadata.name!, {
        propagationPolicy: policy,
        preconditions: obj.metadata.uid ? { uid: obj.metadata.uid } : undefined,
      });
    } catch (err) {
      // Gone, or replaced by a new object of the same name (uid precondition): nothing to collect.
      if (isNotFound(err)) return;
      if (isConflict(err)) {
        const cur = await this.client.get(refOf(def), ns, obj.metadata.name!).catch(() => undefined);
        if (!cur || cur.metadata.uid !== obj.metadata.uid) return;
      }
      throw err;
    }
  }

  /**
   * Re-reads the object, applies `change` (which returns false for "nothing to
   * do") and writes it back with optimistic concurrency, retrying a few times
   * on conflict. A different uid or NotFound means the object is gone: no-op.
   */
  private async mutate(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    uid: string | undefined,
    change: (o: KObject) => boolean,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let cur: KObject;
      try {
        cur = await this.client.get(refOf(def), ns, name);
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      if (uid && cur.metadata.uid !== uid) return;
      if (!change(cur)) return;
      try {
        await this.client.update(refOf(def), ns, cur);
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (isConflict(err) && attempt < 5) continue;
        throw err;
      }
    }
  }
}
