/**
 * The Endpoints controller (upstream pkg/controller/endpoint, component
 * "endpoint-controller"): for every Service with a selector, an Endpoints
 * object of the same name listing the selected pods' addresses, ready ones in
 * `addresses` and the rest in `notReadyAddresses`, per resolved port set.
 *
 * - Pods count when they are not Succeeded/Failed, have an IP of the
 *   Service's first IP family and are not terminating (terminating pods too
 *   with publishNotReadyAddresses, which also puts every address in
 *   `addresses`).
 * - Subsets are repacked as upstream's RepackSubsets: addresses grouped by
 *   the set of ports they serve (a not-ready port wins over a ready one).
 * - Labels mirror the Service's, plus `service.kubernetes.io/headless` for
 *   headless Services; `endpoints.kubernetes.io/last-change-trigger-time`
 *   records what caused the change; more than 1000 addresses are truncated
 *   and annotated `endpoints.kubernetes.io/over-capacity: truncated`.
 * - A deleted Service's Endpoints are deleted (also, once at start-up, any
 *   Endpoints without a Service, except leader-election locks). Services
 *   without a selector, and ExternalName Services, are left alone.
 *
 * Reads come from informer caches; writes go through the client and are
 * skipped when nothing changed.
 */

import { isAlreadyExists, isConflict, isNotFound } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import { type Informer, type InformerFactory, objectKey, splitKey } from '../client/informer.js';
import type { Client } from '../client/interface.js';
import { type Clock, ExponentialRateLimiter, realClock, WorkQueue } from '../client/workqueue.js';
import {
  ANNOTATION_LEADER,
  ANNOTATION_OVER_CAPACITY,
  errMessage,
  findPort,
  isIPv6,
  isNamespaceTerminating,
  isServiceIPSet,
  LABEL_HEADLESS,
  labelsEqual,
  podIPs,
  podTargetRef,
  ServicePodIndex,
  servicePorts,
  serviceSpec,
  setTriggerTime,
  shouldPodBeInEndpoints,
  shouldSetHostname,
  TriggerTimeTracker,
  wantsEndpoints,
  watchServicesAndPods,
} from './endpoint-util.js';
import { createRecorder, type EventRecorder } from './events.js';
import { isPodReady, podSpec } from './util/pods.js';
import { ENDPOINTS, PODS, SERVICES } from './util/resources.js';
import { SyncPacer } from './util/sync-pacer.js';

/** Most addresses (ready + not ready) one Endpoints object carries. */
export const MAX_ENDPOINTS_CAPACITY = 1000;

export interface EndpointReference {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: EndpointReference;
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

/**
 * podToEndpointAddressForService: the pod's IP of the Service's (first) IP
 * family, its node and a Pod targetRef. Undefined when it has no such IP.
 */
export function podToEndpointAddress(svc: KObject, pod: KObject): EndpointAddress | undefined {
  const spec = serviceSpec(svc);
  const families = Array.isArray(spec.ipFamilies) ? spec.ipFamilies : [];
  const ips = podIPs(pod);
  let wantV6: boolean;
  if (typeof families[0] === 'string') wantV6 = families[0] === 'IPv6';
  else if (isServiceIPSet(svc)) wantV6 = isIPv6(String(spec.clusterIP));
  else wantV6 = ips.length > 0 && isIPv6(ips[0]!);
  const ip = ips.find((a) => isIPv6(a) === wantV6);
  if (ip === undefined) return undefined;
  const addr: EndpointAddress = { ip };
  const nodeName = podSpec(pod).nodeName;
  if (typeof nodeName === 'string' && nodeName !== '') addr.nodeName = nodeName;
  addr.targetRef = podTargetRef(pod);
  return addr;
}

function withHostname(addr: EndpointAddress, hostname: string | undefined): EndpointAddress {
  if (hostname === undefined) return addr;
  // Keep upstream's field order: ip, hostname, nodeName, targetRef.
  const { ip, ...rest } = addr;
  return { ip, hostname, ...rest };
}

/**
 * The Service's subsets for these pods (before truncation), as syncService
 * builds them: one single-address subset per pod and resolved port, then
 * RepackSubsets.
 */
export function computeSubsets(svc: KObject, pods: readonly KObject[]): EndpointSubset[] {
  const spec = serviceSpec(svc);
  const publishNotReady = spec.publishNotReadyAddresses === true;
  const ports = servicePorts(svc);
  const raw: EndpointSubset[] = [];
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const base = podToEndpointAddress(svc, pod);
    if (!base) continue;
    const hostname = shouldSetHostname(pod, svc) ? String(podSpec(pod).hostname) : undefined;
    const addr = withHostname(base, hostname);
    const ready = publishNotReady || isPodReady(pod);
    const add = (port: EndpointPort | undefined): void => {
      const ss: EndpointSubset = ready ? { addresses: [addr] } : { notReadyAddresses: [addr] };
      ss.ports = port ? [port] : [];
      raw.push(ss);
    };
    if (ports.length === 0) {
      // Headless Services may have no ports: addresses only.
      if (spec.clusterIP === 'None') add(undefined);
      continue;
    }
    for (const sp of ports) {
      const num = findPort(pod, sp);
      if (num === undefined) continue;
      const ep: EndpointPort = { port: num, protocol: sp.protocol };
      if (sp.name) ep.name = sp.name;
      if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
      // Upstream field order: name, port, protocol, appProtocol.
      add(ep.name !== undefined ? { name: ep.name, ...ep } : ep);
    }
  }
  return repackSubsets(raw);
}

function portKey(p: EndpointPort): string {
  return `${p.name ?? ''}\u0000${p.port}\u0000${p.protocol}\u0000${p.appProtocol ?? ''}`;
}

function addrKey(a: EndpointAddress): string {
  return `${a.ip}\u0000${a.targetRef?.uid ?? ''}`;
}

/** LessEndpointAddress: by IP (bytewise), then by targetRef uid (no targetRef first). */
export function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  const ua = a.targetRef?.uid;
  const ub = b.targetRef?.uid;
  if (ua === ub) return 0;
  if (ub === undefined) return 1;
  if (ua === undefined) return -1;
  return ua < ub ? -1 : 1;
}

function comparePorts(a: EndpointPort, b: EndpointPort): number {
  const ka = portKey(a);
  const kb = portKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * RepackSubsets: maps every port to the addresses offering it (an address
 * not ready on a port in any input subset is not ready for that port), then
 * groups ports with identical address sets into one subset. Addresses are
 * de-duplicated by IP + targetRef uid (the first occurrence is kept).
 * Ports without a number (headless, no ports) keep their addresses in a
 * subset without ports. Output is sorted: addresses by IP/uid, ports and
 * subsets in a stable order (upstream orders those by hash).
 */
export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const allAddrs = new Map<string, EndpointAddress>();
  /** port key → port and its address → ready map. */
  const byPort = new Map<string, { port: EndpointPort | undefined; addrs: Map<string, boolean> }>();
  const SENTINEL = '\u0000sentinel';
  const map = (addr: EndpointAddress, pk: string, port: EndpointPort | undefined, ready: boolean): void => {
    const ak = addrKey(addr);
    if (!allAddrs.has(ak)) allAddrs.set(ak, addr);
    let entry = byPort.get(pk);
    if (!entry) {
      entry = { port, addrs: new Map() };
      byPort.set(pk, entry);
    }
    const was = entry.addrs.get(ak);
    if (was === undefined || was) entry.addrs.set(ak, ready);
  };
  for (const ss of subsets) {
    const ports = ss.ports ?? [];
    const targets: Array<[string, EndpointPort | undefined]> =
      ports.length === 0 ? [[SENTINEL, undefined]] : ports.map((p) => [portKey(p), p]);
    for (const [pk, port] of targets) {
      for (const a of ss.addresses ?? []) map(a, pk, port, true);
      for (const a of ss.notReadyAddresses ?? []) map(a, pk, port, false);
    }
  }
  // Group ports by their (address, readiness) set.
  const groups = new Map<string, { addrs: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, addrs } of byPort.values()) {
    const key = [...addrs.entries()]
      .map(([ak, r]) => `${ak}\u0000${r ? 1 : 0}`)
      .sort()
      .join('\u0001');
    let g = groups.get(key);
    if (!g) {
      g = { addrs, ports: [] };
      groups.set(key, g);
    }
    if (port) g.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [ak, r] of g.addrs) (r ? ready : notReady).push(allAddrs.get(ak)!);
    ready.sort(compareAddresses);
    notReady.sort(compareAddresses);
    g.ports.sort(comparePorts);
    const ss: EndpointSubset = {};
    if (ready.length > 0) ss.addresses = ready;
    if (notReady.length > 0) ss.notReadyAddresses = notReady;
    if (g.ports.length > 0) ss.ports = g.ports;
    out.push(ss);
  }
  const sortKey = (ss: EndpointSubset): string =>
    JSON.stringify([ss.ports ?? [], ss.addresses ?? [], ss.notReadyAddresses ?? []]);
  const keyed = out.map((ss) => ({ ss, k: sortKey(ss) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((e) => e.ss);
}

/**
 * truncateEndpoints: above `max` addresses in total, keeps ready addresses
 * first (spread over the subsets in proportion, rounding up) and fills the
 * rest with not-ready ones; when the ready addresses alone exceed `max`,
 * not-ready ones are all dropped. Returns copies; `truncated` says whether
 * anything was cut.
 */
export function truncateSubsets(
  subsets: readonly EndpointSubset[],
  max = MAX_ENDPOINTS_CAPACITY,
): { subsets: EndpointSubset[]; truncated: boolean } {
  let totalReady = 0;
  let totalNotReady = 0;
  for (const ss of subsets) {
    totalReady += ss.addresses?.length ?? 0;
    totalNotReady += ss.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= max) return { subsets: subsets.map((s) => ({ ...s })), truncated: false };
  const truncateReady = totalReady > max;
  const limit = truncateReady ? max : max - totalReady;
  const numTotal = truncateReady ? totalReady : totalNotReady;
  let canBeAdded = limit;
  const out: EndpointSubset[] = [];
  for (const s of subsets) {
    const ss: EndpointSubset = { ...s };
    const inSubset = truncateReady ? (s.addresses?.length ?? 0) : (s.notReadyAddresses?.length ?? 0);
    let toBeAdded = numTotal === 0 ? 0 : Math.ceil((inSubset / numTotal) * limit);
    if (toBeAdded > canBeAdded) toBeAdded = canBeAdded;
    if (truncateReady) {
      const kept = (s.addresses ?? []).slice(0, toBeAdded);
      if (kept.length > 0) ss.addresses = kept;
      else delete ss.addresses;
      delete ss.notReadyAddresses;
      canBeAdded -= kept.length;
    } else {
      const kept = (s.notReadyAddresses ?? []).slice(0, toBeAdded);
      if (kept.length > 0) ss.notReadyAddresses = kept;
      else delete ss.notReadyAddresses;
      canBeAdded -= kept.length;
    }
    // A subset left without any address would be invalid: drop it.
    if (ss.addresses || ss.notReadyAddresses) out.push(ss);
  }
  return { subsets: out, truncated: true };
}

function sameRef(a: EndpointReference | undefined, b: EndpointReference | undefined): boolean {
  if (!a || !b) return !a && !b;
  const ra = a as EndpointReference & { apiVersion?: string; fieldPath?: string };
  const rb = b as EndpointReference & { apiVersion?: string; fieldPath?: string };
  return (
    ra.kind === rb.kind &&
    (ra.namespace ?? '') === (rb.namespace ?? '') &&
    ra.name === rb.name &&
    (ra.uid ?? '') === (rb.uid ?? '') &&
    (ra.apiVersion ?? '') === (rb.apiVersion ?? '') &&
    (ra.fieldPath ?? '') === (rb.fieldPath ?? '')
  );
}

/** Pairwise equality of two lists in order (absent equals empty). */
function sameList<T>(
  a: readonly T[] | undefined,
  b: readonly T[] | undefined,
  same: (x: T, y: T) => boolean,
): boolean {
  const la = a ?? [];
  const lb = b ?? [];
  return la.length === lb.length && la.every((x, i) => same(x, lb[i]!));
}

function sameAddresses(a: EndpointAddress[] | undefined, b: EndpointAddress[] | undefined): boolean {
  return sameList(
    a,
    b,
    (x, y) =>
      x.ip === y.ip &&
      (x.hostname ?? '') === (y.hostname ?? '') &&
      (x.nodeName ?? '') === (y.nodeName ?? '') &&
      sameRef(x.targetRef, y.targetRef),
  );
}

function samePorts(a: EndpointPort[] | undefined, b: EndpointPort[] | undefined): boolean {
  return sameList(
    a,
    b,
    (x, y) =>
      (x.name ?? '') === (y.name ?? '') &&
      x.port === y.port &&
      (x.protocol ?? 'TCP') === (y.protocol ?? 'TCP') &&
      x.appProtocol === y.appProtocol,
  );
}

/**
 * Subsets compared as upstream does (semantic equality, targetRef
 * resourceVersions ignored; empty lists equal absent ones).
 */
export function subsetsEqual(a: unknown, b: unknown): boolean {
  return sameList(
    (Array.isArray(a) ? a : []) as EndpointSubset[],
    (Array.isArray(b) ? b : []) as EndpointSubset[],
    (x, y) =>
      sameAddresses(x.addresses, y.addresses) &&
      sameAddresses(x.notReadyAddresses, y.notReadyAddresses) &&
      samePorts(x.ports, y.ports),
  );
}

/**
 * The Endpoints object to write for a Service, or undefined when `current`
 * already says the same (subsets, labels minus the headless label, and the
 * over-capacity annotation). `current` is never mutated.
 */
export function desiredEndpoints(
  svc: KObject,
  current: KObject | undefined,
  subsets: readonly EndpointSubset[],
  triggerMs: number | undefined,
): KObject | undefined {
  const { subsets: finalSubsets, truncated } = truncateSubsets(subsets);
  const svcLabels = svc.metadata.labels ?? {};
  if (current) {
    const cmp: Record<string, string> = { ...(current.metadata.labels ?? {}) };
    delete cmp[LABEL_HEADLESS];
    const overCapacity = current.metadata.annotations?.[ANNOTATION_OVER_CAPACITY] !== undefined;
    if (
      subsetsEqual(current.subsets, finalSubsets) &&
      labelsEqual(cmp, svcLabels) &&
      overCapacity === truncated
    ) {
      return undefined;
    }
  }
  const next: KObject = current
    ? structuredClone(current)
    : {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: svc.metadata.name, namespace: svc.metadata.namespace },
      };
  next.apiVersion = 'v1';
  next.kind = 'Endpoints';
  const labels: Record<string, string> = { ...svcLabels };
  if (isServiceIPSet(svc)) delete labels[LABEL_HEADLESS];
  else labels[LABEL_HEADLESS] = '';
  if (Object.keys(labels).length > 0) next.metadata.labels = labels;
  else delete next.metadata.labels;
  const annotations: Record<string, string> = { ...(next.metadata.annotations ?? {}) };
  setTriggerTime(annotations, triggerMs);
  if (truncated) annotations[ANNOTATION_OVER_CAPACITY] = 'truncated';
  else delete annotations[ANNOTATION_OVER_CAPACITY];
  if (Object.keys(annotations).length > 0) next.metadata.annotations = annotations;
  else delete next.metadata.annotations;
  if (finalSubsets.length > 0) next.subsets = structuredClone(finalSubsets);
  else delete next.subsets;
  return next;
}

export interface EndpointsControllerOptions {
  clock?: Clock;
  /** Services synced in parallel (default 5, as kube-controller-manager's --concurrent-endpoint-syncs). */
  concurrency?: number;
  /** Delay before a pod change is handled, to batch churn (--endpoint-updates-batch-period; default 0). */
  batchPeriodMs?: number;
  /** Event recorder (default: one for component "endpoint-controller"). */
  recorder?: EventRecorder;
}

export class EndpointsController {
  readonly queue: WorkQueue;
  private readonly clock: Clock;
  private readonly batchPeriodMs: number;
  private readonly recorder: EventRecorder;
  private membership: ServicePodIndex | undefined;
  private readonly triggerTimes = new TriggerTimeTracker();
  private readonly pacer: SyncPacer;
  /** Service key → resourceVersion of an Endpoints we replaced: seeing it in the cache again means the cache lags. */
  private readonly staleVersions = new Map<string, string>();
  /** Service keys whose last pass waited for the Endpoints cache to catch up: synced again on its next event. */
  private readonly awaitingCache = new Set<string>();
  private readonly unsubscribes: Array<() => void> = [];
  private services: Informer | undefined;
  private endpoints: Informer | undefined;
  private synced: Promise<void> | undefined;

  constructor(
    private readonly client: Client,
    private readonly informers: InformerFactory,
    opts: EndpointsControllerOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.batchPeriodMs = opts.batchPeriodMs ?? 0;
    this.recorder =
      opts.recorder ?? createRecorder(client, 'endpoint-controller', { onError: () => undefined });
    this.pacer = new SyncPacer(this.clock);
    this.queue = new WorkQueue(
      async (key) => {
        await this.synced;
        return this.pacer.run(key, this.services, () => this.sync(key));
      },
      {
        name: 'endpoint',
        concurrency: opts.concurrency ?? 5,
        clock: this.clock,
        rateLimiter: new ExponentialRateLimiter(5, 1_000_000),
        onError: (key, err) => {
          if (!isConflict(err) && !isNotFound(err) && !(err instanceof StaleCacheError))
            console.error(`endpoint controller: syncing ${JSON.stringify(key)}:`, errMessage(err));
        },
      },
    );
  }

  /** Registers informer handlers; the caller starts the informer factory. */
  start(): void {
    const services = this.informers.forResource(SERVICES);
    const pods = this.informers.forResource(PODS);
    const endpoints = this.informers.forResource(ENDPOINTS);
    this.services = services;
    const membership = new ServicePodIndex(pods);
    this.membership = membership;
    this.endpoints = endpoints;
    this.unsubscribes.push(
      ...watchServicesAndPods(services, pods, membership, this.queue, this.pacer, this.batchPeriodMs),
      endpoints.addEventHandler({
        onAdd: (ep) => this.cacheCaughtUp(objectKey(ep)),
        onUpdate: (_old, ep) => this.cacheCaughtUp(objectKey(ep)),
        onDelete: (ep) => this.queue.add(objectKey(ep)),
      }),
    );
    this.synced = Promise.all([services.waitForSync(), pods.waitForSync(), endpoints.waitForSync()]).then(
      () => this.checkLeftoverEndpoints(),
    );
    this.synced.catch(() => undefined);
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribes.splice(0)) u();
    await this.queue.shutdown();
  }

  private cacheCaughtUp(key: string): void {
    if (this.awaitingCache.delete(key)) this.queue.add(key);
  }

  /** Queues every Endpoints once, so ones whose Service went away while we were down are deleted. */
  private checkLeftoverEndpoints(): void {
    for (const ep of this.endpoints?.list() ?? []) {
      if (ep.metadata.annotations?.[ANNOTATION_LEADER] !== undefined) continue;
      this.queue.add(objectKey(ep));
    }
  }

  /** One pass over a Service key ("ns/name"). */
  async sync(key: string): Promise<{ requeue?: boolean } | undefined> {
    if (!this.synced) throw new Error('endpoint controller not started');
    await this.synced;
    const { namespace, name } = splitKey(key);
    const ns = namespace ?? '';
    const svc = this.services!.get(ns, name);
    if (!svc) {
      try {
        await this.client.delete(ENDPOINTS, ns, name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      this.triggerTimes.delete(key);
      this.staleVersions.delete(key);
      this.awaitingCache.delete(key);
      return undefined;
    }
    if (!wantsEndpoints(svc)) return undefined;

    const pods = this.membership!.podsFor(svc);
    const triggerMs = this.triggerTimes.compute(svc, pods);
    const subsets = computeSubsets(svc, pods);

    const current = this.endpoints!.get(ns, name);
    if (current) {
      const stale = this.staleVersions.get(key);
      if (stale !== undefined && stale === current.metadata.resourceVersion) {
        this.awaitingCache.add(key);
        throw new StaleCacheError(
          `endpoints informer cache is out of date, resource version ${stale} already processed for endpoints ${key}`,
        );
      }
      this.staleVersions.delete(key);
    }
    const next = desiredEndpoints(svc, current, subsets, triggerMs);
    if (!next) return undefined;
    try {
      if (!current) {
        await this.client.create(ENDPOINTS, ns, next);
      } else {
        const updated = await this.client.update(ENDPOINTS, ns, next);
        if (updated.metadata.resourceVersion !== current.metadata.resourceVersion) {
          this.staleVersions.set(key, current.metadata.resourceVersion ?? '');
        }
      }
    } catch (err) {
      if (!current && isNamespaceTerminating(err)) return undefined;
      // The cache has not seen our own (or someone's) create yet: look again later, quietly.
      if (!current && isAlreadyExists(err)) {
        this.awaitingCache.add(key);
        return { requeue: true };
      }
      if (!current) {
        void this.recorder.event(
          next,
          'Warning',
          'FailedToCreateEndpoint',
          `Failed to create endpoint for service ${ns}/${name}: ${errMessage(err)}`,
        );
      } else {
        void this.recorder.event(
          next,
          'Warning',
          'FailedToUpdateEndpoint',
          `Failed to update endpoint ${ns}/${name}: ${errMessage(err)}`,
        );
      }
      throw err;
    }
    return undefined;
  }
}

/** The informer cache still shows an Endpoints version this controller already replaced. */
export class StaleCacheError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StaleCacheError';
  }
}
