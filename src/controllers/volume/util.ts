/**
 * Pure helpers shared by the volume controllers: upstream's annotation and
 * finalizer names, storage-class lookups (pkg/volume/util/storagehelpers),
 * PV/PVC matching predicates (FindMatchingVolume, CheckAccessModes,
 * CheckVolumeModeMismatches, CheckNodeAffinity) and small accessors over
 * plain API objects, plus the work queue of the single-queue controllers.
 * Nothing here mutates its arguments or does I/O.
 */
import { isConflict, isNotFound } from '../../api/errors.js';
import { isObject, type KObject, type LabelSelector } from '../../api/types.js';
import {
  type Clock,
  ExponentialRateLimiter,
  type Handler,
  realClock,
  WorkQueue,
} from '../../client/workqueue.js';
import { compareQuantities, parseQuantity, type Quantity } from '../../machinery/quantity.js';
import { labelSelectorAsMatcher } from '../../machinery/selectors.js';

export type Json = Record<string, unknown>;

// ---- names -------------------------------------------------------------------------

/** On claims: the binder finished the initial setup (value does not matter). */
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
/** On PVs and claims: the binding was made by the controller (absent = pre-bound by the user). */
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
/** On PVs: the provisioner that created the volume. */
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
/** On claims: the provisioner expected to provision a volume (GA name). */
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
/** On claims: the provisioner expected to provision a volume (beta name, still written). */
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
/** On claims: the node the scheduler picked for the first consumer (WaitForFirstConsumer). */
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
/** Legacy class annotation on PVs and claims (wins over spec.storageClassName). */
export const ANN_BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';
export const ANN_DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
export const ANN_BETA_DEFAULT_CLASS = 'storageclass.beta.kubernetes.io/is-default-class';

export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION_FINALIZER = 'kubernetes.io/pv-protection';

export const LABEL_HOSTNAME = 'kubernetes.io/hostname';

// ---- accessors ---------------------------------------------------------------------

export function rec(v: unknown): Json {
  return isObject(v) ? v : {};
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function specOf(o: KObject): Json {
  return rec(o.spec);
}

export function statusOf(o: KObject): Json {
  return rec(o.status);
}

export function annotationsOf(o: KObject): Record<string, string> {
  return o.metadata.annotations ?? {};
}

export function hasAnnotation(o: KObject, key: string): boolean {
  return Object.hasOwn(annotationsOf(o), key);
}

export function hasFinalizer(o: KObject, f: string): boolean {
  return (o.metadata.finalizers ?? []).includes(f);
}

/** "namespace/name" of a namespaced object. */
export function keyOf(o: KObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}

export function phaseOf(o: KObject): string {
  return str(statusOf(o).phase);
}

export function accessModesOf(o: KObject): string[] {
  const m = specOf(o).accessModes;
  return Array.isArray(m) ? m.filter((x): x is string => typeof x === 'string') : [];
}

/** spec.volumeMode, Filesystem when unset (upstream's defaulting). */
export function volumeModeOf(o: KObject): string {
  return str(specOf(o).volumeMode) || 'Filesystem';
}

/** The class a claim asks for: the beta annotation wins, unset means "" (GetPersistentVolumeClaimClass). */
export function claimClass(pvc: KObject): string {
  const beta = annotationsOf(pvc)[ANN_BETA_STORAGE_CLASS];
  if (beta !== undefined) return beta;
  return str(specOf(pvc).storageClassName);
}

/** The claim names a class at all (nil vs "" matters for default-class assignment). */
export function claimHasClass(pvc: KObject): boolean {
  if (hasAnnotation(pvc, ANN_BETA_STORAGE_CLASS)) return true;
  const c = specOf(pvc).storageClassName;
  return c !== undefined && c !== null;
}

/** The class of a volume (GetPersistentVolumeClass). */
export function volumeClass(pv: KObject): string {
  const beta = annotationsOf(pv)[ANN_BETA_STORAGE_CLASS];
  if (beta !== undefined) return beta;
  return str(specOf(pv).storageClassName);
}

function quantity(v: unknown): Quantity | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  try {
    return parseQuantity(v);
  } catch {
    return undefined;
  }
}

/** spec.resources.requests.storage of a claim, as text ('' when missing). */
export function requestText(pvc: KObject): string {
  const v = rec(rec(specOf(pvc).resources).requests).storage;
  return typeof v === 'number' ? String(v) : str(v);
}

export function requestOf(pvc: KObject): Quantity | undefined {
  return quantity(rec(rec(specOf(pvc).resources).requests).storage);
}

export function capacityOf(pv: KObject): Quantity | undefined {
  return quantity(rec(specOf(pv).capacity).storage);
}

/** status.capacity.storage of a claim. */
export function claimCapacityOf(pvc: KObject): Quantity | undefined {
  return quantity(rec(statusOf(pvc).capacity).storage);
}

export function cmpQuantity(a: Quantity, b: Quantity): number {
  return compareQuantities(a, b);
}

// ---- claim references --------------------------------------------------------------

export interface ClaimRef {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
}

export function claimRefOf(pv: KObject): ClaimRef | undefined {
  const r = specOf(pv).claimRef;
  return isObject(r) ? (r as ClaimRef) : undefined;
}

/** "namespace/name" the PV's claimRef points to, or '' when unclaimed. */
export function claimRefKey(pv: KObject): string {
  const r = claimRefOf(pv);
  return r ? `${r.namespace ?? ''}/${r.name ?? ''}` : '';
}

/** upstream reference.GetReference for a claim. */
export function claimReference(pvc: KObject): ClaimRef {
  const ref: ClaimRef = {
    kind: 'PersistentVolumeClaim',
    namespace: pvc.metadata.namespace,
    name: pvc.metadata.name,
    uid: pvc.metadata.uid,
    apiVersion: 'v1',
  };
  if (pvc.metadata.resourceVersion) ref.resourceVersion = pvc.metadata.resourceVersion;
  return ref;
}

/** The PV's claimRef names this claim (and its uid, when the ref carries one): IsVolumeBoundToClaim. */
export function isVolumeBoundToClaim(pv: KObject, pvc: KObject): boolean {
  const r = claimRefOf(pv);
  if (!r) return false;
  if (r.name !== pvc.metadata.name || r.namespace !== pvc.metadata.namespace) return false;
  return !r.uid || r.uid === pvc.metadata.uid;
}

// ---- matching ----------------------------------------------------------------------

/** Every mode the claim asks for is offered by the volume (CheckAccessModes). */
export function checkAccessModes(pvc: KObject, pv: KObject): boolean {
  const offered = new Set(accessModesOf(pv));
  return accessModesOf(pvc).every((m) => offered.has(m));
}

export function volumeModeMismatch(pvc: KObject, pv: KObject): boolean {
  return volumeModeOf(pvc) !== volumeModeOf(pv);
}

export interface NodeSelectorRequirement {
  key?: string;
  operator?: string;
  values?: string[];
}

function requirementMatches(req: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = Array.isArray(req.values) ? req.values : [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      const have = Number.parseInt(value, 10);
      const want = Number.parseInt(values[0] ?? '', 10);
      if (Number.isNaN(have) || Number.isNaN(want)) return false;
      return req.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

/**
 * A v1.NodeSelector against a node's labels and name: terms are ORed, the
 * requirements inside a term ANDed; a term without requirements matches
 * nothing (upstream's nodeaffinity.NodeSelector).
 */
export function nodeSelectorMatches(
  selector: unknown,
  nodeName: string,
  labels: Record<string, string>,
): boolean {
  const terms = rec(selector).nodeSelectorTerms;
  if (!Array.isArray(terms)) return false;
  for (const t of terms) {
    const term = rec(t);
    const exprs = Array.isArray(term.matchExpressions) ? term.matchExpressions : [];
    const fields = Array.isArray(term.matchFields) ? term.matchFields : [];
    if (exprs.length === 0 && fields.length === 0) continue;
    let ok = true;
    for (const e of exprs) {
      const r = rec(e) as NodeSelectorRequirement;
      if (!requirementMatches(r, labels[r.key ?? ''])) {
        ok = false;
        break;
      }
    }
    if (ok) {
      for (const f of fields) {
        const r = rec(f) as NodeSelectorRequirement;
        const v = r.key === 'metadata.name' ? nodeName : undefined;
        if (!requirementMatches(r, v)) {
          ok = false;
          break;
        }
      }
    }
    if (ok) return true;
  }
  return false;
}

/** A node's labels, with kubernetes.io/hostname defaulting to its name (as the kubelet registers it). */
export function nodeLabels(nodeName: string, node: KObject | undefined): Record<string, string> {
  const labels = { ...(node?.metadata.labels ?? {}) };
  if (labels[LABEL_HOSTNAME] === undefined) labels[LABEL_HOSTNAME] = nodeName;
  return labels;
}

/** The PV may be used on the node (CheckNodeAffinity: no required affinity admits every node). */
export function volumeAdmitsNode(pv: KObject, nodeName: string, labels: Record<string, string>): boolean {
  const required = rec(specOf(pv).nodeAffinity).required;
  if (required === undefined || required === null) return true;
  return nodeSelectorMatches(required, nodeName, labels);
}

export interface MatchNode {
  name: string;
  labels: Record<string, string>;
}

/**
 * Upstream's FindMatchingVolume over `volumes` (which must include every PV
 * the claim might match): a volume pre-bound to the claim wins when it fits;
 * otherwise the smallest Available volume of the claim's class with enough
 * capacity, the same volume mode, a superset of the access modes (fewest
 * modes first, as upstream's access-mode index), a matching label selector
 * and, when `node` is given, node affinity admitting the node. With
 * `delayBinding` and no node only pre-bound volumes match (the scheduler's
 * choice comes first). `skip` excludes volumes (reserved by another claim).
 */
export function findMatchingVolume(
  pvc: KObject,
  volumes: Iterable<KObject>,
  opts: { node?: MatchNode; delayBinding?: boolean; skip?: (pv: KObject) => boolean } = {},
): KObject | undefined {
  const request = requestOf(pvc);
  if (!request) return undefined;
  const selector = specOf(pvc).selector;
  const matcher = isObject(selector) ? labelSelectorAsMatcher(selector as LabelSelector) : undefined;
  const requestedClass = claimClass(pvc);
  let best: KObject | undefined;
  let bestModes = 0;
  let bestCap: Quantity | undefined;
  for (const pv of volumes) {
    if (opts.skip?.(pv)) continue;
    if (claimRefOf(pv) && !isVolumeBoundToClaim(pv, pvc)) continue;
    if (!checkAccessModes(pvc, pv)) continue;
    const cap = capacityOf(pv);
    if (!cap || cmpQuantity(cap, request) < 0) continue;
    if (volumeModeMismatch(pvc, pv)) continue;
    if (pv.metadata.deletionTimestamp) continue;
    const nodeOk = !opts.node || volumeAdmitsNode(pv, opts.node.name, opts.node.labels);
    if (isVolumeBoundToClaim(pv, pvc)) {
      // A volume pre-bound to this claim that the node cannot use: no match at all.
      return nodeOk ? pv : undefined;
    }
    if (!opts.node && opts.delayBinding) continue;
    if (phaseOf(pv) !== 'Available') continue;
    if (matcher && !matcher.matches(pv.metadata.labels ?? {})) continue;
    if (volumeClass(pv) !== requestedClass) continue;
    if (!nodeOk) continue;
    const modes = new Set(accessModesOf(pv)).size;
    if (!best || modes < bestModes || (modes === bestModes && bestCap && cmpQuantity(cap, bestCap) < 0)) {
      best = pv;
      bestModes = modes;
      bestCap = cap;
    }
  }
  return best;
}

/**
 * Why a requested volume cannot serve the claim (checkVolumeSatisfyClaim), or
 * undefined when it can.
 */
export function checkVolumeSatisfyClaim(pv: KObject, pvc: KObject): string | undefined {
  if (pv.metadata.deletionTimestamp) return `the volume is marked for deletion "${pv.metadata.name}"`;
  const request = requestOf(pvc);
  const cap = capacityOf(pv);
  if (request && (!cap || cmpQuantity(cap, request) < 0)) return 'requested PV is too small';
  if (volumeClass(pv) !== claimClass(pvc)) return 'storageClassName does not match';
  if (volumeModeMismatch(pvc, pv)) return 'incompatible volumeMode';
  if (!checkAccessModes(pvc, pv)) return 'incompatible accessMode';
  return undefined;
}

// ---- storage classes ---------------------------------------------------------------

export function isDefaultClass(sc: KObject): boolean {
  const a = annotationsOf(sc);
  return a[ANN_DEFAULT_CLASS] === 'true' || a[ANN_BETA_DEFAULT_CLASS] === 'true';
}

/**
 * The default StorageClass (upstream's GetDefaultClass): among classes marked
 * default, the newest by creationTimestamp, then by name.
 */
export function defaultClass(classes: Iterable<KObject>): KObject | undefined {
  let best: KObject | undefined;
  for (const sc of classes) {
    if (!isDefaultClass(sc)) continue;
    if (!best) {
      best = sc;
      continue;
    }
    const a = sc.metadata.creationTimestamp ?? '';
    const b = best.metadata.creationTimestamp ?? '';
    if (a > b || (a === b && (sc.metadata.name ?? '') < (best.metadata.name ?? ''))) best = sc;
  }
  return best;
}

export function bindingMode(sc: KObject): string {
  return str(sc.volumeBindingMode) || 'Immediate';
}

export function classParameters(sc: KObject): Record<string, string> {
  const p = rec(sc.parameters);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(p)) if (typeof v === 'string') out[k] = v;
  return out;
}

// ---- pods --------------------------------------------------------------------------

/** Names of the claims a pod's volumes use (persistentVolumeClaim, and generic ephemeral volumes). */
export function podClaimNames(pod: KObject): string[] {
  const vols = specOf(pod).volumes;
  if (!Array.isArray(vols)) return [];
  const out: string[] = [];
  for (const v of vols) {
    const vol = rec(v);
    const pvc = rec(vol.persistentVolumeClaim);
    if (typeof pvc.claimName === 'string' && pvc.claimName) out.push(pvc.claimName);
    else if (isObject(vol.ephemeral) && typeof vol.name === 'string') {
      out.push(`${pod.metadata.name ?? ''}-${vol.name}`);
    }
  }
  return out;
}

/** Phase Succeeded or Failed: the pod's containers will not run again. */
export function isPodTerminated(pod: KObject): boolean {
  const p = phaseOf(pod);
  return p === 'Succeeded' || p === 'Failed';
}

// ---- resource versions -------------------------------------------------------------

/** Numeric comparison of resourceVersions (they are decimal store revisions); NaN-safe. */
export function newerThan(a: KObject, b: KObject): boolean {
  const ra = a.metadata.resourceVersion;
  const rb = b.metadata.resourceVersion;
  if (!ra || !rb) return false;
  if (!/^\d+$/.test(ra) || !/^\d+$/.test(rb)) return false;
  return BigInt(ra) > BigInt(rb);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---- work queues -------------------------------------------------------------------

/**
 * The work queue of the expand and protection controllers: `concurrency`
 * workers (default 4), per-key backoff from 10 ms to 5 min, and errors other
 * than conflicts and not-found logged as "<logPrefix>: syncing <key>: <message>".
 */
export function volumeWorkQueue(
  name: string,
  logPrefix: string,
  handler: Handler,
  opts: { concurrency?: number; clock?: Clock },
): WorkQueue {
  return new WorkQueue(handler, {
    name,
    concurrency: opts.concurrency ?? 4,
    clock: opts.clock ?? realClock,
    rateLimiter: new ExponentialRateLimiter(10, 300_000),
    onError: (key, err) => {
      if (!isConflict(err) && !isNotFound(err))
        console.error(`${logPrefix}: syncing ${key}: ${errorMessage(err)}`);
    },
  });
}

// ---- event times -------------------------------------------------------------------

let lastEventMs = 0;

/**
 * A `now` for the event recorders of the volume controllers that never
 * returns the same millisecond twice: recorders name events
 * `<object>.<unix nanos from a millisecond clock>`, so two recorders (the PV
 * controller and a provisioner) reporting on one claim within a millisecond
 * would otherwise pick the same name and one event would be lost.
 */
export function uniqueEventTime(clock: { now(): number }): () => Date {
  return () => {
    const t = Math.max(clock.now(), lastEventMs + 1);
    lastEventMs = t;
    return new Date(t);
  };
}
