/**
 * Per-node aggregate state, kept up to date incrementally as pods are added,
 * assumed, confirmed and removed (upstream framework.NodeInfo): the node's
 * labels, effective taints and allocatable, and the sums of what its pods
 * request, the host ports they use and how many replicas of each workload
 * run there.
 */
import { isObject, type KObject } from '../../api/types.js';
import type { Taint } from '../util/taints.js';
import {
  emptyResources,
  type PodInfo,
  parseResourceList,
  quantityNumber,
  type Resources,
} from './podinfo.js';

export type { Taint };

/** A pod as accounted on a node. */
export interface PodEntry {
  /** "ns/name". */
  key: string;
  uid: string;
  nodeName: string;
  info: PodInfo;
  /** Namespace of the pod (for claim keys). */
  namespace: string;
  /** Bound (or being bound) by us, not yet seen assigned through the informer. */
  assumed: boolean;
}

export const LABEL_HOSTNAME = 'kubernetes.io/hostname';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

/**
 * The node's taints, plus the NoSchedule taint upstream's kubelet and node
 * lifecycle controller put on a node whose Ready condition is not True
 * (not-ready when False or missing, unreachable when Unknown), unless the node
 * already carries it.
 */
export function effectiveTaints(node: KObject): Taint[] {
  const spec = isObject(node.spec) ? node.spec : {};
  const taints: Taint[] = [];
  if (Array.isArray(spec.taints)) {
    for (const t of spec.taints) {
      if (!isObject(t) || typeof t.key !== 'string' || typeof t.effect !== 'string') continue;
      taints.push({ key: t.key, value: typeof t.value === 'string' ? t.value : undefined, effect: t.effect });
    }
  }
  const status = isObject(node.status) ? node.status : {};
  const conds = Array.isArray(status.conditions) ? status.conditions.filter(isObject) : [];
  const ready = conds.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') {
    const key = ready?.status === 'Unknown' ? TAINT_UNREACHABLE : TAINT_NOT_READY;
    if (!taints.some((t) => t.key === key && t.effect === 'NoSchedule'))
      taints.push({ key, effect: 'NoSchedule' });
  }
  return taints;
}

export function nodeReady(node: KObject): boolean {
  const status = isObject(node.status) ? node.status : {};
  const conds = Array.isArray(status.conditions) ? status.conditions.filter(isObject) : [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

function portKey(protocol: string, port: number): string {
  return `${protocol}/${port}`;
}

export class NodeInfo {
  node: KObject | undefined;
  labels: Record<string, string> = {};
  taints: Taint[] = [];
  unschedulable = false;
  allocatable: Resources = emptyResources();
  allowedPods = 0;
  requested: Resources = emptyResources();
  nonZeroCpu = 0;
  nonZeroMemory = 0;
  readonly pods = new Map<string, PodEntry>();
  /** "TCP/80" → host IP → pods using it. */
  readonly usedPorts = new Map<string, Map<string, number>>();
  /** Controlling owner uid → pods of that owner here. */
  readonly owners = new Map<string, number>();

  constructor(readonly name: string) {}

  setNode(node: KObject): void {
    this.node = node;
    const labels = node.metadata.labels ?? {};
    // The kubelet always registers kubernetes.io/hostname; hand-made nodes may lack it.
    this.labels = Object.hasOwn(labels, LABEL_HOSTNAME) ? labels : { ...labels, [LABEL_HOSTNAME]: this.name };
    this.taints = effectiveTaints(node);
    const spec = isObject(node.spec) ? node.spec : {};
    this.unschedulable = spec.unschedulable === true;
    const status = isObject(node.status) ? node.status : {};
    this.allocatable = parseResourceList(status.allocatable);
    this.allowedPods = isObject(status.allocatable) ? quantityNumber(status.allocatable.pods, false) : 0;
  }

  get podCount(): number {
    return this.pods.size;
  }

  addPod(e: PodEntry): void {
    this.pods.set(e.key, e);
    this.apply(e.info, 1);
  }

  removePod(e: PodEntry): void {
    if (this.pods.get(e.key) !== e) return;
    this.pods.delete(e.key);
    this.apply(e.info, -1);
  }

  private apply(info: PodInfo, sign: 1 | -1): void {
    const r = info.requests;
    this.requested.milliCpu += sign * r.milliCpu;
    this.requested.memory += sign * r.memory;
    this.requested.ephemeralStorage += sign * r.ephemeralStorage;
    for (const [k, v] of r.scalar) {
      const n = (this.requested.scalar.get(k) ?? 0) + sign * v;
      if (n === 0) this.requested.scalar.delete(k);
      else this.requested.scalar.set(k, n);
    }
    this.nonZeroCpu += sign * info.nonZeroCpu;
    this.nonZeroMemory += sign * info.nonZeroMemory;
    for (const p of info.hostPorts) {
      const k = portKey(p.protocol, p.port);
      let byIp = this.usedPorts.get(k);
      if (!byIp) {
        byIp = new Map();
        this.usedPorts.set(k, byIp);
      }
      const n = (byIp.get(p.ip) ?? 0) + sign;
      if (n <= 0) byIp.delete(p.ip);
      else byIp.set(p.ip, n);
      if (byIp.size === 0) this.usedPorts.delete(k);
    }
    if (info.ownerUid) {
      const n = (this.owners.get(info.ownerUid) ?? 0) + sign;
      if (n <= 0) this.owners.delete(info.ownerUid);
      else this.owners.set(info.ownerUid, n);
    }
  }

  /** upstream HostPortInfo.CheckConflict: 0.0.0.0 conflicts with every IP on the same protocol/port. */
  portConflict(ip: string, protocol: string, port: number): boolean {
    const byIp = this.usedPorts.get(portKey(protocol, port));
    if (!byIp) return false;
    if (ip === '0.0.0.0') return byIp.size > 0;
    return byIp.has(ip) || byIp.has('0.0.0.0');
  }
}
