/**
 * The EndpointSlice controller (upstream pkg/controller/endpointslice and
 * k8s.io/endpointslice's Reconciler): for every Service with a selector,
 * discovery.k8s.io/v1 EndpointSlices (`generateName: <svc>-`, owned by the
 * Service, labelled `kubernetes.io/service-name` and
 * `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`)
 * holding one endpoint per selected pod with an IP of the slice's address
 * type: addresses, conditions {ready, serving, terminating}, hostname (pods
 * whose subdomain is the Service), nodeName, zone (from the node's
 * topology.kubernetes.io/zone label) and a Pod targetRef.
 *
 * Slices are grouped by resolved port set, hold at most 100 endpoints and are
 * reconciled minimally, as upstream: endpoints are updated in place, removed
 * from the slice that holds them, and new ones fill slices being updated
 * anyway before an unchanged slice or a new slice is used; a create paired
 * with a delete becomes an update. A Service without endpoints keeps one
 * empty placeholder slice. Terminating pods stay (ready=false,
 * terminating=true) unless publishNotReadyAddresses, which makes every
 * endpoint ready.
 *
 * A tracker of the generations this controller wrote detects a lagging
 * informer cache (the sync waits instead of creating duplicates) and tells
 * our own slice events from other writers' (which trigger a resync).
 *
 * Not implemented: topology-aware hints from the `service.kubernetes.io/
 * topology-mode` annotation and EndpointSlice mirroring of selector-less
 * Endpoints. trafficDistribution PreferClose zone hints are implemented.
 */

import { isConflict, isNotFound } from '../api/errors.js';
import { isObject, type KObject, type OwnerReference } from '../api/types.js';
import { type Informer, type InformerFactory, splitKey } from '../client/informer.js';
import type { Client } from '../client/interface.js';
import { type Clock, ExponentialRateLimiter, realClock, WorkQueue } from '../client/workqueue.js';
import {
  aggregateMessage,
  errMessage,
  findPort,
  isIPv6,
  isNamespaceTerminating,
  isServiceIPSet,
  LABEL_HEADLESS,
  podIPs,
  podTargetRef,
  ServicePodIndex,
  servicePorts,
  serviceSpec,
  servicesForPod,
  setTriggerTime,
  shouldPodBeInEndpoints,
  shouldSetHostname,
  TriggerTimeTracker,
  wantsEndpoints,
  watchServicesAndPods,
} from './endpoint-util.js';
import type { EndpointReference } from './endpoints.js';
import { createRecorder, type EventRecorder } from './events.js';
import { isPodReady, podSpec } from './util/pods.js';
import { ENDPOINTSLICES, NODES, PODS, SERVICES } from './util/resources.js';
import { SyncPacer } from './util/sync-pacer.js';

/** discovery.LabelServiceName. */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** discovery.LabelManagedBy. */
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
/** This controller's managed-by value. */
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
/** v1.LabelTopologyZone. */
export const LABEL_ZONE = 'topology.kubernetes.io/zone';
/** --max-endpoints-per-slice default. */
export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;
/** endpointSliceChangeMinSyncDelay. */
export const SLICE_CHANGE_MIN_SYNC_DELAY_MS = 1000;

export type AddressType = 'IPv4' | 'IPv6';

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface SliceEndpoint {
  addresses: string[];
  conditions: EndpointConditions;
  hostname?: string;
  targetRef?: EndpointReference;
  nodeName?: string;
  zone?: string;
  hints?: { forZones?: Array<{ name: string }>; forNodes?: Array<{ name: string }> };
}

export interface SlicePort {
  name?: string;
  protocol?: string;
  port?: number;
  appProtocol?: string;
}

// ---------------------------------------------------------------------------
// pure computation

function endpointsOf(slice: KObject): SliceEndpoint[] {
  return Array.isArray(slice.endpoints)
    ? (slice.endpoints.filter(isObject) as unknown as SliceEndpoint[])
    : [];
}

function portsOf(slice: KObject): SlicePort[] {
  return Array.isArray(slice.ports) ? (slice.ports.filter(isObject) as unknown as SlicePort[]) : [];
}

/** getAddressTypesForService: from spec.ipFamilies, else the ClusterIP's family, else both (headless). */
export function addressTypesForService(svc: KObject): Set<AddressType> {
  const spec = serviceSpec(svc);
  const out = new Set<AddressType>();
  for (const f of Array.isArray(spec.ipFamilies) ? spec.ipFamilies : []) {
    if (f === 'IPv4') out.add('IPv4');
    if (f === 'IPv6') out.add('IPv6');
  }
  if (out.size > 0) return out;
  if (isServiceIPSet(svc)) {
    out.add(isIPv6(String(spec.clusterIP)) ? 'IPv6' : 'IPv4');
    return out;
  }
  out.add('IPv4');
  out.add('IPv6');
  return out;
}

/** getEndpointPorts: the Service ports this pod resolves (none for a headless Service without ports). */
export function endpointPorts(svc: KObject, pod: KObject): SlicePort[] {
  const out: SlicePort[] = [];
  for (const sp of servicePorts(svc)) {
    const num = findPort(pod, sp);
    if (num === undefined) continue;
    const p: SlicePort = { name: sp.name ?? '', protocol: sp.protocol, port: num };
    if (sp.appProtocol !== undefined) p.appProtocol = sp.appProtocol;
    out.push(p);
  }
  return out;
}

function portSortKey(p: SlicePort): string {
  return `${p.name ?? ''}\u0000${p.protocol ?? ''}\u0000${p.port ?? ''}\u0000${p.appProtocol ?? ''}`;
}

/** Ports in a canonical order (upstream sorts them by hash). */
export function sortPorts(ports: readonly SlicePort[]): SlicePort[] {
  return [...ports].sort((a, b) => {
    const ka = portSortKey(a);
    const kb = portSortKey(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** NewPortMapKey: identifies a set of endpoint ports regardless of order. */
export function portMapKey(ports: readonly SlicePort[]): string {
  return sortPorts(ports).map(portSortKey).join('\u0001');
}

/** podToEndpoint for one address type. */
export function podToEndpoint(
  pod: KObject,
  node: KObject | undefined,
  svc: KObject,
  addressType: AddressType,
): SliceEndpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata.deletionTimestamp;
  const ready = serviceSpec(svc).publishNotReadyAddresses === true || (serving && !terminating);
  const addresses = podIPs(pod).filter((ip) => isIPv6(ip) === (addressType === 'IPv6'));
  const ep: SliceEndpoint = { addresses, conditions: { ready, serving, terminating } };
  if (shouldSetHostname(pod, svc)) ep.hostname = String(podSpec(pod).hostname);
  ep.targetRef = podTargetRef(pod);
  const nodeName = podSpec(pod).nodeName;
  if (typeof nodeName === 'string' && nodeName !== '') ep.nodeName = nodeName;
  const zone = node?.metadata.labels?.[LABEL_ZONE];
  if (zone) ep.zone = zone;
  return ep;
}

/** hashEndpoint: identity of an endpoint (addresses, hostname, targetRef namespace/name). */
export function endpointKey(ep: SliceEndpoint): string {
  const addrs = [...(ep.addresses ?? [])].sort().join(',');
  return `${addrs}\u0000${ep.hostname ?? ''}\u0000${ep.targetRef?.namespace ?? ''}\u0000${ep.targetRef?.name ?? ''}`;
}

/** EndpointsEqualBeyondHash: nodeName, zone, conditions and targetRef (ignoring resourceVersion). */
export function endpointsEqualBeyondKey(a: SliceEndpoint, b: SliceEndpoint): boolean {
  if (a.nodeName !== b.nodeName || a.zone !== b.zone) return false;
  const ca = a.conditions ?? {};
  const cb = b.conditions ?? {};
  if (ca.ready !== cb.ready || ca.serving !== cb.serving || ca.terminating !== cb.terminating) return false;
  const ra = a.targetRef;
  const rb = b.targetRef;
  if (!ra || !rb) return ra === rb;
  return (
    ra.kind === rb.kind &&
    ra.namespace === rb.namespace &&
    ra.name === rb.name &&
    ra.uid === rb.uid &&
    (ra as { apiVersion?: string }).apiVersion === (rb as { apiVersion?: string }).apiVersion
  );
}

function isReservedLabel(k: string): boolean {
  return k === LABEL_SERVICE_NAME || k === LABEL_MANAGED_BY || k === LABEL_HEADLESS;
}

/**
 * setEndpointSliceLabels: the Service's labels (minus the reserved ones),
 * the headless label for headless Services, service-name and managed-by.
 * `changed` tells whether the slice's non-reserved labels differ from the
 * Service's.
 */
export function sliceLabels(
  slice: KObject | undefined,
  svc: KObject,
  controllerName = CONTROLLER_NAME,
): { labels: Record<string, string>; changed: boolean } {
  const mine: Record<string, string> = {};
  for (const [k, v] of Object.entries(slice?.metadata.labels ?? {})) if (!isReservedLabel(k)) mine[k] = v;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {})) if (!isReservedLabel(k)) labels[k] = v;
  const keys = Object.keys(labels);
  const changed = keys.length !== Object.keys(mine).length || keys.some((k) => mine[k] !== labels[k]);
  if (!isServiceIPSet(svc)) labels[LABEL_HEADLESS] = '';
  labels[LABEL_SERVICE_NAME] = svc.metadata.name ?? '';
  labels[LABEL_MANAGED_BY] = controllerName;
  return { labels, changed };
}

export function serviceOwnerRef(svc: KObject): OwnerReference {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    name: svc.metadata.name ?? '',
    uid: svc.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** ownedBy: an ownerReference to this Service (v1 Service with its uid). */
export function ownedBy(slice: KObject, svc: KObject): boolean {
  return (slice.metadata.ownerReferences ?? []).some(
    (o) => o.uid === svc.metadata.uid && o.kind === 'Service' && o.apiVersion === 'v1',
  );
}

/** getEndpointSlicePrefix: "<svc>-" (the bare name if that would be too long). */
export function slicePrefix(serviceName: string): string {
  const p = `${serviceName}-`;
  return p.length <= 253 - 5 ? p : serviceName;
}

/** newEndpointSlice: an unnamed slice (generateName) for these ports and address type. */
export function newEndpointSlice(
  svc: KObject,
  ports: readonly SlicePort[],
  addressType: AddressType,
  controllerName = CONTROLLER_NAME,
): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: slicePrefix(svc.metadata.name ?? ''),
      namespace: svc.metadata.namespace,
      labels: sliceLabels(undefined, svc, controllerName).labels,
      ownerReferences: [serviceOwnerRef(svc)],
    },
    addressType,
    endpoints: [],
    ports: structuredClone([...ports]),
  };
}

/** placeholderSliceCompare: namespace, labels, owner references, address type, no endpoints, no ports. */
function isSamePlaceholder(existing: KObject, placeholder: KObject): boolean {
  if (existing.metadata.namespace !== placeholder.metadata.namespace) return false;
  const la = existing.metadata.labels ?? {};
  const lb = placeholder.metadata.labels ?? {};
  if (Object.keys(la).length !== Object.keys(lb).length) return false;
  for (const [k, v] of Object.entries(lb)) if (la[k] !== v) return false;
  const oa = existing.metadata.ownerReferences ?? [];
  const ob = placeholder.metadata.ownerReferences ?? [];
  if (oa.length !== ob.length) return false;
  for (let i = 0; i < oa.length; i++) {
    const a = oa[i]!;
    const b = ob[i]!;
    if (
      a.apiVersion !== b.apiVersion ||
      a.kind !== b.kind ||
      a.name !== b.name ||
      a.uid !== b.uid ||
      !!a.controller !== !!b.controller ||
      !!a.blockOwnerDeletion !== !!b.blockOwnerDeletion
    )
      return false;
  }
  return (
    existing.addressType === placeholder.addressType &&
    endpointsOf(existing).length === 0 &&
    portsOf(existing).length === 0
  );
}

export interface SlicePlan {
  toCreate: KObject[];
  toUpdate: KObject[];
  toDelete: KObject[];
  /** Upstream's per-pod errors (pods skipped because their node is unknown). */
  errors: string[];
  /** Nodes that pods refer to but the cache does not have. */
  missingNodes: Set<string>;
}

export interface PlanOptions {
  getNode(name: string): KObject | undefined;
  maxEndpointsPerSlice?: number;
  controllerName?: string;
  /** Value for the last-change-trigger-time annotation on written slices (undefined removes it). */
  triggerMs?: number;
}

/**
 * Reconciler.Reconcile as a plan: which slices to create, update and delete
 * so `existing` (this Service's managed slices, none being deleted) match
 * `pods`. Inputs are not mutated; slices to update are copies.
 */
export function planEndpointSlices(
  svc: KObject,
  pods: readonly KObject[],
  existing: readonly KObject[],
  opts: PlanOptions,
): SlicePlan {
  const plan: SlicePlan = { toCreate: [], toUpdate: [], toDelete: [], errors: [], missingNodes: new Set() };
  const types = addressTypesForService(svc);
  const byType = new Map<string, KObject[]>();
  const unsupported: KObject[] = [];
  for (const s of existing) {
    const t = String(s.addressType ?? '');
    if (!types.has(t as AddressType)) {
      unsupported.push(s);
      continue;
    }
    const list = byType.get(t) ?? [];
    list.push(s);
    byType.set(t, list);
  }
  for (const t of types) {
    const part = planByAddressType(svc, pods, byType.get(t) ?? [], t, opts);
    for (const s of part.toCreate) plan.toCreate.push(s);
    for (const s of part.toUpdate) plan.toUpdate.push(s);
    for (const s of part.toDelete) plan.toDelete.push(s);
    for (const e of part.errors) plan.errors.push(e);
    for (const n of part.missingNodes) plan.missingNodes.add(n);
  }
  for (const s of unsupported) plan.toDelete.push(s);
  for (const s of plan.toCreate) applyTriggerTime(s, opts.triggerMs);
  for (const s of plan.toUpdate) applyTriggerTime(s, opts.triggerMs);
  return plan;
}

function applyTriggerTime(slice: KObject, triggerMs: number | undefined): void {
  const annotations = { ...(slice.metadata.annotations ?? {}) };
  setTriggerTime(annotations, triggerMs);
  if (Object.keys(annotations).length > 0) slice.metadata.annotations = annotations;
  else delete slice.metadata.annotations;
}

function planByAddressType(
  svc: KObject,
  pods: readonly KObject[],
  existing: readonly KObject[],
  addressType: AddressType,
  opts: PlanOptions,
): SlicePlan {
  const controllerName = opts.controllerName ?? CONTROLLER_NAME;
  const maxPerSlice = opts.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;
  const errors: string[] = [];
  const missingNodes = new Set<string>();
  let toCreate: KObject[] = [];
  let toUpdate: KObject[] = [];
  let toDelete: KObject[] = [];

  const existingByPorts = new Map<string, KObject[]>();
  for (const s of existing) {
    if (ownedBy(s, svc)) {
      const k = portMapKey(portsOf(s));
      const list = existingByPorts.get(k) ?? [];
      list.push(s);
      existingByPorts.set(k, list);
    } else {
      toDelete.push(s);
    }
  }

  const desiredPorts = new Map<string, SlicePort[]>();
  const desired = new Map<string, Map<string, SliceEndpoint>>();
  const publishNotReady = serviceSpec(svc).publishNotReadyAddresses === true;
  const ns = svc.metadata.namespace ?? '';
  const svcName = svc.metadata.name ?? '';
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ports = sortPorts(endpointPorts(svc, pod));
    const k = portMapKey(ports);
    let set = desired.get(k);
    if (!set) {
      set = new Map();
      desired.set(k, set);
      desiredPorts.set(k, ports);
    }
    const nodeName = typeof podSpec(pod).nodeName === 'string' ? String(podSpec(pod).nodeName) : '';
    const node = nodeName ? opts.getNode(nodeName) : undefined;
    if (!node && !publishNotReady) {
      errors.push(
        `skipping Pod ${pod.metadata.name ?? ''} for Service ${ns}/${svcName}: Node ${nodeName} Not Found`,
      );
      missingNodes.add(nodeName);
      continue;
    }
    const ep = podToEndpoint(pod, node, svc, addressType);
    if (ep.addresses.length > 0) set.set(endpointKey(ep), ep);
  }

  for (const [k, set] of desired) {
    const r = planByPortMapping(svc, existingByPorts.get(k) ?? [], set, desiredPorts.get(k)!, addressType, {
      maxPerSlice,
      controllerName,
    });
    for (const s of r.toCreate) toCreate.push(s);
    for (const s of r.toUpdate) toUpdate.push(s);
    for (const s of r.toDelete) toDelete.push(s);
  }
  for (const [k, slices] of existingByPorts) {
    if (!desired.has(k)) for (const s of slices) toDelete.push(s);
  }

  // A Service with no endpoints keeps one empty placeholder slice.
  if (existing.length === toDelete.length && toCreate.length === 0) {
    const placeholder = newEndpointSlice(svc, [], addressType, controllerName);
    if (toDelete.length === 1 && isSamePlaceholder(toDelete[0]!, placeholder)) toDelete = [];
    else toCreate.push(placeholder);
  }

  // trafficDistribution hints (PreferClose → same-zone hints; otherwise none).
  const changedNames = new Set<string>();
  for (const s of toUpdate) changedNames.add(s.metadata.name ?? '');
  for (const s of toDelete) changedNames.add(s.metadata.name ?? '');
  const unchanged = existing.filter((s) => !changedNames.has(s.metadata.name ?? ''));
  ({ toCreate, toUpdate } = reconcileHints(svc, toCreate, toUpdate, unchanged));

  // finalize: turn creates paired with deletes into updates of the deleted slices.
  for (let i = 0; i < toDelete.length && toCreate.length > 0; ) {
    const del = toDelete[i]!;
    const create = toCreate[toCreate.length - 1]!;
    if (del.addressType === create.addressType && ownedBy(del, svc)) {
      toCreate.pop();
      const next = structuredClone(del);
      next.metadata.labels = create.metadata.labels;
      next.metadata.ownerReferences = create.metadata.ownerReferences;
      next.metadata.annotations = create.metadata.annotations;
      if (!next.metadata.annotations) delete next.metadata.annotations;
      next.endpoints = create.endpoints;
      next.ports = create.ports;
      toUpdate.push(next);
      toDelete.splice(i, 1);
    } else {
      i++;
    }
  }
  return { toCreate, toUpdate, toDelete, errors, missingNodes };
}

function planByPortMapping(
  svc: KObject,
  existing: readonly KObject[],
  desiredSet: Map<string, SliceEndpoint>,
  ports: SlicePort[],
  addressType: AddressType,
  opts: { maxPerSlice: number; controllerName: string },
): { toCreate: KObject[]; toUpdate: KObject[]; toDelete: KObject[] } {
  const desired = new Map(desiredSet);
  const byName = new Map<string, KObject>();
  const unchanged = new Set<string>();
  const update = new Set<string>();
  const del = new Set<string>();

  // 1. Drop endpoints no longer desired, refresh changed ones.
  for (const s of existing) {
    const name = s.metadata.name ?? '';
    byName.set(name, s);
    const current = endpointsOf(s);
    const kept: SliceEndpoint[] = [];
    let endpointUpdated = false;
    for (const ep of current) {
      const k = endpointKey(ep);
      const want = desired.get(k);
      if (!want) continue;
      kept.push(want);
      if (!endpointsEqualBeyondKey(want, ep)) endpointUpdated = true;
      desired.delete(k);
    }
    const { labels, changed } = sliceLabels(s, svc, opts.controllerName);
    if (endpointUpdated || kept.length !== current.length) {
      if (kept.length === 0) {
        del.add(name);
      } else {
        const copy = structuredClone(s);
        copy.endpoints = structuredClone(kept);
        copy.metadata.labels = labels;
        byName.set(name, copy);
        update.add(name);
      }
    } else if (changed) {
      const copy = structuredClone(s);
      copy.metadata.labels = labels;
      byName.set(name, copy);
      update.add(name);
    } else {
      unchanged.add(name);
    }
  }

  const popInto = (slice: KObject): void => {
    const eps = endpointsOf(slice);
    for (const [k, ep] of desired) {
      if (eps.length >= opts.maxPerSlice) break;
      eps.push(structuredClone(ep));
      desired.delete(k);
    }
    slice.endpoints = eps;
  };

  // 2. Fill the slices being updated anyway, fullest first.
  if (desired.size > 0 && update.size > 0) {
    const slices = [...update].map((n) => byName.get(n)!);
    slices.sort((a, b) => endpointsOf(b).length - endpointsOf(a).length);
    for (const s of slices) {
      if (desired.size === 0) break;
      popInto(s);
    }
  }

  // 3. Put what is left in the unchanged slice that ends up closest to full, or in new slices.
  const toCreate: KObject[] = [];
  while (desired.size > 0) {
    let fill: KObject | undefined;
    if (desired.size < opts.maxPerSlice && unchanged.size > 0) {
      let closest = opts.maxPerSlice;
      for (const n of unchanged) {
        const s = byName.get(n)!;
        const diff = opts.maxPerSlice - (desired.size + endpointsOf(s).length);
        if (diff >= 0 && diff < closest) {
          closest = diff;
          fill = s;
          if (diff === 0) break;
        }
      }
    }
    if (!fill) {
      fill = newEndpointSlice(svc, ports, addressType, opts.controllerName);
    } else {
      fill = structuredClone(fill);
      byName.set(fill.metadata.name ?? '', fill);
    }
    popInto(fill);
    if (fill.metadata.name) {
      update.add(fill.metadata.name);
      unchanged.delete(fill.metadata.name);
    } else {
      toCreate.push(fill);
    }
  }
  return {
    toCreate,
    toUpdate: [...update].map((n) => byName.get(n)!),
    toDelete: [...del].map((n) => byName.get(n)!),
  };
}

function endpointReady(ep: SliceEndpoint): boolean {
  return ep.conditions?.ready === true;
}

/**
 * trafficdist.ReconcileHints: with `trafficDistribution: PreferClose`, every
 * ready endpoint with a zone gets a same-zone hint; otherwise hints are
 * removed. Unchanged slices whose hints are wrong join the updates.
 */
export function reconcileHints(
  svc: KObject,
  toCreate: KObject[],
  toUpdate: KObject[],
  unchanged: readonly KObject[],
): { toCreate: KObject[]; toUpdate: KObject[] } {
  const preferClose = serviceSpec(svc).trafficDistribution === 'PreferClose';
  const needsUpdate = (s: KObject): boolean => {
    for (const ep of endpointsOf(s)) {
      if (!preferClose) {
        if (ep.hints !== undefined && ep.hints !== null) return true;
        continue;
      }
      if (!endpointReady(ep)) continue;
      const zones = ep.hints?.forZones ?? [];
      if (ep.zone !== undefined) {
        if (zones.length !== 1 || zones[0]?.name !== ep.zone) return true;
      } else if (zones.length > 0) {
        return true;
      }
      if ((ep.hints?.forNodes ?? []).length > 0) return true;
    }
    return false;
  };
  const update = (s: KObject): void => {
    const eps = endpointsOf(s);
    for (const ep of eps) {
      if (!preferClose) {
        delete ep.hints;
        continue;
      }
      if (!endpointReady(ep)) continue;
      if (ep.zone !== undefined) ep.hints = { forZones: [{ name: ep.zone }] };
      else delete ep.hints;
    }
    s.endpoints = eps;
  };
  const updates = [...toUpdate];
  for (const s of unchanged) if (needsUpdate(s)) updates.push(structuredClone(s));
  for (const s of toCreate) update(s);
  for (const s of updates) update(s);
  return { toCreate, toUpdate: updates };
}

// ---------------------------------------------------------------------------
// generation tracking (upstream EndpointSliceTracker)

const DELETION_EXPECTED = -1;

function sliceServiceKey(slice: KObject): string | undefined {
  const svc = slice.metadata.labels?.[LABEL_SERVICE_NAME];
  if (!svc) return undefined;
  return `${slice.metadata.namespace ?? ''}/${svc}`;
}

/** Remembers the generation of every slice this controller wrote, per Service. */
export class EndpointSliceTracker {
  private readonly byService = new Map<string, Map<string, number>>();

  private gens(slice: KObject): Map<string, number> | undefined {
    const key = sliceServiceKey(slice);
    return key === undefined ? undefined : this.byService.get(key);
  }

  has(slice: KObject): boolean {
    return this.gens(slice)?.has(slice.metadata.uid ?? '') ?? false;
  }

  /** True unless this is a version we wrote (or older). */
  shouldSync(slice: KObject): boolean {
    const g = this.gens(slice)?.get(slice.metadata.uid ?? '');
    return g === undefined || (slice.metadata.generation ?? 0) > g;
  }

  /** True when the cache misses a slice we wrote, has an older generation, or still has one we deleted. */
  staleSlices(serviceKey: string, slices: readonly KObject[]): boolean {
    const gens = this.byService.get(serviceKey);
    if (!gens) return false;
    const provided = new Set<string>();
    for (const s of slices) {
      const uid = s.metadata.uid ?? '';
      provided.add(uid);
      const g = gens.get(uid);
      if (g !== undefined && (g === DELETION_EXPECTED || g > (s.metadata.generation ?? 0))) return true;
    }
    for (const [uid, g] of gens) if (g !== DELETION_EXPECTED && !provided.has(uid)) return true;
    return false;
  }

  /** Remembers a slice we wrote, at its generation. */
  update(slice: KObject): void {
    this.record(slice, slice.metadata.generation ?? 0);
  }

  /** Remembers a slice we deleted. */
  expectDeletion(slice: KObject): void {
    this.record(slice, DELETION_EXPECTED);
  }

  private record(slice: KObject, generation: number): void {
    const key = sliceServiceKey(slice);
    if (key === undefined) return;
    let gens = this.byService.get(key);
    if (!gens) {
      gens = new Map();
      this.byService.set(key, gens);
    }
    gens.set(slice.metadata.uid ?? '', generation);
  }

  /** Forgets a deleted slice; true when we expected the deletion. */
  handleDeletion(slice: KObject): boolean {
    const key = sliceServiceKey(slice);
    const gens = key === undefined ? undefined : this.byService.get(key);
    const uid = slice.metadata.uid ?? '';
    const g = gens?.get(uid);
    if (gens && g !== undefined) {
      gens.delete(uid);
      if (gens.size === 0) this.byService.delete(key!);
    }
    return g === DELETION_EXPECTED;
  }

  deleteService(serviceKey: string): void {
    this.byService.delete(serviceKey);
  }
}

// ---------------------------------------------------------------------------
// controller

export interface EndpointSliceControllerOptions {
  clock?: Clock;
  /** Services synced in parallel (default 5, as --concurrent-service-endpoint-syncs). */
  concurrency?: number;
  /** Endpoints per slice (--max-endpoints-per-slice, default 100). */
  maxEndpointsPerSlice?: number;
  /** Delay before a pod change is handled (--endpointslice-updates-batch-period; default 0). */
  batchPeriodMs?: number;
  /** Event recorder (default: one for component "endpoint-slice-controller"). */
  recorder?: EventRecorder;
}

/** The informer cache does not show slices this controller already wrote or deleted. */
export class StaleInformerCacheError extends Error {
  constructor(message = 'EndpointSlice informer cache is out of date') {
    super(message);
    this.name = 'StaleInformerCacheError';
  }
}

/** How long the cache may look stale before the tracker's memory of a Service is dropped. */
const MAX_STALE_MS = 30_000;

export class EndpointSliceController {
  readonly queue: WorkQueue;
  readonly tracker = new EndpointSliceTracker();
  private readonly clock: Clock;
  private readonly batchPeriodMs: number;
  private readonly maxPerSlice: number;
  private readonly recorder: EventRecorder;
  private membership: ServicePodIndex | undefined;
  private readonly triggerTimes = new TriggerTimeTracker();
  private readonly pacer: SyncPacer;
  private readonly staleBackoff = new ExponentialRateLimiter(10, 1000);
  private readonly staleSince = new Map<string, number>();
  /** Node name → Services that skipped a pod because the node was unknown. */
  private readonly waitingForNode = new Map<string, Set<string>>();
  private readonly unsubscribes: Array<() => void> = [];
  private services: Informer | undefined;
  private pods: Informer | undefined;
  private nodes: Informer | undefined;
  private slices: Informer | undefined;
  private synced: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    private readonly informers: InformerFactory,
    opts: EndpointSliceControllerOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.batchPeriodMs = opts.batchPeriodMs ?? 0;
    this.maxPerSlice = opts.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;
    this.recorder =
      opts.recorder ?? createRecorder(client, 'endpoint-slice-controller', { onError: () => undefined });
    this.pacer = new SyncPacer(this.clock);
    this.queue = new WorkQueue(
      async (key) => {
        await this.synced;
        return this.pacer.run(key, this.services, () => this.sync(key));
      },
      {
        name: 'endpoint_slice',
        concurrency: opts.concurrency ?? 5,
        clock: this.clock,
        // Upstream's service queue backs off from 1 s up to 1000 s.
        rateLimiter: new ExponentialRateLimiter(1000, 1_000_000),
        onError: (key, err) => {
          const cause = err instanceof SliceWriteError ? err.cause : err;
          if (!isConflict(cause) && !isNotFound(cause) && !(err instanceof NodeNotFoundError))
            console.error(`endpointslice controller: syncing ${JSON.stringify(key)}:`, errMessage(err));
        },
      },
    );
  }

  /** Registers informer handlers; the caller starts the informer factory. */
  start(): void {
    const services = this.informers.forResource(SERVICES);
    const pods = this.informers.forResource(PODS);
    const nodes = this.informers.forResource(NODES);
    const slices = this.informers.forResource(ENDPOINTSLICES);
    this.services = services;
    this.pods = pods;
    const membership = new ServicePodIndex(pods);
    this.membership = membership;
    this.nodes = nodes;
    this.slices = slices;
    this.unsubscribes.push(
      ...watchServicesAndPods(services, pods, membership, this.queue, this.pacer, this.batchPeriodMs),
      nodes.addEventHandler({
        onAdd: (node) => this.onNodeAdd(node),
        onUpdate: (oldNode, node) => {
          if (oldNode.metadata.labels?.[LABEL_ZONE] !== node.metadata.labels?.[LABEL_ZONE])
            this.onZoneChange(node);
        },
      }),
      slices.addEventHandler({
        onAdd: (s) => {
          this.cacheCaughtUp(s);
          if (this.managed(s) && this.tracker.shouldSync(s)) this.queueForSlice(s);
        },
        onUpdate: (old, s) => {
          this.cacheCaughtUp(s);
          if (old.metadata.labels?.[LABEL_SERVICE_NAME] !== s.metadata.labels?.[LABEL_SERVICE_NAME]) {
            this.queueForSlice(s);
            this.queueForSlice(old);
            return;
          }
          if (this.managed(old) !== this.managed(s) || (this.managed(s) && this.tracker.shouldSync(s)))
            this.queueForSlice(s);
        },
        onDelete: (s) => {
          this.cacheCaughtUp(s);
          // A managed slice deleted by someone else is recreated (upstream only does so for tracked slices).
          if (this.managed(s) && !this.tracker.handleDeletion(s)) this.queueForSlice(s);
        },
      }),
    );
    this.synced = Promise.all([
      services.waitForSync(),
      pods.waitForSync(),
      nodes.waitForSync(),
      slices.waitForSync(),
    ]).then(() => undefined);
    this.synced.catch(() => undefined);
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribes.splice(0)) u();
    await this.queue.shutdown();
  }

  private managed(slice: KObject): boolean {
    return slice.metadata.labels?.[LABEL_MANAGED_BY] === CONTROLLER_NAME;
  }

  /** The cached slices of Service `ns/name` that this controller manages and that are not being deleted. */
  private liveManagedSlices(ns: string, name: string): KObject[] {
    return this.slices!.list(
      ns,
      (s) =>
        s.metadata.labels?.[LABEL_SERVICE_NAME] === name && this.managed(s) && !s.metadata.deletionTimestamp,
    );
  }

  /** A pass that found the slice cache stale is retried as soon as the cache moves for that Service. */
  private cacheCaughtUp(slice: KObject): void {
    const key = sliceServiceKey(slice);
    if (key !== undefined && this.staleSince.has(key)) this.queue.add(key);
  }

  private queueForSlice(slice: KObject): void {
    const key = sliceServiceKey(slice);
    if (key === undefined) return;
    this.queue.addAfter(key, Math.max(SLICE_CHANGE_MIN_SYNC_DELAY_MS, this.batchPeriodMs));
  }

  private onNodeAdd(node: KObject): void {
    const name = node.metadata.name ?? '';
    const waiting = this.waitingForNode.get(name);
    if (!waiting) return;
    this.waitingForNode.delete(name);
    for (const k of waiting) this.queue.add(k);
  }

  private onZoneChange(node: KObject): void {
    const name = node.metadata.name ?? '';
    for (const pod of this.pods?.list(undefined, (p) => podSpec(p).nodeName === name) ?? []) {
      for (const k of servicesForPod(this.membership!.selectors, pod)) this.queue.add(k);
    }
  }

  /** One pass over a Service key ("ns/name"). */
  async sync(key: string): Promise<{ requeueAfterMs?: number } | undefined> {
    if (!this.synced) throw new Error('endpointslice controller not started');
    await this.synced;
    const { namespace, name } = splitKey(key);
    const ns = namespace ?? '';
    const svc = this.services!.get(ns, name);
    if (!svc) {
      this.triggerTimes.delete(key);
      this.tracker.deleteService(key);
      this.staleSince.delete(key);
      this.staleBackoff.forget(key);
      await this.deleteSlicesOfRemovedService(ns, name);
      return undefined;
    }
    if (!wantsEndpoints(svc)) return undefined;

    const pods = this.membership!.podsFor(svc);
    const slices = this.liveManagedSlices(ns, name);
    if (this.tracker.staleSlices(key, slices)) {
      const since = this.staleSince.get(key) ?? this.clock.now();
      this.staleSince.set(key, since);
      if (this.clock.now() - since < MAX_STALE_MS) return { requeueAfterMs: this.staleBackoff.when(key) };
      // The cache never caught up (a slice vanished without an event we could attribute): start afresh.
      this.tracker.deleteService(key);
    }
    this.staleSince.delete(key);
    this.staleBackoff.forget(key);

    const triggerMs = this.triggerTimes.compute(svc, pods);
    const plan = planEndpointSlices(svc, pods, slices, {
      getNode: (n) => this.nodes!.get(undefined, n),
      maxEndpointsPerSlice: this.maxPerSlice,
      controllerName: CONTROLLER_NAME,
      triggerMs,
    });
    for (const n of plan.missingNodes) {
      let set = this.waitingForNode.get(n);
      if (!set) {
        set = new Set();
        this.waitingForNode.set(n, set);
      }
      set.add(key);
    }
    const errors = [...plan.errors];
    let writeError: SliceWriteError | undefined;
    try {
      await this.apply(svc, plan);
    } catch (err) {
      writeError = err instanceof SliceWriteError ? err : new SliceWriteError(errMessage(err), err);
      errors.push(writeError.message);
    }
    if (errors.length > 0) {
      const msg = aggregateMessage(errors);
      void this.recorder.event(
        svc,
        'Warning',
        'FailedToUpdateEndpointSlices',
        `Error updating Endpoint Slices for Service ${ns}/${name}: ${msg}`,
      );
      throw writeError ?? new NodeNotFoundError(msg);
    }
    return undefined;
  }

  /** Reconciler.finalize: creates (unless the Service is being deleted), then updates, then deletes. */
  private async apply(svc: KObject, plan: SlicePlan): Promise<void> {
    for (const s of plan.toCreate) wireLists(s);
    for (const s of plan.toUpdate) wireLists(s);
    const ns = svc.metadata.namespace ?? '';
    const name = svc.metadata.name ?? '';
    if (!svc.metadata.deletionTimestamp) {
      for (const s of plan.toCreate) {
        try {
          const created = await this.client.create(ENDPOINTSLICES, ns, s);
          this.tracker.update(created);
        } catch (err) {
          if (isNamespaceTerminating(err)) return;
          throw new SliceWriteError(
            `failed to create EndpointSlice for Service ${ns}/${name}: ${errMessage(err)}`,
            err,
          );
        }
      }
    }
    for (const s of plan.toUpdate) {
      try {
        const updated = await this.client.update(ENDPOINTSLICES, ns, s);
        this.tracker.update(updated);
      } catch (err) {
        throw new SliceWriteError(
          `failed to update ${s.metadata.name ?? ''} EndpointSlice for Service ${ns}/${name}: ${errMessage(err)}`,
          err,
        );
      }
    }
    for (const s of plan.toDelete) {
      try {
        await this.client.delete(ENDPOINTSLICES, ns, s.metadata.name ?? '');
        this.tracker.expectDeletion(s);
      } catch (err) {
        if (isNotFound(err)) continue;
        throw new SliceWriteError(
          `failed to delete ${s.metadata.name ?? ''} EndpointSlice for Service ${ns}/${name}: ${errMessage(err)}`,
          err,
        );
      }
    }
  }

  /**
   * Deletes the managed slices of a Service that is gone (the garbage
   * collector does the same through their ownerReferences; slices it
   * orphaned, without an ownerReference to the Service, are kept).
   */
  private async deleteSlicesOfRemovedService(ns: string, name: string): Promise<void> {
    const slices = this.liveManagedSlices(ns, name).filter((s) =>
      (s.metadata.ownerReferences ?? []).some(
        (o) => o.kind === 'Service' && o.apiVersion === 'v1' && o.name === name && o.controller === true,
      ),
    );
    for (const s of slices) {
      try {
        await this.client.delete(ENDPOINTSLICES, ns, s.metadata.name ?? '', {
          preconditions: s.metadata.uid ? { uid: s.metadata.uid } : undefined,
        });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
  }
}

/**
 * Empty endpoint and port lists as the API returns them upstream: the fields
 * have no omitempty and empty lists do not survive storage, so they read as
 * null (`endpoints: null` on a placeholder slice).
 */
function wireLists(slice: KObject): void {
  if (Array.isArray(slice.endpoints) && slice.endpoints.length === 0) slice.endpoints = null;
  if (Array.isArray(slice.ports) && slice.ports.length === 0) slice.ports = null;
}

/** A sync that skipped pods whose node is not known yet (retried with backoff and when the node appears). */
export class NodeNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeNotFoundError';
  }
}

/** A failed slice write, with upstream's message; `cause` is the API error. */
export class SliceWriteError extends Error {
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
    this.name = 'SliceWriteError';
  }
}
