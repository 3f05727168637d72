/**
 * Pure StatefulSet helpers (upstream pkg/controller/statefulset/stateful_set_utils.go
 * and pkg/controller/history, as of Kubernetes 1.33): pod identity and
 * ordinals, claim construction, the PVC retention-policy ownerRef table,
 * ControllerRevision data/hash/naming, status arithmetic and maxUnavailable.
 *
 * Objects are plain KObjects. Nothing here mutates its arguments unless the
 * function says so (the `update*` helpers mutate the copy they are handed).
 */
import { isObject, type KObject, type LabelSelector, type OwnerReference } from '../../api/types.js';
import { getControllerOf, newControllerRef } from '../util/controller-ref.js';
import { isPodAvailable, isPodReady, isRunningAndReady, isTerminating, podPhase } from '../util/pods.js';

// ---------------------------------------------------------------------------
// Well-known names

/** apps.StatefulSetRevisionLabel: the pod's revision (the ControllerRevision *name*). */
export const REVISION_LABEL = 'controller-revision-hash';
/** apps.StatefulSetPodNameLabel. */
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
/** apps.PodIndexLabel (PodIndexLabel gate, GA in 1.32). */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
/** history.ControllerRevisionHashLabel. */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';

/** The StatefulSet kind as ownerReferences name it (upstream controllerKind). */
export const SET_GVK = { apiVersion: 'apps/v1', kind: 'StatefulSet' } as const;
/** The Pod kind as ownerReferences name it (upstream podKind). */
export const POD_GVK = { apiVersion: 'v1', kind: 'Pod' } as const;

export const RETAIN = 'Retain';
export const DELETE = 'Delete';

// ---------------------------------------------------------------------------
// Typed views of the set

export interface RollingUpdateView {
  partition: number;
  /** int or "N%"; undefined when unset. */
  maxUnavailable: number | string | undefined;
}

export interface SetView {
  name: string;
  namespace: string;
  uid: string;
  replicas: number;
  start: number;
  podManagementPolicy: string;
  updateType: string;
  /** undefined when spec.updateStrategy.rollingUpdate is nil. */
  rollingUpdate: RollingUpdateView | undefined;
  minReadySeconds: number;
  revisionHistoryLimit: number;
  serviceName: string;
  selector: LabelSelector | undefined;
  template: Record<string, unknown>;
  volumeClaimTemplates: KObject[];
  retention: { whenDeleted: string; whenScaled: string };
}

function rec(v: unknown): Record<string, unknown> {
  return isObject(v) ? v : {};
}

function int(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : dflt;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

const views = new WeakMap<KObject, SetView>();

/**
 * Reads the fields the controller uses, with upstream defaults for anything
 * unset. Views are cached per object: sets are never mutated once read
 * (informer copies, or fresh clones), so one parse serves a whole pass.
 */
export function setView(set: KObject): SetView {
  let v = views.get(set);
  if (!v) {
    v = readSetView(set);
    views.set(set, v);
  }
  return v;
}

function readSetView(set: KObject): SetView {
  const spec = rec(set.spec);
  const strategy = rec(spec.updateStrategy);
  const ru = isObject(strategy.rollingUpdate) ? strategy.rollingUpdate : undefined;
  const mu = ru?.maxUnavailable;
  const retention = rec(spec.persistentVolumeClaimRetentionPolicy);
  return {
    name: set.metadata.name ?? '',
    namespace: set.metadata.namespace ?? '',
    uid: set.metadata.uid ?? '',
    replicas: int(spec.replicas, 1),
    start: int(rec(spec.ordinals).start, 0),
    podManagementPolicy: str(spec.podManagementPolicy) || 'OrderedReady',
    updateType: str(strategy.type) || 'RollingUpdate',
    rollingUpdate: ru
      ? {
          partition: int(ru.partition, 0),
          maxUnavailable: typeof mu === 'number' || typeof mu === 'string' ? mu : undefined,
        }
      : undefined,
    minReadySeconds: int(spec.minReadySeconds, 0),
    revisionHistoryLimit: int(spec.revisionHistoryLimit, 10),
    serviceName: str(spec.serviceName),
    selector: isObject(spec.selector) ? (spec.selector as LabelSelector) : undefined,
    template: rec(spec.template),
    volumeClaimTemplates: Array.isArray(spec.volumeClaimTemplates)
      ? (spec.volumeClaimTemplates.filter(isObject) as unknown as KObject[])
      : [],
    retention: {
      whenDeleted: str(retention.whenDeleted) || RETAIN,
      whenScaled: str(retention.whenScaled) || RETAIN,
    },
  };
}

// ---------------------------------------------------------------------------
// Ordinals and identity

const MAX_INT32 = 2 ** 31 - 1;

/**
 * Where the `-<digits>` suffix of `(.*)-([0-9]+)$` starts, or -1. Scanning by
 * hand instead of with the regex keeps this cheap: it runs for every pod on
 * every pass.
 */
function ordinalDash(name: string): number {
  let i = name.length - 1;
  while (i >= 0) {
    const c = name.charCodeAt(i);
    if (c < 48 || c > 57) break;
    i--;
  }
  if (i === name.length - 1 || i < 0 || name.charCodeAt(i) !== 45) return -1;
  return i;
}

/** The ordinal parsed from a pod name, or -1 (no `-<digits>` suffix, or too large for int32). */
export function ordinalOfName(name: string): number {
  const dash = ordinalDash(name);
  if (dash < 0) return -1;
  let n = 0;
  for (let i = dash + 1; i < name.length; i++) {
    n = n * 10 + (name.charCodeAt(i) - 48);
    if (n > MAX_INT32) return -1;
  }
  return n;
}

/** The parent set name parsed from a pod name, or "" (Go's `.` stops at newlines, so the match starts after the last one). */
export function parentOfName(name: string): string {
  const dash = ordinalDash(name);
  if (dash < 0) return '';
  const nl = name.lastIndexOf('\n', dash);
  return name.slice(nl + 1, dash);
}

/**
 * Parent set name and ordinal parsed from a pod name (`(.*)-([0-9]+)$`).
 * No match: parent "" and ordinal -1; an ordinal too large for int32 keeps the
 * parent but yields -1 (Go's ParseInt(…, 10, 32) failing).
 */
export function parseParentAndOrdinal(podName: string): { parent: string; ordinal: number } {
  return { parent: parentOfName(podName), ordinal: ordinalOfName(podName) };
}

export function getParentName(pod: KObject): string {
  return parentOfName(pod.metadata.name ?? '');
}

export function getOrdinal(pod: KObject): number {
  return ordinalOfName(pod.metadata.name ?? '');
}

export function getStartOrdinal(set: KObject): number {
  return setView(set).start;
}

/** The last ordinal in range (inclusive). */
export function getEndOrdinal(set: KObject): number {
  const v = setView(set);
  return v.start + v.replicas - 1;
}

export function podInOrdinalRange(pod: KObject, set: KObject): boolean {
  const ord = getOrdinal(pod);
  return ord >= getStartOrdinal(set) && ord <= getEndOrdinal(set);
}

export function getPodName(set: KObject, ordinal: number): string {
  return `${set.metadata.name ?? ''}-${ordinal}`;
}

export function getPersistentVolumeClaimName(set: KObject, claimTemplate: KObject, ordinal: number): string {
  return `${claimTemplate.metadata?.name ?? ''}-${set.metadata.name ?? ''}-${ordinal}`;
}

/** The pod's name parses to this set as parent. */
export function isMemberOf(set: KObject, pod: KObject): boolean {
  return getParentName(pod) === set.metadata.name;
}

/** Name, namespace and pod-name label are those of a member of set. */
export function identityMatches(set: KObject, pod: KObject): boolean {
  const name = pod.metadata.name ?? '';
  const ordinal = ordinalOfName(name);
  const parent = parentOfName(name);
  return (
    ordinal >= 0 &&
    set.metadata.name === parent &&
    pod.metadata.name === getPodName(set, ordinal) &&
    pod.metadata.namespace === set.metadata.namespace &&
    pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name
  );
}

function podVolumes(pod: KObject): Record<string, unknown>[] {
  const spec = rec(pod.spec);
  return Array.isArray(spec.volumes) ? (spec.volumes.filter(isObject) as Record<string, unknown>[]) : [];
}

/** Every claim template has a same-named pod volume pointing at the right claim. */
export function storageMatches(set: KObject, pod: KObject): boolean {
  const ordinal = getOrdinal(pod);
  if (ordinal < 0) return false;
  const volumes = new Map<string, Record<string, unknown>>();
  for (const v of podVolumes(pod)) volumes.set(str(v.name), v);
  for (const claim of setView(set).volumeClaimTemplates) {
    const v = volumes.get(claim.metadata?.name ?? '');
    const src = v && isObject(v.persistentVolumeClaim) ? v.persistentVolumeClaim : undefined;
    if (!src || src.claimName !== getPersistentVolumeClaimName(set, claim, ordinal)) return false;
  }
  return true;
}

/**
 * The claims a pod of set needs, keyed by template name (template order):
 * a copy of each template named `<template>-<set>-<ordinal>` in the set's
 * namespace, labelled with the template labels plus selector.matchLabels.
 */
export function getPersistentVolumeClaims(set: KObject, pod: KObject): Map<string, KObject> {
  const ordinal = getOrdinal(pod);
  const v = setView(set);
  const out = new Map<string, KObject>();
  for (const tpl of v.volumeClaimTemplates) {
    const tm = rec(tpl.metadata);
    const labels: Record<string, string> = { ...(rec(tm.labels) as Record<string, string>) };
    for (const [k, val] of Object.entries(v.selector?.matchLabels ?? {})) labels[k] = val;
    const metadata: KObject['metadata'] = {
      name: getPersistentVolumeClaimName(set, tpl, ordinal),
      namespace: v.namespace,
      labels,
    };
    if (isObject(tm.annotations))
      metadata.annotations = structuredClone(tm.annotations) as Record<string, string>;
    if (Array.isArray(tm.finalizers)) metadata.finalizers = structuredClone(tm.finalizers) as string[];
    const claim: KObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata,
      spec: structuredClone(rec(tpl.spec)),
    };
    out.set(tpl.metadata?.name ?? '', claim);
  }
  return out;
}

/**
 * Mutates `pod`: one volume per claim template (replacing any same-named
 * volume), followed by the pod's other volumes.
 */
export function updateStorage(set: KObject, pod: KObject): void {
  const claims = getPersistentVolumeClaims(set, pod);
  const next: Record<string, unknown>[] = [];
  for (const [name, claim] of claims) {
    next.push({ name, persistentVolumeClaim: { claimName: claim.metadata.name } });
  }
  for (const v of podVolumes(pod)) if (!claims.has(str(v.name))) next.push(v);
  const spec = isObject(pod.spec) ? pod.spec : {};
  if (next.length > 0) spec.volumes = next;
  else delete spec.volumes;
  pod.spec = spec;
}

/** Mutates `pod`: name, namespace, pod-name and pod-index labels. */
export function updateIdentity(set: KObject, pod: KObject): void {
  const ordinal = getOrdinal(pod);
  pod.metadata.name = getPodName(set, ordinal);
  pod.metadata.namespace = set.metadata.namespace;
  const labels = { ...(pod.metadata.labels ?? {}) };
  labels[POD_NAME_LABEL] = pod.metadata.name;
  labels[POD_INDEX_LABEL] = String(ordinal);
  pod.metadata.labels = labels;
}

/** updateIdentity plus the fields only set at creation: hostname and subdomain. */
export function initIdentity(set: KObject, pod: KObject): void {
  updateIdentity(set, pod);
  const spec = isObject(pod.spec) ? pod.spec : {};
  spec.hostname = pod.metadata.name;
  const svc = setView(set).serviceName;
  if (svc) spec.subdomain = svc;
  else delete spec.subdomain;
  pod.spec = spec;
}

// ---------------------------------------------------------------------------
// Pod state

// Phase, readiness and availability come from util/pods.ts (podutil semantics).
export { isPodReady, isRunningAndReady, isTerminating };
/** podutil.IsPodAvailable: Ready, and with minReadySeconds > 0 Ready since at least that long ago. */
export const isRunningAndAvailable = isPodAvailable;

export function isCreated(pod: KObject): boolean {
  return podPhase(pod) !== '';
}

export function isPending(pod: KObject): boolean {
  return podPhase(pod) === 'Pending';
}

export function isFailed(pod: KObject): boolean {
  return podPhase(pod) === 'Failed';
}

export function isSucceeded(pod: KObject): boolean {
  return podPhase(pod) === 'Succeeded';
}

export function isHealthy(pod: KObject): boolean {
  return isRunningAndReady(pod) && !isTerminating(pod);
}

/** Not available for minReadySeconds, or terminating (a slot with no pod yet counts too). */
export function isUnavailable(pod: KObject, minReadySeconds: number, nowMs: number): boolean {
  return !isRunningAndAvailable(pod, minReadySeconds, nowMs) || isTerminating(pod);
}

/** Parallel pod management ("burst"). */
export function allowsBurst(set: KObject): boolean {
  return setView(set).podManagementPolicy === 'Parallel';
}

export function getPodRevision(pod: KObject): string {
  return pod.metadata.labels?.[REVISION_LABEL] ?? '';
}

/** Mutates `pod`: sets the controller-revision-hash label. */
export function setPodRevision(pod: KObject, revision: string): void {
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [REVISION_LABEL]: revision };
}

/** Ascending ordinal (unparseable names, ordinal -1, first). */
export function ascendingOrdinal(a: KObject, b: KObject): number {
  return getOrdinal(a) - getOrdinal(b);
}

/** Descending ordinal (unparseable names last). */
export function descendingOrdinal(a: KObject, b: KObject): number {
  return getOrdinal(b) - getOrdinal(a);
}

// ---------------------------------------------------------------------------
// New pods

/**
 * controller.GetPodFromTemplate + identity + storage: template labels,
 * annotations, finalizers and spec; generateName `<set>-`; a controller
 * ownerRef to the set; name `<set>-<ordinal>`; pod-name/pod-index labels;
 * hostname/subdomain; claim volumes.
 */
export function newStatefulSetPod(set: KObject, ordinal: number): KObject {
  const tpl = setView(set).template;
  const tm = rec(tpl.metadata);
  const metadata: KObject['metadata'] = {
    name: getPodName(set, ordinal),
    generateName: `${set.metadata.name ?? ''}-`,
    namespace: set.metadata.namespace,
    labels: { ...(rec(tm.labels) as Record<string, string>) },
    ownerReferences: [newControllerRef(set)],
  };
  if (isObject(tm.annotations)) metadata.annotations = { ...(tm.annotations as Record<string, string>) };
  if (Array.isArray(tm.finalizers)) metadata.finalizers = [...(tm.finalizers as string[])];
  const pod: KObject = { apiVersion: 'v1', kind: 'Pod', metadata, spec: structuredClone(rec(tpl.spec)) };
  initIdentity(set, pod);
  updateStorage(set, pod);
  return pod;
}

/**
 * A pod for an empty slot: from the current revision when the ordinal is below
 * the partition (RollingUpdate) or, with no rollingUpdate block, below
 * start+status.currentReplicas; otherwise from the update revision (this
 * covers OnDelete). Both sets carry their revision's template.
 */
export function newVersionedStatefulSetPod(
  currentSet: KObject,
  updateSet: KObject,
  currentRevision: string,
  updateRevision: string,
  ordinal: number,
): KObject {
  const v = setView(currentSet);
  const statusCurrent = int(rec(currentSet.status).currentReplicas, 0);
  const useCurrent =
    (v.updateType === 'RollingUpdate' &&
      v.rollingUpdate === undefined &&
      ordinal < v.start + statusCurrent) ||
    (v.rollingUpdate !== undefined && ordinal < v.start + v.rollingUpdate.partition);
  const pod = newStatefulSetPod(useCurrent ? currentSet : updateSet, ordinal);
  setPodRevision(pod, useCurrent ? currentRevision : updateRevision);
  return pod;
}

// ---------------------------------------------------------------------------
// PVC retention policy (ownerRefs enforced by the garbage collector)

function matchesRef(ref: OwnerReference, obj: KObject, gvk: { apiVersion: string; kind: string }): boolean {
  return ref.apiVersion === gvk.apiVersion && ref.kind === gvk.kind && ref.name === obj.metadata.name;
}

function uidOf(obj: KObject): string {
  return obj.metadata.uid ?? '';
}

function refsOf(claim: KObject): OwnerReference[] {
  return claim.metadata.ownerReferences ?? [];
}

function isRetainRetain(set: KObject): boolean {
  const p = setView(set).retention;
  return p.whenScaled === RETAIN && p.whenDeleted === RETAIN;
}

/** target has an ownerRef with owner's uid (controller or not). */
export function hasOwnerRef(target: KObject, owner: KObject): boolean {
  const uid = uidOf(owner);
  return refsOf(target).some((r) => r.uid === uid);
}

/** A ref naming obj (kind + name) with another uid: left by a previous incarnation. */
export function hasStaleOwnerRef(
  target: KObject,
  obj: KObject,
  gvk: { apiVersion: string; kind: string },
): boolean {
  for (const r of refsOf(target)) if (matchesRef(r, obj, gvk)) return r.uid !== uidOf(obj);
  return false;
}

/**
 * Under a non-Retain policy: a controller ref to something other than this
 * set or pod, or a ref to the set/pod name with the wrong uid.
 */
export function hasUnexpectedController(claim: KObject, set: KObject, pod: KObject): boolean {
  if (isRetainRetain(set)) return false;
  for (const r of refsOf(claim)) {
    if (matchesRef(r, set, SET_GVK)) {
      if (r.uid !== uidOf(set)) return true;
      continue;
    }
    if (matchesRef(r, pod, POD_GVK)) {
      if (r.uid !== uidOf(pod)) return true;
      continue;
    }
    if (r.controller === true) return true;
  }
  return false;
}

/** The set or pod owns the claim without being marked controller. */
export function hasNonControllerOwner(claim: KObject, set: KObject, pod: KObject): boolean {
  return refsOf(claim).some((r) => (r.uid === uidOf(set) || r.uid === uidOf(pod)) && r.controller !== true);
}

/**
 * False when the claim's ownerRefs disagree with the retention policy (see the
 * table in the reference: set ref for whenDeleted=Delete on in-range pods, pod
 * ref for whenScaled=Delete on condemned pods). Stale refs and foreign
 * controllers (already scrubbed of ours) count as up to date: they are left alone.
 */
export function isClaimOwnerUpToDate(claim: KObject, set: KObject, pod: KObject): boolean {
  if (hasStaleOwnerRef(claim, set, SET_GVK) || hasStaleOwnerRef(claim, pod, POD_GVK)) return true;
  if (hasUnexpectedController(claim, set, pod)) {
    return !(hasOwnerRef(claim, set) || hasOwnerRef(claim, pod));
  }
  if (hasNonControllerOwner(claim, set, pod)) return false;
  const p = setView(set).retention;
  const scaledDown = !podInOrdinalRange(pod, set);
  if (p.whenScaled === RETAIN && p.whenDeleted === DELETE) {
    return hasOwnerRef(claim, set) && !hasOwnerRef(claim, pod);
  }
  if (p.whenScaled === DELETE && p.whenDeleted === RETAIN) {
    return !hasOwnerRef(claim, set) && scaledDown === hasOwnerRef(claim, pod);
  }
  if (p.whenScaled === DELETE && p.whenDeleted === DELETE) {
    return scaledDown !== hasOwnerRef(claim, set) && scaledDown === hasOwnerRef(claim, pod);
  }
  // Retain/Retain, and unknown values treated as Retain.
  return !hasOwnerRef(claim, set) && !hasOwnerRef(claim, pod);
}

function controllerRefTo(owner: KObject, gvk: { apiVersion: string; kind: string }): OwnerReference {
  return {
    apiVersion: gvk.apiVersion,
    kind: gvk.kind,
    name: owner.metadata.name ?? '',
    uid: uidOf(owner),
    controller: true,
    blockOwnerDeletion: true,
  };
}

function addControllerRef(
  refs: OwnerReference[],
  owner: KObject,
  gvk: { apiVersion: string; kind: string },
): OwnerReference[] {
  if (refs.some((r) => r.uid === uidOf(owner))) return refs;
  return [...refs, controllerRefTo(owner, gvk)];
}

/**
 * The claim's ownerRefs rewritten for the policy: refs to this set and pod
 * (by kind and name) are scrubbed, then controller refs added as the table
 * says; with a foreign controller present nothing is added back.
 */
export function claimOwnerRefsForPolicy(claim: KObject, set: KObject, pod: KObject): OwnerReference[] {
  const unexpected = hasUnexpectedController(claim, set, pod);
  let refs = refsOf(claim).filter((r) => !(matchesRef(r, set, SET_GVK) || matchesRef(r, pod, POD_GVK)));
  if (unexpected) return refs;
  const p = setView(set).retention;
  const scaledDown = !podInOrdinalRange(pod, set);
  if (p.whenScaled === RETAIN && p.whenDeleted === DELETE) {
    refs = addControllerRef(refs, set, SET_GVK);
  } else if (p.whenScaled === DELETE && p.whenDeleted === RETAIN) {
    if (scaledDown) refs = addControllerRef(refs, pod, POD_GVK);
  } else if (p.whenScaled === DELETE && p.whenDeleted === DELETE) {
    refs = scaledDown ? addControllerRef(refs, pod, POD_GVK) : addControllerRef(refs, set, SET_GVK);
  }
  return refs;
}

// ---------------------------------------------------------------------------
// ControllerRevisions

/**
 * Serialises like Go's encoding/json over map[string]interface{}: object keys
 * sorted, no whitespace, and `<`, `>`, `&`, U+2028, U+2029 escaped. This is
 * the byte string upstream stores in ControllerRevision.data and hashes.
 */
export function goJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) {
    const parts: string[] = [];
    for (const x of v) parts.push(goJson(x));
    return `[${parts.join(',')}]`;
  }
  if (isObject(v)) {
    const parts: string[] = [];
    for (const k of Object.keys(v).sort()) {
      if (v[k] === undefined) continue;
      parts.push(`${goString(k)}:${goJson(v[k])}`);
    }
    return `{${parts.join(',')}}`;
  }
  return 'null';
}

function goString(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A deep copy whose object keys are inserted in sorted order (how the data is stored). */
export function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) if (v[k] !== undefined) out[k] = sortKeysDeep(v[k]);
    return out;
  }
  return v;
}

/**
 * The revision data (upstream getPatch): a strategic merge patch that
 * replaces spec.template, i.e. `{"spec":{"template":{"$patch":"replace",…}}}`
 * with every key sorted as Go marshals a map. The template is the set's as the
 * API serves it, plus the `metadata.creationTimestamp: null` Go always emits.
 * `kubectl rollout undo` applies this object to the set as an SMP, and
 * `kubectl rollout history --revision` decodes spec.template from it.
 */
export function getPatch(set: KObject): Record<string, unknown> {
  const template = structuredClone(setView(set).template);
  const meta = rec(template.metadata);
  if (!Object.hasOwn(meta, 'creationTimestamp')) meta.creationTimestamp = null;
  template.metadata = meta;
  template.$patch = 'replace';
  return sortKeysDeep({ spec: { template } }) as Record<string, unknown>;
}

/** Go's hash/fnv New32 (FNV-1, 32 bit) over bytes, continuing from `h`. */
export function fnv32(bytes: Uint8Array, h = 0x811c9dc5): number {
  let x = h;
  for (const b of bytes) {
    x = Math.imul(x, 0x01000193) >>> 0;
    x = (x ^ b) >>> 0;
  }
  return x >>> 0;
}

const SAFE_ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** apimachinery rand.SafeEncodeString: each byte mapped into a vowel-free alphabet. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(s)) out += SAFE_ALPHANUMS[b % SAFE_ALPHANUMS.length];
  return out;
}

/**
 * history.HashControllerRevision: FNV-1 32 over the data bytes, then the
 * decimal collision count if given, printed in decimal and safe-encoded.
 */
export function hashRevisionData(data: unknown, collisionCount?: number): string {
  const enc = new TextEncoder();
  let h = fnv32(enc.encode(goJson(data)));
  if (collisionCount !== undefined) h = fnv32(enc.encode(String(collisionCount)), h);
  return safeEncodeString(String(h));
}

/** `<prefix>-<hash>`, the prefix cut to 223 characters so the name fits 253. */
export function controllerRevisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}

export function revisionNumber(rev: KObject): number {
  return int(rev.revision, 0);
}

/**
 * A new ControllerRevision for the set's current template (upstream
 * newRevision + history.NewControllerRevision): template labels plus the
 * hash label, the set's annotations, a controller ref, the data, the number.
 */
export function newRevision(set: KObject, revision: number, collisionCount: number): KObject {
  const v = setView(set);
  const data = getPatch(set);
  const hash = hashRevisionData(data, collisionCount);
  const labels = { ...(rec(rec(v.template).metadata).labels as Record<string, string> | undefined) };
  labels[CONTROLLER_REVISION_HASH_LABEL] = hash;
  const metadata: KObject['metadata'] = {
    name: controllerRevisionName(v.name, hash),
    namespace: v.namespace,
    labels,
    ownerReferences: [newControllerRef(set)],
  };
  const annotations = set.metadata.annotations;
  if (annotations && Object.keys(annotations).length > 0) metadata.annotations = { ...annotations };
  return { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata, data, revision };
}

/** The set with spec.template restored from the revision's data (upstream ApplyRevision). */
export function applyRevision(set: KObject, revision: KObject): KObject {
  const clone = structuredClone(set);
  const tpl = rec(rec(rec(revision.data).spec).template);
  const template = structuredClone(tpl);
  delete template.$patch;
  if (isObject(template.metadata) && template.metadata.creationTimestamp === null) {
    delete template.metadata.creationTimestamp;
  }
  clone.spec = { ...rec(clone.spec), template };
  return clone;
}

/** Sorts in place by revision number, then creationTimestamp, then name (history.SortControllerRevisions). */
export function sortControllerRevisions(revisions: KObject[]): KObject[] {
  return revisions.sort((a, b) => {
    const d = revisionNumber(a) - revisionNumber(b);
    if (d !== 0) return d;
    const ta = a.metadata.creationTimestamp ?? '';
    const tb = b.metadata.creationTimestamp ?? '';
    if (ta !== tb) return ta < tb ? -1 : 1;
    const na = a.metadata.name ?? '';
    const nb = b.metadata.name ?? '';
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
}

/** 1 for no revisions, otherwise one more than the last (sorted) revision's number. */
export function nextRevision(sorted: KObject[]): number {
  const last = sorted[sorted.length - 1];
  return last ? revisionNumber(last) + 1 : 1;
}

function hashLabelAsInt(rev: KObject): number | undefined {
  const s = rev.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
  if (s === undefined || !/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Math.abs(n) <= MAX_INT32 ? n : undefined;
}

/**
 * history.EqualRevision: equal data (compared as Go would serialise it); two
 * hash labels that both parse as integers must also agree.
 */
export function equalRevision(a: KObject | undefined, b: KObject | undefined): boolean {
  if (!a || !b) return a === b;
  const ha = hashLabelAsInt(a);
  const hb = hashLabelAsInt(b);
  if (ha !== undefined && hb !== undefined && ha !== hb) return false;
  return goJson(a.data) === goJson(b.data);
}

export function findEqualRevisions(revisions: KObject[], needle: KObject): KObject[] {
  const want = goJson(needle.data);
  const hn = hashLabelAsInt(needle);
  return revisions.filter((r) => {
    const hr = hashLabelAsInt(r);
    if (hr !== undefined && hn !== undefined && hr !== hn) return false;
    return goJson(r.data) === want;
  });
}

/** Revisions a set may use: matching its selector and controlled by it or by nobody. */
export function isOwnedOrOrphanRevision(rev: KObject, set: KObject): boolean {
  const ref = getControllerOf(rev);
  return !ref || ref.uid === set.metadata.uid;
}

// ---------------------------------------------------------------------------
// Status

export interface StatefulSetStatus {
  observedGeneration: number;
  replicas: number;
  readyReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  currentRevision: string;
  updateRevision: string;
  collisionCount: number;
}

/** The set's status as stored (missing fields are zero). */
export function readStatus(set: KObject): StatefulSetStatus {
  const s = rec(set.status);
  return {
    observedGeneration: int(s.observedGeneration, 0),
    replicas: int(s.replicas, 0),
    readyReplicas: int(s.readyReplicas, 0),
    currentReplicas: int(s.currentReplicas, 0),
    updatedReplicas: int(s.updatedReplicas, 0),
    availableReplicas: int(s.availableReplicas, 0),
    currentRevision: str(s.currentRevision),
    updateRevision: str(s.updateRevision),
    collisionCount: int(s.collisionCount, 0),
  };
}

/**
 * The status as the API object carries it, with Go's omitempty: replicas,
 * availableReplicas and collisionCount always, the rest only when non-zero.
 */
export function statusToObject(s: StatefulSetStatus): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.observedGeneration) out.observedGeneration = s.observedGeneration;
  out.replicas = s.replicas;
  if (s.readyReplicas) out.readyReplicas = s.readyReplicas;
  if (s.currentReplicas) out.currentReplicas = s.currentReplicas;
  if (s.updatedReplicas) out.updatedReplicas = s.updatedReplicas;
  if (s.currentRevision) out.currentRevision = s.currentRevision;
  if (s.updateRevision) out.updateRevision = s.updateRevision;
  out.collisionCount = s.collisionCount;
  out.availableReplicas = s.availableReplicas;
  return out;
}

/**
 * Recounts replicas/ready/available/current/updated over the pod lists
 * (upstream updateStatus); slots without a created pod count for nothing.
 */
export function countReplicas(
  status: StatefulSetStatus,
  minReadySeconds: number,
  nowMs: number,
  currentRevision: string,
  updateRevision: string,
  ...podLists: KObject[][]
): void {
  status.replicas = 0;
  status.readyReplicas = 0;
  status.availableReplicas = 0;
  status.currentReplicas = 0;
  status.updatedReplicas = 0;
  for (const list of podLists) {
    for (const pod of list) {
      const created = isCreated(pod);
      if (created) status.replicas++;
      if (isRunningAndReady(pod)) {
        status.readyReplicas++;
        if (isRunningAndAvailable(pod, minReadySeconds, nowMs)) status.availableReplicas++;
      }
      if (created && !isTerminating(pod)) {
        const rev = getPodRevision(pod);
        if (rev === currentRevision) status.currentReplicas++;
        if (rev === updateRevision) status.updatedReplicas++;
      }
    }
  }
}

/** The status differs from the set's in a way worth writing (upstream inconsistentStatus). */
export function inconsistentStatus(set: KObject, status: StatefulSetStatus): boolean {
  const cur = readStatus(set);
  return (
    status.observedGeneration > cur.observedGeneration ||
    status.replicas !== cur.replicas ||
    status.currentReplicas !== cur.currentReplicas ||
    status.readyReplicas !== cur.readyReplicas ||
    status.updatedReplicas !== cur.updatedReplicas ||
    status.currentRevision !== cur.currentRevision ||
    status.availableReplicas !== cur.availableReplicas ||
    status.updateRevision !== cur.updateRevision
  );
}

/**
 * Mutates `status`: a RollingUpdate whose updated, ready and existing replicas
 * all equal spec.replicas is complete, so the update revision becomes current.
 * OnDelete never advances currentRevision.
 */
export function completeRollingUpdate(set: KObject, status: StatefulSetStatus): void {
  const v = setView(set);
  if (
    v.updateType === 'RollingUpdate' &&
    status.updatedReplicas === v.replicas &&
    status.readyReplicas === v.replicas &&
    status.replicas === v.replicas
  ) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
}

/**
 * intstr.GetScaledValueFromIntOrPercent (rounding down) with the StatefulSet
 * rules: unset means 1, and anything below 1 becomes 1.
 */
export function getStatefulSetMaxUnavailable(
  maxUnavailable: number | string | undefined,
  replicas: number,
): number {
  let n: number;
  if (maxUnavailable === undefined) n = 1;
  else if (typeof maxUnavailable === 'number') n = Math.trunc(maxUnavailable);
  else {
    const m = /^(-?[0-9]+)%$/.exec(maxUnavailable);
    if (!m) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
    n = Math.floor((Number(m[1]) * replicas) / 100);
  }
  return Math.max(n, 1);
}
