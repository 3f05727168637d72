/**
 * Volume scheduling: upstream's VolumeRestrictions (ReadWriteOncePod) and
 * VolumeBinding plugins, over the informer caches.
 *
 * PreFilter sorts the pod's claims into fully bound ones, unbound
 * WaitForFirstConsumer ones (the scheduler's to place) and unbound immediate
 * ones (the PV controller's to bind: the pod waits). Filter checks, per node,
 * the node affinity of bound PVs and whether each delayed claim can be met on
 * the node, by a matching Available PV or by dynamic provisioning. The chosen
 * node's plan is then carried out (PV claimRef updates, the selected-node
 * annotation on claims to provision) and the pod is bound only once every
 * claim is fully bound.
 */
import { isObject, type KObject } from '../../api/types.js';
import { matchesLabelSelector } from '../../client/informer.js';
import type { FilterStatus } from './filters.js';
import { parseNodeSelector, termsMatch } from './filters.js';
import type { NodeInfo } from './nodeinfo.js';
import { type ClaimRef, quantityNumber } from './podinfo.js';

export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';
export const NOT_SUPPORTED_PROVISIONER = 'kubernetes.io/no-provisioner';

export const ERR_UNBOUND_IMMEDIATE = 'pod has unbound immediate PersistentVolumeClaims';
export const ERR_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
export const ERR_NODE_CONFLICT = 'node(s) had volume node affinity conflict';
export const ERR_PV_NOT_EXIST = 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)';

/** Read access to the caches the volume plugins use. */
export interface VolumeLookups {
  pvc(namespace: string, name: string): KObject | undefined;
  pv(name: string): KObject | undefined;
  /** Every PV (the caller's cache). */
  pvs(): KObject[];
  storageClass(name: string): KObject | undefined;
  /** The claim ("ns/name") an in-flight pod has assumed this PV for, if any. */
  assumedClaimOf(pvName: string): string | undefined;
}

export interface PodVolumeClaims {
  /** Claims fully bound to a PV. */
  bound: KObject[];
  /** Unbound claims of WaitForFirstConsumer classes, for the scheduler to place. */
  unboundDelay: KObject[];
  /** Claims with the ReadWriteOncePod access mode ("ns/name"). */
  readWriteOncePod: string[];
  /** Candidate PVs per storage class of the delayed claims. */
  pvsByClass: Map<string, KObject[]>;
}

/** What binding the pod's volumes on one node takes. */
export interface VolumePlan {
  /** Available PVs to pre-bind to claims (PV claimRef update). */
  staticBindings: Array<{ pvc: KObject; pv: KObject }>;
  /** Claims to provision on the node (selected-node annotation). */
  provisions: KObject[];
}

function rec(v: unknown): Record<string, unknown> {
  return isObject(v) ? v : {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function claimKey(pvc: KObject): string {
  return `${pvc.metadata.namespace ?? ''}/${pvc.metadata.name ?? ''}`;
}

/** upstream GetPersistentVolumeClaimClass: the beta annotation wins over spec.storageClassName. */
export function claimClass(pvc: KObject): string {
  const ann = pvc.metadata.annotations?.[ANN_STORAGE_CLASS];
  if (ann !== undefined) return ann;
  return str(rec(pvc.spec).storageClassName);
}

export function volumeClass(pv: KObject): string {
  const ann = pv.metadata.annotations?.[ANN_STORAGE_CLASS];
  if (ann !== undefined) return ann;
  return str(rec(pv.spec).storageClassName);
}

/**
 * spec.volumeName set and the binding completed (upstream checks the
 * bind-completed annotation; phase Bound is accepted as well).
 */
export function isClaimFullyBound(pvc: KObject): boolean {
  if (!str(rec(pvc.spec).volumeName)) return false;
  return pvc.metadata.annotations?.[ANN_BIND_COMPLETED] !== undefined || rec(pvc.status).phase === 'Bound';
}

/** upstream IsDelayBindingMode: the claim's class exists and binds WaitForFirstConsumer. */
export function isDelayBinding(pvc: KObject, lk: VolumeLookups): boolean {
  const name = claimClass(pvc);
  if (!name) return false;
  const sc = lk.storageClass(name);
  return sc?.volumeBindingMode === 'WaitForFirstConsumer';
}

function accessModes(obj: KObject): string[] {
  const m = rec(obj.spec).accessModes;
  return Array.isArray(m) ? m.map(String) : [];
}

/** upstream CheckNodeAffinity of a PV against a node (no nodeAffinity: every node). */
export function pvMatchesNode(pv: KObject, node: NodeInfo): boolean {
  const na = rec(rec(pv.spec).nodeAffinity);
  if (!isObject(na.required)) return true;
  return termsMatch(parseNodeSelector(na.required), node.labels, node.name);
}

/** upstream MatchTopologySelectorTerms for a StorageClass's allowedTopologies. */
export function allowedTopologiesMatch(sc: KObject, labels: Record<string, string>): boolean {
  const terms = Array.isArray(sc.allowedTopologies) ? sc.allowedTopologies : [];
  if (terms.length === 0) return true;
  for (const t of terms) {
    const exprs = isObject(t) && Array.isArray(t.matchLabelExpressions) ? t.matchLabelExpressions : [];
    if (exprs.length === 0) continue;
    let ok = true;
    for (const e of exprs) {
      const key = str(rec(e).key);
      const values = Array.isArray(rec(e).values) ? (rec(e).values as unknown[]).map(String) : [];
      if (!Object.hasOwn(labels, key) || !values.includes(labels[key] ?? '')) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

function reject(reason: string, plugin: string): { status: FilterStatus } {
  return { status: { code: 'UnschedulableAndUnresolvable', reasons: [reason], plugin } };
}

/**
 * VolumeRestrictions + VolumeBinding PreFilter. Returns a rejection for the
 * whole pod (missing, lost or terminating claims; unbound immediate claims) or
 * the sorted claims. `undefined` claims when the pod uses no PVCs.
 */
export function volumePreFilter(
  pod: KObject,
  claims: readonly ClaimRef[],
  lk: VolumeLookups,
): { status?: FilterStatus; claims?: PodVolumeClaims } {
  if (claims.length === 0) return {};
  const ns = pod.metadata.namespace ?? '';
  // VolumeRestrictions runs first and looks up plain claims only.
  for (const c of claims) {
    if (!c.ephemeral && !lk.pvc(ns, c.name))
      return reject(`persistentvolumeclaim "${c.name}" not found`, 'VolumeRestrictions');
  }
  const found: KObject[] = [];
  for (const c of claims) {
    const pvc = lk.pvc(ns, c.name);
    if (!pvc) {
      return reject(
        `waiting for ephemeral volume controller to create the persistentvolumeclaim "${c.name}"`,
        'VolumeBinding',
      );
    }
    const status = rec(pvc.status);
    if (status.phase === 'Lost') {
      return reject(
        `persistentvolumeclaim "${c.name}" bound to non-existent persistentvolume "${str(rec(pvc.spec).volumeName)}"`,
        'VolumeBinding',
      );
    }
    if (pvc.metadata.deletionTimestamp)
      return reject(`persistentvolumeclaim "${c.name}" is being deleted`, 'VolumeBinding');
    if (c.ephemeral) {
      const owner = pvc.metadata.ownerReferences?.find((r) => r.controller === true);
      if (!owner || owner.uid !== pod.metadata.uid) {
        return reject(
          `PVC ${ns}/${c.name} was not created for pod ${ns}/${pod.metadata.name ?? ''} (pod is not owner)`,
          'VolumeBinding',
        );
      }
    }
    found.push(pvc);
  }
  const out: PodVolumeClaims = { bound: [], unboundDelay: [], readWriteOncePod: [], pvsByClass: new Map() };
  let immediate = false;
  for (const pvc of found) {
    if (accessModes(pvc).includes('ReadWriteOncePod')) out.readWriteOncePod.push(claimKey(pvc));
    if (isClaimFullyBound(pvc)) {
      out.bound.push(pvc);
    } else if (isDelayBinding(pvc, lk) && !str(rec(pvc.spec).volumeName)) {
      out.unboundDelay.push(pvc);
    } else {
      // Immediate claims (and claims pre-bound to a volume) are the PV controller's.
      immediate = true;
    }
  }
  if (immediate) return reject(ERR_UNBOUND_IMMEDIATE, 'VolumeBinding');
  if (out.unboundDelay.length > 0) {
    const classes = new Set(out.unboundDelay.map(claimClass));
    for (const c of classes) out.pvsByClass.set(c, []);
    for (const pv of lk.pvs()) out.pvsByClass.get(volumeClass(pv))?.push(pv);
  }
  return { claims: out };
}

function storageRequest(pvc: KObject): number {
  return quantityNumber(rec(rec(rec(pvc.spec).resources).requests).storage, false);
}

function storageCapacity(pv: KObject): number {
  return quantityNumber(rec(rec(pv.spec).capacity).storage, false);
}

function volumeMode(spec: Record<string, unknown>): string {
  return str(spec.volumeMode) || 'Filesystem';
}

/** upstream IsVolumeBoundToClaim. */
function boundToClaim(pv: KObject, pvc: KObject): boolean {
  const ref = rec(rec(pv.spec).claimRef);
  if (!isObject(rec(pv.spec).claimRef)) return false;
  if (str(ref.name) !== pvc.metadata.name || str(ref.namespace) !== pvc.metadata.namespace) return false;
  return !ref.uid || ref.uid === pvc.metadata.uid;
}

/** upstream FindMatchingVolume on the scheduler path: a PV pre-bound to the claim, or the smallest Available fit. */
export function findMatchingVolume(
  pvc: KObject,
  pvs: readonly KObject[],
  node: NodeInfo,
  excluded: ReadonlySet<string>,
  lk: VolumeLookups,
): KObject | undefined {
  const want = storageRequest(pvc);
  const wantClass = claimClass(pvc);
  const spec = rec(pvc.spec);
  const selector = isObject(spec.selector) ? spec.selector : undefined;
  const key = claimKey(pvc);
  const modes = accessModes(pvc);
  let best: KObject | undefined;
  let bestQty = 0;
  for (const pv of pvs) {
    const name = pv.metadata.name ?? '';
    if (excluded.has(name)) continue;
    const assumedFor = lk.assumedClaimOf(name);
    if (assumedFor !== undefined && assumedFor !== key) continue;
    const hasRef = isObject(rec(pv.spec).claimRef);
    const mine = boundToClaim(pv, pvc) || assumedFor === key;
    if (hasRef && !mine) continue;
    const qty = storageCapacity(pv);
    if (qty < want) continue;
    if (volumeMode(rec(pv.spec)) !== volumeMode(spec)) continue;
    if (pv.metadata.deletionTimestamp) continue;
    const affinityOk = pvMatchesNode(pv, node);
    if (mine) return affinityOk ? pv : undefined;
    if (rec(pv.status).phase !== 'Available') continue;
    if (selector && !matchesLabelSelector(selector, pv.metadata.labels)) continue;
    if (volumeClass(pv) !== wantClass) continue;
    if (!affinityOk) continue;
    const pvModes = accessModes(pv);
    if (!modes.every((m) => pvModes.includes(m))) continue;
    if (!best || bestQty > qty) {
      best = pv;
      bestQty = qty;
    }
  }
  return best;
}

/**
 * upstream FindPodVolumes for unbound delayed claims on one node: claims with
 * a selected node must be on this node; the others take a matching Available
 * PV or are provisioned, which needs a provisioner and matching
 * allowedTopologies. Fills `plan`; false when the node cannot host them.
 */
function placeDelayedClaims(
  claims: PodVolumeClaims,
  node: NodeInfo,
  lk: VolumeLookups,
  plan: VolumePlan,
): boolean {
  const toMatch: KObject[] = [];
  const toProvision: KObject[] = [];
  for (const pvc of claims.unboundDelay) {
    const selected = pvc.metadata.annotations?.[ANN_SELECTED_NODE];
    if (selected === undefined) toMatch.push(pvc);
    else if (selected === node.name) toProvision.push(pvc);
    else return false;
  }
  let ok = true;
  if (toMatch.length > 0) {
    // Smallest requests first, so they get the smallest volumes.
    const sorted = [...toMatch].sort((a, b) => storageRequest(a) - storageRequest(b));
    const chosen = new Set<string>();
    for (const pvc of sorted) {
      const pv = findMatchingVolume(pvc, claims.pvsByClass.get(claimClass(pvc)) ?? [], node, chosen, lk);
      if (!pv) {
        toProvision.push(pvc);
        ok = false;
        continue;
      }
      chosen.add(pv.metadata.name ?? '');
      plan.staticBindings.push({ pvc, pv });
    }
  }
  if (toProvision.length === 0) return ok;
  for (const pvc of toProvision) {
    const sc = lk.storageClass(claimClass(pvc));
    const provisioner = sc ? str(sc.provisioner) : '';
    if (!sc || provisioner === '' || provisioner === NOT_SUPPORTED_PROVISIONER) return false;
    if (!allowedTopologiesMatch(sc, node.labels)) return false;
    plan.provisions.push(pvc);
  }
  return true;
}

/** VolumeBinding Filter for one node: rejection reasons, or the node's plan. */
export function volumeFilter(
  claims: PodVolumeClaims,
  node: NodeInfo,
  lk: VolumeLookups,
): { status?: FilterStatus; plan?: VolumePlan } {
  let boundOk = true;
  let pvsFound = true;
  const plan: VolumePlan = { staticBindings: [], provisions: [] };
  for (const pvc of claims.bound) {
    const pv = lk.pv(str(rec(pvc.spec).volumeName));
    if (!pv) {
      pvsFound = false;
      break;
    }
    if (!pvMatchesNode(pv, node)) {
      boundOk = false;
      break;
    }
  }
  const unboundOk = claims.unboundDelay.length === 0 || placeDelayedClaims(claims, node, lk, plan);
  const reasons: string[] = [];
  if (!boundOk) reasons.push(ERR_NODE_CONFLICT);
  if (!unboundOk) reasons.push(ERR_BIND_CONFLICT);
  if (!pvsFound) reasons.push(ERR_PV_NOT_EXIST);
  if (reasons.length > 0)
    return { status: { code: 'UnschedulableAndUnresolvable', reasons, plugin: 'VolumeBinding' } };
  return { plan };
}

/** The cached copy predates the one we wrote (resourceVersions compared as numbers, as upstream does). */
function olderThan(cached: KObject, written: KObject): boolean {
  const a = Number(cached.metadata.resourceVersion ?? '');
  const b = Number(written.metadata.resourceVersion ?? '');
  return Number.isFinite(a) && Number.isFinite(b) && a < b;
}

/**
 * upstream checkBindings, over the caches: 'bound' once every claim the plan
 * touched is fully bound (and its PV fits the node), 'wait' while the PV
 * controller works, or an error message when binding was undone and the pod
 * must be scheduled again.
 */
export function checkVolumeBindings(
  plan: VolumePlan,
  namespace: string,
  node: NodeInfo,
  lk: VolumeLookups,
): 'bound' | 'wait' | { error: string } {
  let done = true;
  for (const b of plan.staticBindings) {
    const pvName = b.pv.metadata.name ?? '';
    const pv = lk.pv(pvName);
    const pvc = lk.pvc(namespace, b.pvc.metadata.name ?? '');
    if (!pv) return { error: `failed to check binding: persistentvolume "${pvName}" not found` };
    if (!pvc)
      return {
        error: `failed to check binding: persistentvolumeclaim "${b.pvc.metadata.name ?? ''}" not found`,
      };
    // Our own update has not reached the cache yet.
    if (olderThan(pv, b.pv)) {
      done = false;
      continue;
    }
    if (!pvMatchesNode(pv, node))
      return { error: `pv "${pvName}" node affinity doesn't match node "${node.name}"` };
    const ref = rec(pv.spec).claimRef;
    if (!isObject(ref) || !ref.uid) return { error: `ClaimRef got reset for pv "${pvName}"` };
    if (!isClaimFullyBound(pvc)) done = false;
  }
  for (const c of plan.provisions) {
    const name = c.metadata.name ?? '';
    const pvc = lk.pvc(namespace, name);
    if (!pvc) return { error: `failed to check provisioning pvc: persistentvolumeclaim "${name}" not found` };
    if (olderThan(pvc, c)) {
      done = false;
      continue;
    }
    if (pvc.metadata.annotations?.[ANN_SELECTED_NODE] !== node.name) {
      // The provisioner removes the annotation when provisioning failed: schedule again.
      return { error: `provisioning failed for PVC "${name}"` };
    }
    const volumeName = str(rec(pvc.spec).volumeName);
    if (volumeName) {
      const pv = lk.pv(volumeName);
      if (!pv) {
        done = false;
        continue;
      }
      if (!pvMatchesNode(pv, node))
        return { error: `pv "${volumeName}" node affinity doesn't match node "${node.name}"` };
    }
    if (!isClaimFullyBound(pvc)) done = false;
  }
  return done ? 'bound' : 'wait';
}
