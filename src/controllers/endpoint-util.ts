/**
 * Helpers shared by the Endpoints and EndpointSlice controllers (upstream
 * k8s.io/endpointslice/util and pkg/api/v1/pod): which pods belong in a
 * Service's endpoints, how their ports resolve, which Services a pod change
 * affects, the last-change-trigger-time bookkeeping, and the informer wiring
 * and sync pacing both controllers use.
 *
 * Nothing here writes to the API or mutates the objects it is given.
 */
import { isStatusError } from '../api/errors.js';
import { isObject, type KObject } from '../api/types.js';
import { type Informer, objectKey } from '../client/informer.js';
import type { WorkQueue } from '../client/workqueue.js';
import { getPodCondition, isPodReady, podPhase, podSpec, podStatus } from './util/pods.js';
import type { SyncPacer } from './util/sync-pacer.js';

/** Label on Endpoints/EndpointSlices of headless Services (v1.IsHeadlessService). */
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
/** v1.EndpointsLastChangeTriggerTime. */
export const ANNOTATION_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
/** v1.EndpointsOverCapacity. */
export const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
/** resourcelock.LeaderElectionRecordAnnotationKey: Endpoints used as leader-election locks. */
export const ANNOTATION_LEADER = 'control-plane.alpha.kubernetes.io/leader';

type Json = Record<string, unknown>;

export interface ServicePort {
  name?: string;
  port: number;
  protocol: string;
  targetPort?: number | string;
  appProtocol?: string;
}

export function serviceSpec(svc: KObject): Json {
  return isObject(svc.spec) ? svc.spec : {};
}

/**
 * The Service's selector as a label map, or undefined when it has none. An
 * empty selector counts as none: on the wire `selector: {}` is omitted, so
 * upstream sees a nil selector (no endpoints managed) either way.
 */
export function serviceSelector(svc: KObject): Record<string, string> | undefined {
  const sel = serviceSpec(svc).selector;
  if (!isObject(sel)) return undefined;
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of Object.entries(sel)) {
    if (typeof v !== 'string') continue;
    out[k] = v;
    n++;
  }
  return n > 0 ? out : undefined;
}

/** Whether the controllers keep endpoints for the Service: it has a selector and is not ExternalName. */
export function wantsEndpoints(svc: KObject): boolean {
  return serviceSpec(svc).type !== 'ExternalName' && serviceSelector(svc) !== undefined;
}

/** helper.IsServiceIPSet: a ClusterIP other than "" and "None". */
export function isServiceIPSet(svc: KObject): boolean {
  const ip = serviceSpec(svc).clusterIP;
  return typeof ip === 'string' && ip !== '' && ip !== 'None';
}

export function isHeadlessService(svc: KObject): boolean {
  return serviceSpec(svc).clusterIP === 'None';
}

export function servicePorts(svc: KObject): ServicePort[] {
  const ports = serviceSpec(svc).ports;
  if (!Array.isArray(ports)) return [];
  const out: ServicePort[] = [];
  for (const p of ports) {
    if (!isObject(p) || typeof p.port !== 'number') continue;
    const sp: ServicePort = { port: p.port, protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP' };
    if (typeof p.name === 'string' && p.name !== '') sp.name = p.name;
    if (typeof p.targetPort === 'number' || typeof p.targetPort === 'string') sp.targetPort = p.targetPort;
    if (typeof p.appProtocol === 'string') sp.appProtocol = p.appProtocol;
    out.push(sp);
  }
  return out;
}

export function isIPv6(ip: string): boolean {
  return ip.includes(':');
}

/** status.podIPs (status.podIP when the list is absent, as the v1 conversion fills it). */
export function podIPs(pod: KObject): string[] {
  const st = podStatus(pod);
  const out: string[] = [];
  if (Array.isArray(st.podIPs)) {
    for (const e of st.podIPs) if (isObject(e) && typeof e.ip === 'string' && e.ip !== '') out.push(e.ip);
  }
  if (out.length === 0 && typeof st.podIP === 'string' && st.podIP !== '') out.push(st.podIP);
  return out;
}

/** The Pod reference of an endpoint (an EndpointAddress's or an EndpointSlice endpoint's targetRef). */
export function podTargetRef(pod: KObject): { kind: 'Pod'; namespace: string; name: string; uid: string } {
  return {
    kind: 'Pod',
    namespace: pod.metadata.namespace ?? '',
    name: pod.metadata.name ?? '',
    uid: pod.metadata.uid ?? '',
  };
}

/**
 * ShouldPodBeInEndpoints: not Succeeded/Failed, has an IP, and is not being
 * deleted unless `includeTerminating`.
 */
export function shouldPodBeInEndpoints(pod: KObject, includeTerminating: boolean): boolean {
  const phase = podPhase(pod);
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (podIPs(pod).length === 0) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp) return false;
  return true;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** ShouldSetHostname: the pod has a hostname and its subdomain is this Service (same namespace). */
export function shouldSetHostname(pod: KObject, svc: KObject): boolean {
  const spec = podSpec(pod);
  return (
    str(spec.hostname) !== '' &&
    str(spec.subdomain) === svc.metadata.name &&
    (pod.metadata.namespace ?? '') === (svc.metadata.namespace ?? '')
  );
}

/**
 * FindPort: a numeric targetPort is used as is; a named one is looked up (with
 * the Service port's protocol) in the containers' ports, then in sidecar
 * (restartPolicy Always) init containers. Undefined when the pod lacks it.
 */
export function findPort(pod: KObject, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  const spec = podSpec(pod);
  const search = (containers: unknown, sidecarsOnly: boolean): number | undefined => {
    if (!Array.isArray(containers)) return undefined;
    for (const c of containers) {
      if (!isObject(c)) continue;
      if (sidecarsOnly && c.restartPolicy !== 'Always') continue;
      if (!Array.isArray(c.ports)) continue;
      for (const p of c.ports) {
        if (!isObject(p)) continue;
        const proto = typeof p.protocol === 'string' ? p.protocol : 'TCP';
        if (p.name === target && proto === sp.protocol && typeof p.containerPort === 'number') {
          return p.containerPort;
        }
      }
    }
    return undefined;
  };
  return search(spec.containers, false) ?? search(spec.initContainers, true);
}

/** Same keys and values (absent equals empty). */
export function labelsEqual(
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (a?.[k] !== b?.[k]) return false;
  return true;
}

/**
 * podEndpointsChanged: [podChanged, labelsChanged]. The pod changed for
 * endpoints when its deletion timestamp, readiness, IPs or phase moved; its
 * membership may have changed when labels, hostname or subdomain did.
 */
export function podEndpointsChanged(oldPod: KObject, newPod: KObject): [boolean, boolean] {
  const os = podSpec(oldPod);
  const ns = podSpec(newPod);
  const labelsChanged =
    !labelsEqual(oldPod.metadata.labels, newPod.metadata.labels) ||
    str(os.hostname) !== str(ns.hostname) ||
    str(os.subdomain) !== str(ns.subdomain);
  if (oldPod.metadata.deletionTimestamp !== newPod.metadata.deletionTimestamp) return [true, labelsChanged];
  if (isPodReady(oldPod) !== isPodReady(newPod)) return [true, labelsChanged];
  const oi = podIPs(oldPod);
  const ni = podIPs(newPod);
  if (oi.length !== ni.length || oi.some((ip, i) => ip !== ni[i])) return [true, labelsChanged];
  // A pod turning Succeeded/Failed leaves the endpoints even if its Ready condition lags.
  if (podPhase(oldPod) !== podPhase(newPod)) return [true, labelsChanged];
  return [false, labelsChanged];
}

/**
 * An index from pod labels to the Services whose selector matches them, so a
 * pod event costs O(pod labels + candidate Services) instead of a scan of
 * every Service in the namespace. Each Service is filed under one of its
 * selector's key=value pairs and verified in full on lookup.
 */
export class ServiceSelectorIndex {
  private readonly byKey = new Map<string, { anchor: string; selector: Record<string, string> }>();
  private readonly byAnchor = new Map<string, Set<string>>();

  private static anchorOf(ns: string, k: string, v: string): string {
    return `${ns}\u0000${k}\u0000${v}`;
  }

  /** Adds, updates or (when it has no selector) removes a Service. */
  upsert(svc: KObject): void {
    const ns = svc.metadata.namespace ?? '';
    const key = `${ns}/${svc.metadata.name ?? ''}`;
    const selector = serviceSelector(svc);
    const old = this.byKey.get(key);
    if (!selector) {
      if (old) this.remove(key);
      return;
    }
    const first = Object.keys(selector).sort()[0]!;
    const anchor = ServiceSelectorIndex.anchorOf(ns, first, selector[first]!);
    if (old && old.anchor !== anchor) this.remove(key);
    this.byKey.set(key, { anchor, selector });
    let set = this.byAnchor.get(anchor);
    if (!set) {
      set = new Set();
      this.byAnchor.set(anchor, set);
    }
    set.add(key);
  }

  remove(key: string): void {
    const old = this.byKey.get(key);
    if (!old) return;
    this.byKey.delete(key);
    const set = this.byAnchor.get(old.anchor);
    set?.delete(key);
    if (set?.size === 0) this.byAnchor.delete(old.anchor);
  }

  /** Keys ("ns/name") of the Services in `ns` whose selector matches `labels`. */
  match(ns: string, labels: Record<string, string> | undefined): Set<string> {
    const out = new Set<string>();
    if (!labels) return out;
    for (const [k, v] of Object.entries(labels)) {
      const set = this.byAnchor.get(ServiceSelectorIndex.anchorOf(ns, k, v));
      if (!set) continue;
      for (const key of set) {
        const sel = this.byKey.get(key)?.selector;
        if (!sel) continue;
        let ok = true;
        for (const [sk, sv] of Object.entries(sel)) {
          if (labels[sk] !== sv) {
            ok = false;
            break;
          }
        }
        if (ok) out.add(key);
      }
    }
    return out;
  }

  get size(): number {
    return this.byKey.size;
  }
}

/** The Services a pod add or delete affects. */
export function servicesForPod(index: ServiceSelectorIndex, pod: KObject): Set<string> {
  return index.match(pod.metadata.namespace ?? '', pod.metadata.labels);
}

/**
 * GetServicesToUpdateOnPodChange: nothing for a resync (same
 * resourceVersion) or an irrelevant change; the current Services when only
 * the pod changed; when labels changed, the union of old and new Services if
 * the pod also changed, else only the Services it joined or left.
 */
export function servicesForPodUpdate(
  index: ServiceSelectorIndex,
  oldPod: KObject,
  newPod: KObject,
): Set<string> {
  if (oldPod.metadata.resourceVersion === newPod.metadata.resourceVersion) return new Set();
  const [podChanged, labelsChanged] = podEndpointsChanged(oldPod, newPod);
  if (!podChanged && !labelsChanged) return new Set();
  const now = servicesForPod(index, newPod);
  if (!labelsChanged) return now;
  const before = servicesForPod(index, oldPod);
  const out = new Set<string>();
  if (podChanged) {
    for (const k of now) out.add(k);
    for (const k of before) out.add(k);
  } else {
    for (const k of now) if (!before.has(k)) out.add(k);
    for (const k of before) if (!now.has(k)) out.add(k);
  }
  return out;
}

/** The pod reads ServicePodIndex needs (an Informer fits). */
export interface PodCache {
  get(namespace: string | undefined, name: string): KObject | undefined;
  list(namespace?: string, selector?: { matchLabels?: Record<string, string> }): KObject[];
}

function selectorText(sel: Record<string, string> | undefined): string {
  if (!sel) return '';
  return Object.keys(sel)
    .sort()
    .map((k) => `${k}=${sel[k]}`)
    .join(',');
}

/**
 * Which pods each Service selects, kept up to date from Service and pod
 * events, so a sync reads its Service's pods without scanning the namespace
 * and a pod event finds its Services through the selector index. A Service
 * whose selector appears or changes is filled by one scan of its namespace.
 * The pod handlers return the Service keys to queue, as upstream computes
 * them (see servicesForPodUpdate).
 */
export class ServicePodIndex {
  readonly selectors = new ServiceSelectorIndex();
  /** Service key → selector text (only Services with a selector). */
  private readonly selectorOf = new Map<string, string>();
  /** Service key → names of the pods it selects (same namespace). */
  private readonly members = new Map<string, Set<string>>();

  constructor(private readonly pods: PodCache) {}

  upsertService(svc: KObject): void {
    const key = `${svc.metadata.namespace ?? ''}/${svc.metadata.name ?? ''}`;
    const sel = serviceSelector(svc);
    const text = selectorText(sel);
    if (this.selectorOf.get(key) === (sel ? text : undefined)) return;
    this.selectors.upsert(svc);
    if (!sel) {
      this.selectorOf.delete(key);
      this.members.delete(key);
      return;
    }
    this.selectorOf.set(key, text);
    const names = new Set<string>();
    for (const p of this.pods.list(svc.metadata.namespace ?? '', { matchLabels: sel }))
      names.add(p.metadata.name ?? '');
    this.members.set(key, names);
  }

  removeService(key: string): void {
    this.selectors.remove(key);
    this.selectorOf.delete(key);
    this.members.delete(key);
  }

  private join(keys: Iterable<string>, name: string): void {
    for (const k of keys) this.members.get(k)?.add(name);
  }

  private leave(keys: Iterable<string>, name: string): void {
    for (const k of keys) this.members.get(k)?.delete(name);
  }

  /** A pod appeared: returns the Services to sync. */
  podAdded(pod: KObject): Set<string> {
    const keys = servicesForPod(this.selectors, pod);
    this.join(keys, pod.metadata.name ?? '');
    return keys;
  }

  /** A pod changed: updates memberships when its labels did; returns the Services to sync. */
  podUpdated(oldPod: KObject, newPod: KObject): Set<string> {
    if (!labelsEqual(oldPod.metadata.labels, newPod.metadata.labels)) {
      const name = newPod.metadata.name ?? '';
      const before = servicesForPod(this.selectors, oldPod);
      const now = servicesForPod(this.selectors, newPod);
      this.leave(
        [...before].filter((k) => !now.has(k)),
        name,
      );
      this.join(now, name);
    }
    return servicesForPodUpdate(this.selectors, oldPod, newPod);
  }

  /** A pod went away: returns the Services to sync. */
  podDeleted(pod: KObject): Set<string> {
    const keys = servicesForPod(this.selectors, pod);
    this.leave(keys, pod.metadata.name ?? '');
    return keys;
  }

  /** The cached pods a Service selects (re-checked against its selector). */
  podsFor(svc: KObject): KObject[] {
    const ns = svc.metadata.namespace ?? '';
    const key = `${ns}/${svc.metadata.name ?? ''}`;
    const sel = serviceSelector(svc);
    if (!sel) return [];
    if (this.selectorOf.get(key) !== selectorText(sel)) this.upsertService(svc);
    const out: KObject[] = [];
    for (const name of this.members.get(key) ?? []) {
      const p = this.pods.get(ns, name);
      if (!p) continue;
      const labels = p.metadata.labels ?? {};
      let ok = true;
      for (const [k, v] of Object.entries(sel)) {
        if (labels[k] !== v) {
          ok = false;
          break;
        }
      }
      if (ok) out.push(p);
    }
    return out;
  }
}

function parseTime(s: unknown): number | undefined {
  if (typeof s !== 'string' || s === '') return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** time.RFC3339Nano in UTC: fractional seconds only when non-zero, trailing zeros trimmed. */
export function formatRFC3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2006-01-02T15:04:05.000Z
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

/**
 * TriggerTimeTracker: the value of the last-change-trigger-time annotation.
 * For a Service seen for the first time, its creationTimestamp; afterwards
 * the earliest of the trigger times (pod Ready transitions, Service creation)
 * that changed since the previous sync, or undefined when none did.
 */
export class TriggerTimeTracker {
  private readonly states = new Map<string, { pods: Map<string, number>; service: number | undefined }>();

  compute(svc: KObject, pods: readonly KObject[]): number | undefined {
    const key = `${svc.metadata.namespace ?? ''}/${svc.metadata.name ?? ''}`;
    const state = this.states.get(key);
    let min: number | undefined;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = parseTime(getPodCondition(pod, 'Ready')?.lastTransitionTime);
      if (t === undefined) continue;
      const name = pod.metadata.name ?? '';
      podTimes.set(name, t);
      const prev = state?.pods.get(name);
      if (prev === undefined || t > prev) min = min === undefined ? t : Math.min(min, t);
    }
    const svcTime = parseTime(svc.metadata.creationTimestamp);
    if (svcTime !== undefined && (state?.service === undefined || svcTime > state.service)) {
      min = min === undefined ? svcTime : Math.min(min, svcTime);
    }
    this.states.set(key, { pods: podTimes, service: svcTime });
    if (!state) return svcTime;
    return min;
  }

  delete(key: string): void {
    this.states.delete(key);
  }
}

/** A create refused because the namespace is being deleted (nothing to do then). */
export function isNamespaceTerminating(err: unknown): boolean {
  return (
    isStatusError(err) &&
    err.code === 403 &&
    (err.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating')
  );
}

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** utilerrors.NewAggregate(...).Error(): one message as is, several as "[a, b]". */
export function aggregateMessage(msgs: readonly string[]): string {
  if (msgs.length === 1) return msgs[0]!;
  return `[${msgs.join(', ')}]`;
}

/** Sets or removes the last-change-trigger-time annotation (addTriggerTimeAnnotation). */
export function setTriggerTime(annotations: Record<string, string>, triggerMs: number | undefined): void {
  if (triggerMs !== undefined) annotations[ANNOTATION_TRIGGER_TIME] = formatRFC3339Nano(triggerMs);
  else delete annotations[ANNOTATION_TRIGGER_TIME];
}

/**
 * The Service and pod handlers both controllers register: Service events keep
 * `membership` current and queue the Service at once; pod events queue the
 * Services they affect after `pacer`'s delay (at least `batchPeriodMs`).
 * Returns the unsubscribe functions.
 */
export function watchServicesAndPods(
  services: Informer,
  pods: Informer,
  membership: ServicePodIndex,
  queue: WorkQueue,
  pacer: SyncPacer,
  batchPeriodMs: number,
): Array<() => void> {
  const queueServices = (keys: Iterable<string>): void => {
    for (const k of keys) queue.addAfter(k, pacer.delay(k, batchPeriodMs));
  };
  return [
    services.addEventHandler({
      onAdd: (svc) => {
        membership.upsertService(svc);
        queue.add(objectKey(svc));
      },
      onUpdate: (_old, svc) => {
        membership.upsertService(svc);
        queue.add(objectKey(svc));
      },
      onDelete: (svc) => {
        membership.removeService(objectKey(svc));
        queue.add(objectKey(svc));
      },
    }),
    pods.addEventHandler({
      onAdd: (pod) => queueServices(membership.podAdded(pod)),
      onUpdate: (oldPod, pod) => queueServices(membership.podUpdated(oldPod, pod)),
      onDelete: (pod) => queueServices(membership.podDeleted(pod)),
    }),
  ];
}
