/**
 * What the service proxy programs, computed from Services and EndpointSlices
 * as kube-proxy's ServiceChangeTracker and EndpointSliceCache do (pure; no I/O):
 * one entry per IPv4 cluster IP and Service port (TCP or UDP) of every Service
 * that has a cluster IP (ClusterIP, NodePort and LoadBalancer types; headless
 * and ExternalName Services are ignored), with the endpoints traffic may go to.
 *
 * Endpoints come from the IPv4 EndpointSlices labelled
 * `kubernetes.io/service-name: <service>` in the Service's namespace. A slice
 * port matches a Service port by name (and protocol), which resolves named
 * target ports per pod: the slice already holds the number. Only an endpoint's
 * first address is used. Ready endpoints (`conditions.ready` true or unset) are
 * used; when there are none, endpoints that are serving and terminating are
 * (upstream's ProxyTerminatingEndpoints fallback). Traffic policies are not
 * looked at: this proxy runs a single node holding every endpoint.
 */
import { isObject, type KObject } from '../../api/types.js';

/** The EndpointSlice label naming the Service (discovery.LabelServiceName). */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';

/** Default ClientIP affinity timeout (core/v1 DefaultClientIPServiceAffinitySeconds, 3 hours). */
export const DEFAULT_AFFINITY_SECONDS = 10_800;

export type Protocol = 'TCP' | 'UDP';

export interface Endpoint {
  ip: string;
  port: number;
}

/** One Service port on one cluster IP, and where its traffic goes. */
export interface ServicePortRule {
  namespace: string;
  /** The Service's name. */
  service: string;
  /** The Service port's name ("" when unnamed). */
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  /** Set for NodePort and LoadBalancer Services. */
  nodePort?: number;
  /** ClientIP session affinity timeout in seconds, when the Service asks for it. */
  affinitySeconds?: number;
  /** Where connections go, sorted by IP then port, without duplicates; empty: rejected. */
  endpoints: Endpoint[];
}

interface EndpointState {
  ready: boolean;
  servingTerminating: boolean;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Whether `s` is a dotted-quad IPv4 address. */
export function isIPv4(s: unknown): s is string {
  return typeof s === 'string' && IPV4.test(s);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** IPv4 cluster IPs of a Service that gets virtual IPs (none for headless, ExternalName or IPv6-only). */
export function serviceClusterIPs(svc: KObject): string[] {
  const spec = isObject(svc.spec) ? svc.spec : {};
  if (spec.type === 'ExternalName') return [];
  const primary = str(spec.clusterIP);
  if (primary === '' || primary === 'None') return [];
  const all = Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 0 ? spec.clusterIPs : [primary];
  return [...new Set(all.filter(isIPv4))];
}

function affinitySeconds(spec: Record<string, unknown>): number | undefined {
  if (spec.sessionAffinity !== 'ClientIP') return undefined;
  const cfg = isObject(spec.sessionAffinityConfig) ? spec.sessionAffinityConfig : {};
  const ip = isObject(cfg.clientIP) ? cfg.clientIP : {};
  const t = ip.timeoutSeconds;
  return typeof t === 'number' && Number.isInteger(t) && t > 0 ? t : DEFAULT_AFFINITY_SECONDS;
}

/** "ns/svc" → port key ("name/PROTOCOL") → "ip:port" → state, from the IPv4 slices. */
function indexSlices(slices: readonly KObject[]): Map<string, Map<string, Map<string, EndpointState>>> {
  const out = new Map<string, Map<string, Map<string, EndpointState>>>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    const svc = slice.metadata.labels?.[LABEL_SERVICE_NAME];
    if (!svc) continue;
    const key = `${slice.metadata.namespace ?? ''}/${svc}`;
    let byPort = out.get(key);
    if (!byPort) {
      byPort = new Map();
      out.set(key, byPort);
    }
    const ports = Array.isArray(slice.ports) ? slice.ports.filter(isObject) : [];
    const endpoints = Array.isArray(slice.endpoints) ? slice.endpoints.filter(isObject) : [];
    for (const p of ports) {
      if (typeof p.port !== 'number') continue;
      const portKey = `${str(p.name)}/${str(p.protocol) || 'TCP'}`;
      let eps = byPort.get(portKey);
      if (!eps) {
        eps = new Map();
        byPort.set(portKey, eps);
      }
      for (const e of endpoints) {
        const ip = Array.isArray(e.addresses) ? e.addresses[0] : undefined;
        if (!isIPv4(ip)) continue;
        const c = isObject(e.conditions) ? e.conditions : {};
        // Unset conditions mean ready/serving, not terminating (discovery/v1 semantics).
        const ready = c.ready !== false;
        const serving = typeof c.serving === 'boolean' ? c.serving : ready;
        const terminating = c.terminating === true;
        const id = `${ip}:${p.port}`;
        const prev = eps.get(id);
        eps.set(id, {
          ready: ready || (prev?.ready ?? false),
          servingTerminating: (serving && terminating) || (prev?.servingTerminating ?? false),
        });
      }
    }
  }
  return out;
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  const ai = a.ip.split('.').map(Number);
  const bi = b.ip.split('.').map(Number);
  for (let i = 0; i < 4; i++) {
    const d = (ai[i] ?? 0) - (bi[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.port - b.port;
}

function usableEndpoints(states: Map<string, EndpointState> | undefined): Endpoint[] {
  if (!states) return [];
  const pick = (want: (s: EndpointState) => boolean): Endpoint[] =>
    [...states]
      .filter(([, s]) => want(s))
      .map(([id]) => {
        const i = id.lastIndexOf(':');
        return { ip: id.slice(0, i), port: Number(id.slice(i + 1)) };
      })
      .sort(compareEndpoints);
  const ready = pick((s) => s.ready);
  return ready.length > 0 ? ready : pick((s) => s.servingTerminating);
}

/**
 * The proxy's view of the cluster: one rule per Service port and cluster IP,
 * sorted by namespace, Service, cluster IP, port name and protocol, so equal
 * inputs always give equal output.
 */
export function buildProxyModel(services: readonly KObject[], slices: readonly KObject[]): ServicePortRule[] {
  const index = indexSlices(slices);
  const out: ServicePortRule[] = [];
  for (const svc of services) {
    const ips = serviceClusterIPs(svc);
    if (ips.length === 0) continue;
    const spec = isObject(svc.spec) ? svc.spec : {};
    const namespace = svc.metadata.namespace ?? '';
    const service = svc.metadata.name ?? '';
    const byPort = index.get(`${namespace}/${service}`);
    const affinity = affinitySeconds(spec);
    const withNodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
    for (const p of Array.isArray(spec.ports) ? spec.ports.filter(isObject) : []) {
      const protocol = str(p.protocol) || 'TCP';
      if ((protocol !== 'TCP' && protocol !== 'UDP') || typeof p.port !== 'number') continue;
      const portName = str(p.name);
      const endpoints = usableEndpoints(byPort?.get(`${portName}/${protocol}`));
      for (const clusterIP of ips) {
        const rule: ServicePortRule = {
          namespace,
          service,
          portName,
          protocol,
          clusterIP,
          port: p.port,
          endpoints,
        };
        if (withNodePorts && typeof p.nodePort === 'number' && p.nodePort > 0) rule.nodePort = p.nodePort;
        if (affinity !== undefined) rule.affinitySeconds = affinity;
        out.push(rule);
      }
    }
  }
  const key = (r: ServicePortRule) =>
    [r.namespace, r.service, r.clusterIP, r.portName, r.protocol, String(r.port).padStart(5, '0')].join(
      '\u0000',
    );
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
