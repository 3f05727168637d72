/**
 * Filter and score plugins of the default profile, as pure functions over a
 * pod (PodInfo) and a NodeInfo. Reasons and status codes are upstream's
 * (kube-scheduler 1.33 plugins NodeUnschedulable, TaintToleration,
 * NodeAffinity, NodePorts, NodeResourcesFit, VolumeRestrictions).
 */
import { isObject, type KObject } from '../../api/types.js';
import { toleratesTaint } from '../util/taints.js';
import type { NodeInfo, Taint } from './nodeinfo.js';
import type { PodInfo, Resources, Toleration } from './podinfo.js';

export { toleratesTaint };

export type StatusCode = 'Unschedulable' | 'UnschedulableAndUnresolvable';

/** A plugin's verdict on one node (or, from a PreFilter, on every node). */
export interface FilterStatus {
  code: StatusCode;
  reasons: string[];
  plugin: string;
}

export const ERR_NODE_UNSCHEDULABLE = 'node(s) were unschedulable';
export const ERR_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const ERR_AFFINITY_CONFLICT = 'pod affinity terms conflict';
export const ERR_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";
export const ERR_TOO_MANY_PODS = 'Too many pods';
export const ERR_RWOP_CONFLICT =
  'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode';

export function untoleratedTaintReason(t: Taint): string {
  return `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;
}

// ---------------------------------------------------------------------------
// taints and tolerations

/** upstream Toleration.ToleratesTaint. */
export function tolerationsTolerateTaint(tols: readonly Toleration[], taint: Taint): boolean {
  for (const t of tols) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first NoSchedule/NoExecute taint the pod does not tolerate (upstream FindMatchingUntoleratedTaint). */
export function firstUntoleratedTaint(
  taints: readonly Taint[],
  tols: readonly Toleration[],
): Taint | undefined {
  for (const t of taints) {
    if (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') continue;
    if (!tolerationsTolerateTaint(tols, t)) return t;
  }
  return undefined;
}

export function nodeUnschedulableFilter(pod: PodInfo, node: NodeInfo): FilterStatus | undefined {
  if (!node.unschedulable) return undefined;
  const tolerated = tolerationsTolerateTaint(pod.tolerations, {
    key: 'node.kubernetes.io/unschedulable',
    effect: 'NoSchedule',
  });
  if (tolerated) return undefined;
  return {
    code: 'UnschedulableAndUnresolvable',
    reasons: [ERR_NODE_UNSCHEDULABLE],
    plugin: 'NodeUnschedulable',
  };
}

export function taintTolerationFilter(pod: PodInfo, node: NodeInfo): FilterStatus | undefined {
  const t = firstUntoleratedTaint(node.taints, pod.tolerations);
  if (!t) return undefined;
  return {
    code: 'UnschedulableAndUnresolvable',
    reasons: [untoleratedTaintReason(t)],
    plugin: 'TaintToleration',
  };
}

/** PreferNoSchedule taints the pod does not tolerate (TaintToleration score input; lower is better). */
export function intolerablePreferNoSchedule(pod: PodInfo, node: NodeInfo): number {
  let n = 0;
  for (const t of node.taints) {
    if (t.effect !== 'PreferNoSchedule') continue;
    let ok = false;
    for (const tol of pod.tolerations) {
      if ((tol.effect ?? '') !== '' && tol.effect !== 'PreferNoSchedule') continue;
      if (toleratesTaint(tol, t)) {
        ok = true;
        break;
      }
    }
    if (!ok) n++;
  }
  return n;
}

// ---------------------------------------------------------------------------
// node selectors and node affinity

interface Requirement {
  key: string;
  operator: string;
  values: string[];
}

/** A parsed NodeSelectorTerm; `valid` false when it cannot match anything (bad operator/values, or empty). */
export interface NodeSelectorTerm {
  exprs: Requirement[];
  fields: Requirement[];
  valid: boolean;
}

function parseRequirements(v: unknown): { reqs: Requirement[]; ok: boolean } {
  const reqs: Requirement[] = [];
  if (v === undefined || v === null) return { reqs, ok: true };
  if (!Array.isArray(v)) return { reqs, ok: false };
  let ok = true;
  for (const r of v) {
    if (!isObject(r) || typeof r.key !== 'string' || typeof r.operator !== 'string') {
      ok = false;
      continue;
    }
    const values = Array.isArray(r.values) ? r.values.map(String) : [];
    switch (r.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) ok = false;
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length !== 0) ok = false;
        break;
      case 'Gt':
      case 'Lt':
        if (values.length !== 1 || !/^[+-]?\d+$/.test(values[0] ?? '')) ok = false;
        break;
      default:
        ok = false;
    }
    reqs.push({ key: r.key, operator: r.operator, values });
  }
  return { reqs, ok };
}

export function parseNodeSelectorTerm(term: unknown): NodeSelectorTerm {
  if (!isObject(term)) return { exprs: [], fields: [], valid: false };
  const e = parseRequirements(term.matchExpressions);
  const f = parseRequirements(term.matchFields);
  let valid = e.ok && f.ok && e.reqs.length + f.reqs.length > 0;
  for (const r of f.reqs) {
    // Only metadata.name is a supported field, with In/NotIn and exactly one value.
    if (r.key !== 'metadata.name' || (r.operator !== 'In' && r.operator !== 'NotIn') || r.values.length !== 1)
      valid = false;
  }
  return { exprs: e.reqs, fields: f.reqs, valid };
}

function requirementMatches(r: Requirement, get: (k: string) => string | undefined): boolean {
  const v = get(r.key);
  switch (r.operator) {
    case 'In':
      return v !== undefined && r.values.includes(v);
    case 'NotIn':
      return v === undefined || !r.values.includes(v);
    case 'Exists':
      return v !== undefined;
    case 'DoesNotExist':
      return v === undefined;
    case 'Gt':
    case 'Lt': {
      if (v === undefined || !/^[+-]?\d+$/.test(v)) return false;
      const have = BigInt(v);
      const want = BigInt(r.values[0] ?? '0');
      return r.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

export function termMatches(t: NodeSelectorTerm, labels: Record<string, string>, nodeName: string): boolean {
  if (!t.valid) return false;
  const label = (k: string): string | undefined => (Object.hasOwn(labels, k) ? labels[k] : undefined);
  for (const r of t.exprs) if (!requirementMatches(r, label)) return false;
  const field = (k: string): string | undefined => (k === 'metadata.name' ? nodeName : undefined);
  for (const r of t.fields) if (!requirementMatches(r, field)) return false;
  return true;
}

/** NodeSelectorTerms are ORed. */
export function termsMatch(
  terms: readonly NodeSelectorTerm[],
  labels: Record<string, string>,
  nodeName: string,
): boolean {
  for (const t of terms) if (termMatches(t, labels, nodeName)) return true;
  return false;
}

/** Parses `{nodeSelectorTerms: [...]}` (a core/v1 NodeSelector). */
export function parseNodeSelector(sel: unknown): NodeSelectorTerm[] {
  if (!isObject(sel) || !Array.isArray(sel.nodeSelectorTerms)) return [];
  return sel.nodeSelectorTerms.map(parseNodeSelectorTerm);
}

export interface PodAffinity {
  nodeSelector: Record<string, string> | undefined;
  /** Required node affinity terms; undefined when the pod has none. */
  required: NodeSelectorTerm[] | undefined;
  preferred: Array<{ weight: number; term: NodeSelectorTerm }>;
  /**
   * upstream NodeAffinity PreFilter: when every required term names nodes via
   * matchFields metadata.name In, only those nodes are considered; "conflict"
   * when the terms name none.
   */
  nodeNames: Set<string> | 'conflict' | undefined;
}

const affinityMemo = new WeakMap<KObject, PodAffinity>();

export function podAffinity(pod: KObject): PodAffinity {
  const hit = affinityMemo.get(pod);
  if (hit) return hit;
  const spec = isObject(pod.spec) ? pod.spec : {};
  const nodeSelector = isObject(spec.nodeSelector)
    ? Object.fromEntries(Object.entries(spec.nodeSelector).map(([k, v]) => [k, String(v)]))
    : undefined;
  const na =
    isObject(spec.affinity) && isObject(spec.affinity.nodeAffinity) ? spec.affinity.nodeAffinity : {};
  const reqSel = na.requiredDuringSchedulingIgnoredDuringExecution;
  const required = isObject(reqSel) ? parseNodeSelector(reqSel) : undefined;
  const preferred: PodAffinity['preferred'] = [];
  if (Array.isArray(na.preferredDuringSchedulingIgnoredDuringExecution)) {
    for (const p of na.preferredDuringSchedulingIgnoredDuringExecution) {
      if (!isObject(p) || typeof p.weight !== 'number' || p.weight === 0) continue;
      const term = parseNodeSelectorTerm(p.preference);
      if (term.valid) preferred.push({ weight: p.weight, term });
    }
  }
  let nodeNames: PodAffinity['nodeNames'];
  if (isObject(reqSel) && Array.isArray(reqSel.nodeSelectorTerms)) {
    let union: Set<string> | undefined;
    let allNamed = reqSel.nodeSelectorTerms.length > 0;
    for (const raw of reqSel.nodeSelectorTerms) {
      const fields = isObject(raw) && Array.isArray(raw.matchFields) ? raw.matchFields.filter(isObject) : [];
      let termNames: Set<string> | undefined;
      for (const f of fields) {
        if (f.key !== 'metadata.name' || f.operator !== 'In') continue;
        const s = new Set(Array.isArray(f.values) ? f.values.map(String) : []);
        termNames = termNames ? new Set([...termNames].filter((n) => s.has(n))) : s;
      }
      if (!termNames) {
        allNamed = false;
        break;
      }
      union ??= new Set();
      for (const n of termNames) union.add(n);
    }
    if (allNamed && union) nodeNames = union.size === 0 ? 'conflict' : union;
  }
  const out: PodAffinity = { nodeSelector, required, preferred, nodeNames };
  affinityMemo.set(pod, out);
  return out;
}

export function nodeAffinityFilter(aff: PodAffinity, node: NodeInfo): FilterStatus | undefined {
  let ok = true;
  if (aff.nodeSelector) {
    for (const [k, v] of Object.entries(aff.nodeSelector)) {
      if (node.labels[k] !== v || !Object.hasOwn(node.labels, k)) {
        ok = false;
        break;
      }
    }
  }
  if (ok && aff.required) ok = termsMatch(aff.required, node.labels, node.name);
  if (ok) return undefined;
  return { code: 'UnschedulableAndUnresolvable', reasons: [ERR_NODE_AFFINITY], plugin: 'NodeAffinity' };
}

/** Sum of the weights of preferred terms the node matches. */
export function preferredAffinityWeight(aff: PodAffinity, node: NodeInfo): number {
  let w = 0;
  for (const p of aff.preferred) if (termMatches(p.term, node.labels, node.name)) w += p.weight;
  return w;
}

// ---------------------------------------------------------------------------
// host ports

export function nodePortsFilter(pod: PodInfo, node: NodeInfo): FilterStatus | undefined {
  for (const p of pod.hostPorts) {
    if (node.portConflict(p.ip, p.protocol, p.port))
      return { code: 'Unschedulable', reasons: [ERR_NODE_PORTS], plugin: 'NodePorts' };
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// resources

/** What a node has in use: its requested sums and pod count (possibly with some pods taken away). */
export interface NodeUsage {
  requested: Resources;
  podCount: number;
}

/**
 * upstream NodeResourcesFit Filter: "Too many pods", then "Insufficient <r>"
 * for cpu, memory, ephemeral-storage and each scalar resource the pod
 * requests; UnschedulableAndUnresolvable when a request exceeds the node's
 * whole allocatable (preemption cannot help).
 */
export function fitsResources(
  pod: PodInfo,
  usage: NodeUsage,
  allocatable: Resources,
  allowedPods: number,
): FilterStatus | undefined {
  const reasons: string[] = [];
  let unresolvable = false;
  if (usage.podCount + 1 > allowedPods) reasons.push(ERR_TOO_MANY_PODS);
  const req = pod.requests;
  if (req.milliCpu !== 0 || req.memory !== 0 || req.ephemeralStorage !== 0 || req.scalar.size > 0) {
    const check = (name: string, want: number, used: number, alloc: number): void => {
      if (want > 0 && want > alloc - used) {
        reasons.push(`Insufficient ${name}`);
        if (want > alloc) unresolvable = true;
      }
    };
    check('cpu', req.milliCpu, usage.requested.milliCpu, allocatable.milliCpu);
    check('memory', req.memory, usage.requested.memory, allocatable.memory);
    check(
      'ephemeral-storage',
      req.ephemeralStorage,
      usage.requested.ephemeralStorage,
      allocatable.ephemeralStorage,
    );
    const names = [...req.scalar.keys()].sort();
    for (const name of names) {
      check(
        name,
        req.scalar.get(name) ?? 0,
        usage.requested.scalar.get(name) ?? 0,
        allocatable.scalar.get(name) ?? 0,
      );
    }
  }
  if (reasons.length === 0) return undefined;
  return {
    code: unresolvable ? 'UnschedulableAndUnresolvable' : 'Unschedulable',
    reasons,
    plugin: 'NodeResourcesFit',
  };
}

// ---------------------------------------------------------------------------
// scoring

/** upstream LeastAllocated over cpu and memory (weights 1), on non-zero requests, 0..100. */
export function leastAllocatedScore(pod: PodInfo, node: NodeInfo): number {
  const one = (req: number, alloc: number): number => {
    if (alloc <= 0 || req > alloc) return 0;
    return ((alloc - req) * 100) / alloc;
  };
  return (
    (one(node.nonZeroCpu + pod.nonZeroCpu, node.allocatable.milliCpu) +
      one(node.nonZeroMemory + pod.nonZeroMemory, node.allocatable.memory)) /
    2
  );
}

/** upstream NodeResourcesBalancedAllocation over cpu and memory, 0..100. */
export function balancedAllocationScore(pod: PodInfo, node: NodeInfo): number {
  const frac = (req: number, alloc: number): number => (alloc <= 0 ? 1 : Math.min(req / alloc, 1));
  const c = frac(node.nonZeroCpu + pod.nonZeroCpu, node.allocatable.milliCpu);
  const m = frac(node.nonZeroMemory + pod.nonZeroMemory, node.allocatable.memory);
  return (1 - Math.abs(c - m) / 2) * 100;
}
