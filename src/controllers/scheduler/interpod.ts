/**
 * Required inter-pod affinity and anti-affinity (upstream InterPodAffinity
 * PreFilter/Filter): counts, per topology pair (key=value of a node label),
 * the existing pods that match the incoming pod's terms and the existing pods
 * whose anti-affinity terms match the incoming pod, then checks each node's
 * topology values against those counts.
 */
import { isObject, type KObject, type LabelSelector } from '../../api/types.js';
import { matchesLabelSelector } from '../../client/informer.js';
import type { FilterStatus } from './filters.js';
import type { NodeInfo, PodEntry } from './nodeinfo.js';

export const ERR_AFFINITY_RULES = "node(s) didn't match pod affinity rules";
export const ERR_ANTI_AFFINITY_RULES = "node(s) didn't match pod anti-affinity rules";
export const ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";

export interface AffinityTerm {
  /** undefined: a nil selector, which matches nothing. */
  selector: LabelSelector | undefined;
  namespaces: ReadonlySet<string>;
  /** undefined: nil (no namespace matches by selector); `{}` matches every namespace. */
  namespaceSelector: LabelSelector | undefined;
  topologyKey: string;
}

/** Required terms of `affinity.podAffinity` or `affinity.podAntiAffinity` (upstream GetAffinityTerms). */
export function requiredAffinityTerms(pod: KObject, kind: 'podAffinity' | 'podAntiAffinity'): AffinityTerm[] {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const aff = isObject(spec.affinity) && isObject(spec.affinity[kind]) ? spec.affinity[kind] : {};
  const raw = Array.isArray(aff.requiredDuringSchedulingIgnoredDuringExecution)
    ? aff.requiredDuringSchedulingIgnoredDuringExecution.filter(isObject)
    : [];
  return raw.map((t) => {
    const names = Array.isArray(t.namespaces) ? t.namespaces.map(String) : [];
    const namespaceSelector = isObject(t.namespaceSelector)
      ? (t.namespaceSelector as LabelSelector)
      : undefined;
    const namespaces = new Set(names);
    // No namespaces and no selector: the pod's own namespace.
    if (names.length === 0 && !namespaceSelector) namespaces.add(pod.metadata.namespace ?? '');
    return {
      selector: isObject(t.labelSelector) ? (t.labelSelector as LabelSelector) : undefined,
      namespaces,
      namespaceSelector,
      topologyKey: typeof t.topologyKey === 'string' ? t.topologyKey : '',
    };
  });
}

/** upstream AffinityTerm.Matches. */
export function affinityTermMatches(
  t: AffinityTerm,
  labels: Record<string, string> | undefined,
  namespace: string,
  nsLabels: (ns: string) => Record<string, string> | undefined,
): boolean {
  const nsOk =
    t.namespaces.has(namespace) ||
    (t.namespaceSelector !== undefined && matchesLabelSelector(t.namespaceSelector, nsLabels(namespace)));
  return nsOk && t.selector !== undefined && matchesLabelSelector(t.selector, labels);
}

function pairKey(key: string, value: string): string {
  return `${key}\u0000${value}`;
}

function bump(m: Map<string, number>, node: NodeInfo | undefined, key: string): void {
  if (!node || !Object.hasOwn(node.labels, key)) return;
  const k = pairKey(key, node.labels[key] ?? '');
  m.set(k, (m.get(k) ?? 0) + 1);
}

export interface InterPodState {
  affinity: AffinityTerm[];
  antiAffinity: AffinityTerm[];
  affinityCounts: Map<string, number>;
  antiAffinityCounts: Map<string, number>;
  existingAntiAffinityCounts: Map<string, number>;
  /** The incoming pod matches all of its own affinity terms (the first pod of a group may then go anywhere). */
  matchesOwnAffinity: boolean;
}

/** What the PreFilter needs from the cache. */
export interface InterPodSource {
  /** Pods (assigned or assumed) whose required anti-affinity terms may reject others. */
  podsWithAntiAffinity(): Iterable<PodEntry>;
  /** Pods in a namespace, or in all namespaces when undefined. */
  podsIn(namespace: string | undefined): Iterable<PodEntry>;
  nodeInfo(name: string): NodeInfo | undefined;
  namespaceLabels(ns: string): Record<string, string> | undefined;
}

/** PreFilter; undefined when neither the pod nor any existing pod has required (anti-)affinity that applies. */
export function interPodPreFilter(
  pod: KObject,
  affinity: AffinityTerm[],
  antiAffinity: AffinityTerm[],
  src: InterPodSource,
): InterPodState | undefined {
  const ns = pod.metadata.namespace ?? '';
  const labels = pod.metadata.labels;
  const nsLabels = (n: string) => src.namespaceLabels(n);
  const existing = new Map<string, number>();
  for (const e of src.podsWithAntiAffinity()) {
    const node = src.nodeInfo(e.nodeName);
    for (const t of e.info.antiAffinityTerms)
      if (affinityTermMatches(t, labels, ns, nsLabels)) bump(existing, node, t.topologyKey);
  }
  if (affinity.length === 0 && antiAffinity.length === 0 && existing.size === 0) return undefined;
  const affinityCounts = new Map<string, number>();
  const antiCounts = new Map<string, number>();
  if (affinity.length > 0 || antiAffinity.length > 0) {
    const all = [...affinity, ...antiAffinity];
    const namespaces = all.some((t) => t.namespaceSelector !== undefined)
      ? [undefined]
      : [...new Set(all.flatMap((t) => [...t.namespaces]))];
    for (const n of namespaces) {
      for (const e of src.podsIn(n)) {
        const node = src.nodeInfo(e.nodeName);
        if (!node) continue;
        if (
          affinity.length > 0 &&
          affinity.every((t) => affinityTermMatches(t, e.info.labels, e.namespace, nsLabels))
        ) {
          for (const t of affinity) bump(affinityCounts, node, t.topologyKey);
        }
        for (const t of antiAffinity)
          if (affinityTermMatches(t, e.info.labels, e.namespace, nsLabels))
            bump(antiCounts, node, t.topologyKey);
      }
    }
  }
  return {
    affinity,
    antiAffinity,
    affinityCounts,
    antiAffinityCounts: antiCounts,
    existingAntiAffinityCounts: existing,
    matchesOwnAffinity: affinity.every((t) => affinityTermMatches(t, labels, ns, nsLabels)),
  };
}

/** Filter for one node. */
export function interPodFilter(s: InterPodState, node: NodeInfo): FilterStatus | undefined {
  const labels = node.labels;
  let podsExist = true;
  for (const t of s.affinity) {
    if (!Object.hasOwn(labels, t.topologyKey)) {
      return {
        code: 'UnschedulableAndUnresolvable',
        reasons: [ERR_AFFINITY_RULES],
        plugin: 'InterPodAffinity',
      };
    }
    if ((s.affinityCounts.get(pairKey(t.topologyKey, labels[t.topologyKey] ?? '')) ?? 0) <= 0)
      podsExist = false;
  }
  if (!podsExist && !(s.affinityCounts.size === 0 && s.matchesOwnAffinity)) {
    return {
      code: 'UnschedulableAndUnresolvable',
      reasons: [ERR_AFFINITY_RULES],
      plugin: 'InterPodAffinity',
    };
  }
  for (const t of s.antiAffinity) {
    if (!Object.hasOwn(labels, t.topologyKey)) continue;
    if ((s.antiAffinityCounts.get(pairKey(t.topologyKey, labels[t.topologyKey] ?? '')) ?? 0) > 0)
      return { code: 'Unschedulable', reasons: [ERR_ANTI_AFFINITY_RULES], plugin: 'InterPodAffinity' };
  }
  if (s.existingAntiAffinityCounts.size > 0) {
    for (const [k, v] of Object.entries(labels)) {
      if ((s.existingAntiAffinityCounts.get(pairKey(k, v)) ?? 0) > 0)
        return { code: 'Unschedulable', reasons: [ERR_EXISTING_ANTI_AFFINITY], plugin: 'InterPodAffinity' };
    }
  }
  return undefined;
}
