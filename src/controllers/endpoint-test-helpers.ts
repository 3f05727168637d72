/**
 * Test fixtures shared by the Endpoints and EndpointSlice controller tests:
 * plain Service/Pod objects for the pure functions, and an in-process API
 * server with helpers to create pods and set their status like a kubelet.
 */
import type { KObject } from '../api/types.js';
import type { Rest } from '../apiserver/rest.js';
import type { InProcessClient } from '../client/in-process.js';
import { InformerFactory } from '../client/informer.js';
import type { ResourceRef } from '../client/interface.js';
import type { MemoryStore } from '../storage/memory.js';
import { createNamespace, type Poll, startInProcessApi, tryGet, waitFor } from '../testing/in-process.js';
import { NODES, PODS, SERVICES } from './util/resources.js';

export interface PodFixture {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  ip?: string;
  ips?: string[];
  ready?: boolean;
  readySince?: string;
  node?: string;
  hostname?: string;
  subdomain?: string;
  phase?: string;
  terminating?: boolean;
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
}

/** A pod as the API would return it (uid derived from the name). */
export function pod(f: PodFixture): KObject {
  const ips = f.ips ?? (f.ip ? [f.ip] : []);
  const status: Record<string, unknown> = { phase: f.phase ?? 'Running' };
  if (ips.length > 0) {
    status.podIP = ips[0];
    status.podIPs = ips.map((ip) => ({ ip }));
  }
  status.conditions = [
    {
      type: 'Ready',
      status: f.ready === false ? 'False' : 'True',
      lastTransitionTime: f.readySince ?? '2024-01-01T00:00:10Z',
    },
  ];
  const spec: Record<string, unknown> = {
    nodeName: f.node ?? 'node-1',
    containers: [{ name: 'c', image: 'nginx', ports: f.ports ?? [] }],
  };
  if (f.hostname) spec.hostname = f.hostname;
  if (f.subdomain) spec.subdomain = f.subdomain;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: f.name,
      namespace: f.namespace ?? 'default',
      uid: `uid-${f.name}`,
      resourceVersion: '1',
      labels: f.labels ?? { app: 'web' },
      ...(f.terminating ? { deletionTimestamp: '2024-01-01T00:01:00Z' } : {}),
    },
    spec,
    status,
  };
}

export interface ServiceFixture {
  name: string;
  namespace?: string;
  selector?: Record<string, string> | null;
  headless?: boolean;
  ports?: Array<{
    name?: string;
    port: number;
    targetPort?: number | string;
    protocol?: string;
    appProtocol?: string;
  }>;
  publishNotReadyAddresses?: boolean;
  labels?: Record<string, string>;
  type?: string;
  trafficDistribution?: string;
}

/** A Service as the API would return it (defaults applied). */
export function service(f: ServiceFixture): KObject {
  const spec: Record<string, unknown> = {
    type: f.type ?? 'ClusterIP',
    clusterIP: f.headless ? 'None' : '10.96.0.10',
    clusterIPs: [f.headless ? 'None' : '10.96.0.10'],
    ipFamilies: ['IPv4'],
    ports: (f.ports ?? [{ port: 80, targetPort: 8080 }]).map((p) => ({
      protocol: 'TCP',
      targetPort: p.port,
      ...p,
    })),
  };
  if (f.selector !== null) spec.selector = f.selector ?? { app: 'web' };
  if (f.publishNotReadyAddresses) spec.publishNotReadyAddresses = true;
  if (f.trafficDistribution) spec.trafficDistribution = f.trafficDistribution;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: f.name,
      namespace: f.namespace ?? 'default',
      uid: `uid-svc-${f.name}`,
      creationTimestamp: '2024-01-01T00:00:00Z',
      ...(f.labels ? { labels: f.labels } : {}),
    },
    spec,
  };
}

export interface ApiEnv {
  rest: Rest;
  client: InProcessClient;
  store: MemoryStore;
  informers: InformerFactory;
  ns(name: string): Promise<void>;
  node(name: string, zone?: string): Promise<KObject>;
  /** Creates a Service (ports default to 80 → 8080). */
  svc(ns: string, f: Omit<ServiceFixture, 'namespace'> & { clusterIP?: string }): Promise<KObject>;
  /** Creates a pod bound to `node` and, when `ip` is given, sets its IP and Ready condition. */
  createPod(ns: string, f: Omit<PodFixture, 'namespace'>): Promise<KObject>;
  /** Sets podIP and the Ready condition through the status subresource. */
  setStatus(ns: string, name: string, s: { ip?: string; ready?: boolean; phase?: string }): Promise<KObject>;
  tryGet(res: ResourceRef, ns: string, name: string): Promise<KObject | undefined>;
  close(): Promise<void>;
}

export async function apiEnv(): Promise<ApiEnv> {
  const { rest, store, client } = await startInProcessApi();
  const informers = new InformerFactory(client);
  const setStatus: ApiEnv['setStatus'] = async (ns, name, s) => {
    const cur = await client.get(PODS, ns, name);
    const status: Record<string, unknown> = { ...((cur.status as Record<string, unknown>) ?? {}) };
    status.phase = s.phase ?? 'Running';
    if (s.ip) {
      status.podIP = s.ip;
      status.podIPs = [{ ip: s.ip }];
    }
    if (s.ready !== undefined) {
      status.conditions = [
        { type: 'Ready', status: s.ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString() },
      ];
    }
    return client.update(PODS, ns, { ...cur, status }, { subresource: 'status' });
  };
  return {
    rest,
    client,
    store,
    informers,
    ns: (name) => createNamespace(client, name),
    node(name, zone) {
      return client.create(NODES, undefined, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: zone ? { 'topology.kubernetes.io/zone': zone } : {} },
      });
    },
    svc(ns, f) {
      const obj = service({ ...f, namespace: ns });
      delete obj.metadata.uid;
      delete obj.metadata.creationTimestamp;
      const spec = obj.spec as Record<string, unknown>;
      delete spec.clusterIPs;
      if (!f.headless) spec.clusterIP = f.clusterIP ?? '';
      return client.create(SERVICES, ns, obj);
    },
    async createPod(ns, f) {
      const p = pod({ ...f, namespace: ns });
      delete p.metadata.uid;
      delete p.metadata.resourceVersion;
      delete p.metadata.deletionTimestamp;
      delete p.status;
      const created = await client.create(PODS, ns, p);
      if (!f.ip && f.phase === undefined) return created;
      return setStatus(ns, f.name, { ip: f.ip, ready: f.ready ?? true, phase: f.phase });
    },
    setStatus,
    tryGet: (res, ns, name) => tryGet(client, res, ns, name),
    async close() {
      await informers.stop();
      await store.close();
    },
  };
}

/**
 * A StatefulSet's headless Service `db` (port pg 5432, selector app=db) and
 * its pods db-0, db-1, db-2 (hostname db-<i>, subdomain db, IP 10.1.0.<i+1>);
 * db-0 and db-1 are Ready, db-2 is not.
 */
export async function headlessStatefulSet(e: ApiEnv, ns: string): Promise<void> {
  await e.svc(ns, {
    name: 'db',
    headless: true,
    selector: { app: 'db' },
    ports: [{ name: 'pg', port: 5432 }],
  });
  for (let i = 0; i < 3; i++) {
    await e.createPod(ns, {
      name: `db-${i}`,
      labels: { app: 'db' },
      hostname: `db-${i}`,
      subdomain: 'db',
      ip: `10.1.0.${i + 1}`,
      ready: i < 2,
    });
  }
}

/** Polls until `fn` returns something other than undefined/false (5 s limit). */
export function until<T>(fn: Poll<T>, what = 'condition', timeoutMs = 5000): Promise<T> {
  return waitFor(fn, { what, timeoutMs, intervalMs: 10 });
}
