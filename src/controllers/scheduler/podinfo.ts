/**
 * What the scheduler needs to know about a pod, computed once per pod object:
 * effective resource requests (upstream resourcehelper.PodRequests: the sum of
 * the containers, the max with every init container, restartable (sidecar)
 * init containers accumulating, plus spec.overhead), the "non-zero" requests
 * used for scoring, requested host ports, PVC names, tolerations, priority and
 * the controlling owner.
 *
 * Informer objects are shared and never mutated, so results are memoised per
 * object in a WeakMap.
 */
import { isObject, type KObject } from '../../api/types.js';
import { parseQuantity, quantityMilliValue, quantityValue } from '../../machinery/quantity.js';
import { getControllerOf } from '../util/controller-ref.js';
import { type AffinityTerm, requiredAffinityTerms } from './interpod.js';

/** Requests or allocatable amounts: cpu in millicores, the rest in units (bytes, devices). */
export interface Resources {
  milliCpu: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended, hugepages and other prefixed resources ("example.com/gpu", "hugepages-2Mi"). */
  scalar: Map<string, number>;
}

import type { Toleration } from '../util/taints.js';

export type { Toleration };

export interface HostPort {
  /** "0.0.0.0" when unset. */
  ip: string;
  /** "TCP" when unset. */
  protocol: string;
  port: number;
}

export interface PodInfo {
  requests: Resources;
  /** Requests with upstream's defaults (100m cpu, 200Mi memory) for containers that set none: for scoring. */
  nonZeroCpu: number;
  nonZeroMemory: number;
  hostPorts: HostPort[];
  /** Claim names this pod uses (persistentVolumeClaim and generic ephemeral volumes), in volume order. */
  claims: ClaimRef[];
  tolerations: Toleration[];
  priority: number;
  /** uid of the controlling owner, for spreading replicas of one workload. */
  ownerUid: string | undefined;
  labels: Record<string, string> | undefined;
  /** Required pod affinity / anti-affinity terms. */
  affinityTerms: AffinityTerm[];
  antiAffinityTerms: AffinityTerm[];
}

export interface ClaimRef {
  name: string;
  /** A generic ephemeral volume: the claim is created for the pod by the ephemeral volume controller. */
  ephemeral: boolean;
}

/** upstream DefaultMilliCPURequest / DefaultMemoryRequest (scheduler util). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

export function emptyResources(): Resources {
  return { milliCpu: 0, memory: 0, ephemeralStorage: 0, scalar: new Map() };
}

/** Resources the scheduler accounts beyond cpu/memory/ephemeral-storage (upstream IsScalarResourceName). */
export function isScalarResourceName(name: string): boolean {
  return name.startsWith('hugepages-') || name.includes('/');
}

const quantityMemo = new Map<string, number>();

/** Quantity.Value() (or MilliValue() when `milli`) as a number; unparsable input counts as 0. */
export function quantityNumber(v: unknown, milli: boolean): number {
  if (typeof v !== 'string' && typeof v !== 'number') return 0;
  const key = `${milli ? 'm' : 'v'}${v}`;
  const hit = quantityMemo.get(key);
  if (hit !== undefined) return hit;
  let n = 0;
  try {
    const q = parseQuantity(v);
    n = Number(milli ? quantityMilliValue(q) : quantityValue(q));
  } catch {
    n = 0;
  }
  if (quantityMemo.size > 10_000) quantityMemo.clear();
  quantityMemo.set(key, n);
  return n;
}

/** Parses a ResourceList (requests, limits, allocatable) into Resources. */
export function parseResourceList(list: unknown): Resources {
  const r = emptyResources();
  if (!isObject(list)) return r;
  for (const [name, v] of Object.entries(list)) {
    if (name === 'cpu') r.milliCpu = quantityNumber(v, true);
    else if (name === 'memory') r.memory = quantityNumber(v, false);
    else if (name === 'ephemeral-storage') r.ephemeralStorage = quantityNumber(v, false);
    else if (isScalarResourceName(name)) r.scalar.set(name, quantityNumber(v, false));
  }
  return r;
}

function addInto(dst: Resources, src: Resources): void {
  dst.milliCpu += src.milliCpu;
  dst.memory += src.memory;
  dst.ephemeralStorage += src.ephemeralStorage;
  for (const [k, v] of src.scalar) dst.scalar.set(k, (dst.scalar.get(k) ?? 0) + v);
}

function maxInto(dst: Resources, src: Resources): void {
  dst.milliCpu = Math.max(dst.milliCpu, src.milliCpu);
  dst.memory = Math.max(dst.memory, src.memory);
  dst.ephemeralStorage = Math.max(dst.ephemeralStorage, src.ephemeralStorage);
  for (const [k, v] of src.scalar) dst.scalar.set(k, Math.max(dst.scalar.get(k) ?? 0, v));
}

function cloneResources(r: Resources): Resources {
  return {
    milliCpu: r.milliCpu,
    memory: r.memory,
    ephemeralStorage: r.ephemeralStorage,
    scalar: new Map(r.scalar),
  };
}

function containers(spec: Record<string, unknown>, field: string): Record<string, unknown>[] {
  const v = spec[field];
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function containerRequests(c: Record<string, unknown>): Resources {
  const res = isObject(c.resources) ? c.resources : {};
  return parseResourceList(res.requests);
}

function isRestartable(c: Record<string, unknown>): boolean {
  return c.restartPolicy === 'Always';
}

/**
 * Effective pod requests as upstream's PodRequests computes them. With
 * `nonZero`, containers without a cpu/memory request count the defaults
 * (upstream NonMissingContainerRequests, used for scoring).
 */
export function podRequests(spec: Record<string, unknown>, nonZero = false): Resources {
  const withDefaults = (c: Record<string, unknown>): Resources => {
    const r = containerRequests(c);
    if (nonZero) {
      const reqs = isObject(c.resources) && isObject(c.resources.requests) ? c.resources.requests : {};
      if (reqs.cpu === undefined) r.milliCpu = DEFAULT_MILLI_CPU_REQUEST;
      if (reqs.memory === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
    }
    return r;
  };
  const total = emptyResources();
  for (const c of containers(spec, 'containers')) addInto(total, withDefaults(c));
  const restartable = emptyResources();
  const initMax = emptyResources();
  for (const c of containers(spec, 'initContainers')) {
    const r = withDefaults(c);
    if (isRestartable(c)) {
      // Sidecars run alongside everything after them.
      addInto(total, r);
      addInto(restartable, r);
      maxInto(initMax, restartable);
    } else {
      const tmp = cloneResources(r);
      addInto(tmp, restartable);
      maxInto(initMax, tmp);
    }
  }
  maxInto(total, initMax);
  if (isObject(spec.overhead)) addInto(total, parseResourceList(spec.overhead));
  return total;
}

/** Host ports of the pod's containers and sidecar init containers (upstream GetHostPorts, sanitised). */
export function podHostPorts(spec: Record<string, unknown>): HostPort[] {
  const out: HostPort[] = [];
  const scan = (c: Record<string, unknown>): void => {
    const ports = Array.isArray(c.ports) ? c.ports.filter(isObject) : [];
    for (const p of ports) {
      const port = typeof p.hostPort === 'number' ? p.hostPort : 0;
      if (port <= 0) continue;
      const ip = typeof p.hostIP === 'string' && p.hostIP !== '' ? p.hostIP : '0.0.0.0';
      const protocol = typeof p.protocol === 'string' && p.protocol !== '' ? p.protocol : 'TCP';
      out.push({ ip, protocol, port });
    }
  };
  for (const c of containers(spec, 'containers')) scan(c);
  for (const c of containers(spec, 'initContainers')) if (isRestartable(c)) scan(c);
  return out;
}

/** Claims referenced by the pod's volumes; generic ephemeral volumes use "<pod>-<volume>" (upstream ephemeral.VolumeClaimName). */
export function podClaims(pod: KObject): ClaimRef[] {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const vols = Array.isArray(spec.volumes) ? spec.volumes.filter(isObject) : [];
  const out: ClaimRef[] = [];
  for (const v of vols) {
    if (isObject(v.persistentVolumeClaim)) {
      const name = v.persistentVolumeClaim.claimName;
      if (typeof name === 'string' && name !== '') out.push({ name, ephemeral: false });
    } else if (isObject(v.ephemeral)) {
      out.push({ name: `${pod.metadata.name ?? ''}-${String(v.name ?? '')}`, ephemeral: true });
    }
  }
  return out;
}

const memo = new WeakMap<KObject, PodInfo>();

/** The scheduler's view of a pod (memoised per object; the object must not be mutated afterwards). */
export function podInfo(pod: KObject): PodInfo {
  const hit = memo.get(pod);
  if (hit) return hit;
  const spec = isObject(pod.spec) ? pod.spec : {};
  const nz = podRequests(spec, true);
  const info: PodInfo = {
    requests: podRequests(spec),
    nonZeroCpu: nz.milliCpu,
    nonZeroMemory: nz.memory,
    hostPorts: podHostPorts(spec),
    claims: podClaims(pod),
    tolerations: Array.isArray(spec.tolerations) ? (spec.tolerations.filter(isObject) as Toleration[]) : [],
    priority: typeof spec.priority === 'number' ? spec.priority : 0,
    ownerUid: getControllerOf(pod)?.uid,
    labels: pod.metadata.labels,
    affinityTerms: requiredAffinityTerms(pod, 'podAffinity'),
    antiAffinityTerms: requiredAffinityTerms(pod, 'podAntiAffinity'),
  };
  memo.set(pod, info);
  return info;
}
