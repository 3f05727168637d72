/**
 * Test doubles for the StatefulSet controller: an in-memory ObjectManager
 * with API-like semantics (uids, resourceVersions, AlreadyExists / NotFound /
 * Conflict, graceful deletion of pods that have a node) and a recording
 * EventRecorder. Used by the policy tests; not used by the controller.
 */
import { alreadyExists, conflict, notFound } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import type { LabelMatcher } from '../../machinery/selectors.js';
import type { EventRecorder, EventType } from '../events.js';
import { getControllerOf, newControllerRef } from '../util/controller-ref.js';
import type { ObjectManager } from './pod-control.js';
import { isMemberOf } from './utils.js';

export interface RecordedEvent {
  type: EventType;
  reason: string;
  message: string;
}

export class FakeRecorder implements EventRecorder {
  readonly events: RecordedEvent[] = [];
  async event(_obj: KObject, type: EventType, reason: string, message: string): Promise<void> {
    this.events.push({ type, reason, message });
  }
  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}

type Kind = 'pod' | 'claim' | 'revision' | 'set';

const GR: Record<Kind, { group: string; resource: string }> = {
  pod: { group: '', resource: 'pods' },
  claim: { group: '', resource: 'persistentvolumeclaims' },
  revision: { group: 'apps', resource: 'controllerrevisions' },
  set: { group: 'apps', resource: 'statefulsets' },
};

/** One namespace's worth of pods, claims, revisions and sets, kept in maps. */
export class FakeObjectManager implements ObjectManager {
  readonly pods = new Map<string, KObject>();
  readonly claims = new Map<string, KObject>();
  readonly revisions = new Map<string, KObject>();
  readonly sets = new Map<string, KObject>();
  /** "verb kind name" for every successful write, in order. */
  readonly actions: string[] = [];
  /** Errors to throw from the next matching write: key "verb kind name". */
  readonly failNext = new Map<string, Error>();
  private rv = 0;
  private uid = 0;
  /** ISO time stamped on creations (tests can move it). */
  nowIso = '2025-01-01T00:00:00Z';

  private store(kind: Kind): Map<string, KObject> {
    if (kind === 'pod') return this.pods;
    if (kind === 'claim') return this.claims;
    if (kind === 'revision') return this.revisions;
    return this.sets;
  }

  private check(verb: string, kind: Kind, name: string): void {
    const key = `${verb} ${kind} ${name}`;
    const err = this.failNext.get(key);
    if (err) {
      this.failNext.delete(key);
      throw err;
    }
  }

  private bump(obj: KObject): KObject {
    obj.metadata.resourceVersion = String(++this.rv);
    return obj;
  }

  /** Stores a new object as the API would (uid, resourceVersion, creationTimestamp). */
  add(kind: Kind, objIn: KObject): KObject {
    const obj = structuredClone(objIn);
    const name = obj.metadata.name ?? '';
    const m = this.store(kind);
    if (m.has(name)) throw alreadyExists(GR[kind], name);
    obj.metadata.uid ??= `uid-${++this.uid}`;
    obj.metadata.creationTimestamp ??= this.nowIso;
    if (kind === 'pod') {
      const status = (obj.status ?? {}) as Record<string, unknown>;
      status.phase ??= 'Pending';
      obj.status = status;
    }
    if (kind === 'set') obj.metadata.generation ??= 1;
    m.set(name, this.bump(obj));
    return structuredClone(obj);
  }

  private write(kind: Kind, objIn: KObject): KObject {
    const name = objIn.metadata.name ?? '';
    const m = this.store(kind);
    const cur = m.get(name);
    if (!cur) throw notFound(GR[kind], name);
    if (objIn.metadata.resourceVersion && objIn.metadata.resourceVersion !== cur.metadata.resourceVersion) {
      throw conflict(
        GR[kind],
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    const next = structuredClone(objIn);
    next.metadata.uid = cur.metadata.uid;
    next.metadata.creationTimestamp = cur.metadata.creationTimestamp;
    m.set(name, this.bump(next));
    return structuredClone(next);
  }

  /** Test helper: changes a stored object in place (as a kubelet or user would). */
  mutate(kind: Kind, name: string, fn: (obj: KObject) => void): KObject {
    const cur = this.store(kind).get(name);
    if (!cur) throw new Error(`no ${kind} ${name}`);
    const next = structuredClone(cur);
    fn(next);
    this.store(kind).set(name, this.bump(next));
    return next;
  }

  /** Test helper: removes an object now (a kubelet finishing graceful deletion, the GC, …). */
  remove(kind: Kind, name: string): void {
    this.store(kind).delete(name);
  }

  async createPod(pod: KObject): Promise<KObject> {
    this.check('create', 'pod', pod.metadata.name ?? '');
    const out = this.add('pod', pod);
    this.actions.push(`create pod ${pod.metadata.name}`);
    return out;
  }
  getPod(_ns: string, name: string): KObject | undefined {
    return this.pods.get(name);
  }
  async fetchPod(_ns: string, name: string): Promise<KObject> {
    const p = this.pods.get(name);
    if (!p) throw notFound(GR.pod, name);
    return structuredClone(p);
  }
  async updatePod(pod: KObject): Promise<KObject> {
    this.check('update', 'pod', pod.metadata.name ?? '');
    const out = this.write('pod', pod);
    this.actions.push(`update pod ${pod.metadata.name}`);
    return out;
  }
  async deletePod(pod: KObject): Promise<void> {
    const name = pod.metadata.name ?? '';
    this.check('delete', 'pod', name);
    const cur = this.pods.get(name);
    if (!cur) throw notFound(GR.pod, name);
    const spec = (cur.spec ?? {}) as Record<string, unknown>;
    const phase = ((cur.status ?? {}) as Record<string, unknown>).phase;
    if (spec.nodeName && phase !== 'Succeeded' && phase !== 'Failed') {
      // Graceful: the kubelet finishes it (tests call remove()).
      if (!cur.metadata.deletionTimestamp) {
        cur.metadata.deletionTimestamp = this.nowIso;
        cur.metadata.deletionGracePeriodSeconds = 30;
        this.bump(cur);
      }
    } else {
      this.pods.delete(name);
    }
    this.actions.push(`delete pod ${name}`);
  }
  async createClaim(claim: KObject): Promise<KObject> {
    this.check('create', 'claim', claim.metadata.name ?? '');
    const out = this.add('claim', claim);
    this.actions.push(`create claim ${claim.metadata.name}`);
    return out;
  }
  getClaim(_ns: string, name: string): KObject | undefined {
    return this.claims.get(name);
  }
  async updateClaim(claim: KObject): Promise<KObject> {
    this.check('update', 'claim', claim.metadata.name ?? '');
    const out = this.write('claim', claim);
    this.actions.push(`update claim ${claim.metadata.name}`);
    return out;
  }
  async createRevision(rev: KObject): Promise<KObject> {
    this.check('create', 'revision', rev.metadata.name ?? '');
    const out = this.add('revision', rev);
    this.actions.push(`create revision ${rev.metadata.name}`);
    return out;
  }
  async fetchRevision(_ns: string, name: string): Promise<KObject> {
    const r = this.revisions.get(name);
    if (!r) throw notFound(GR.revision, name);
    return structuredClone(r);
  }
  async updateRevision(rev: KObject): Promise<KObject> {
    this.check('update', 'revision', rev.metadata.name ?? '');
    const out = this.write('revision', rev);
    this.actions.push(`update revision ${rev.metadata.name} to ${String(rev.revision)}`);
    return out;
  }
  async deleteRevision(rev: KObject): Promise<void> {
    const name = rev.metadata.name ?? '';
    this.check('delete', 'revision', name);
    if (!this.revisions.delete(name)) throw notFound(GR.revision, name);
    this.actions.push(`delete revision ${name}`);
  }
  async adoptRevision(set: KObject, rev: KObject): Promise<KObject> {
    const name = rev.metadata.name ?? '';
    const out = this.mutate('revision', name, (r) => {
      r.metadata.ownerReferences = [...(r.metadata.ownerReferences ?? []), newControllerRef(set)];
    });
    this.actions.push(`adopt revision ${name}`);
    return structuredClone(out);
  }
  async fetchSet(_ns: string, name: string): Promise<KObject> {
    const s = this.sets.get(name);
    if (!s) throw notFound(GR.set, name);
    return structuredClone(s);
  }
  async updateSetStatus(set: KObject): Promise<KObject> {
    const name = set.metadata.name ?? '';
    this.check('update', 'set', name);
    const cur = this.sets.get(name);
    if (!cur) throw notFound(GR.set, name);
    if (set.metadata.resourceVersion && set.metadata.resourceVersion !== cur.metadata.resourceVersion) {
      throw conflict(
        GR.set,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    const next = structuredClone(cur);
    next.status = structuredClone(set.status);
    this.sets.set(name, this.bump(next));
    this.actions.push(`update status ${name}`);
    return structuredClone(next);
  }
  async claimPods(set: KObject, candidates: KObject[], selector: LabelMatcher): Promise<KObject[]> {
    return candidates.filter(
      (p) =>
        getControllerOf(p)?.uid === set.metadata.uid &&
        selector.matches(p.metadata.labels ?? {}) &&
        isMemberOf(set, p),
    );
  }
}
