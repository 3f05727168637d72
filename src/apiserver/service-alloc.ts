/**
 * Service address allocation, as upstream's ClusterIP and NodePort allocators do
 * it: a free address from the service CIDR (10.96.0.0/12, 10.96.0.1 is the
 * `kubernetes` Service) and free node ports from 30000-32767.
 */
import { invalid } from '../api/errors.js';
import { isObject, type KObject } from '../api/types.js';
import type { ResourceDef } from '../registry/types.js';
import type { Rest } from './rest.js';

const CIDR_BASE = (10 << 24) | (96 << 16); // 10.96.0.0
const CIDR_SIZE = 1 << 20; // /12
const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

function ipString(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

type Spec = Record<string, unknown>;

function specOf(o: KObject): Spec {
  if (!isObject(o.spec)) o.spec = {};
  return o.spec as Spec;
}

function portsOf(spec: Spec): Record<string, unknown>[] {
  return Array.isArray(spec.ports) ? (spec.ports.filter(isObject) as Record<string, unknown>[]) : [];
}

export async function allocateServiceAddresses(def: ResourceDef, svc: KObject, rest: Rest): Promise<void> {
  const spec = specOf(svc);
  const type = typeof spec.type === 'string' ? spec.type : 'ClusterIP';
  if (type === 'ExternalName') return;
  const needsIp = spec.clusterIP === undefined || spec.clusterIP === '';
  const needsPorts =
    (type === 'NodePort' || type === 'LoadBalancer') && portsOf(spec).some((p) => !p.nodePort);
  if (!needsIp && !needsPorts) return;
  const existing = await rest.list(def, undefined);
  const usedIps = new Set<string>();
  const usedPorts = new Set<number>();
  for (const s of existing.items) {
    const sp = isObject(s.spec) ? s.spec : {};
    if (typeof sp.clusterIP === 'string') usedIps.add(sp.clusterIP);
    for (const p of portsOf(sp)) if (typeof p.nodePort === 'number') usedPorts.add(p.nodePort);
  }
  if (needsIp) {
    let ip: string | undefined;
    for (let attempt = 0; attempt < 1000 && !ip; attempt++) {
      const candidate = ipString(CIDR_BASE + 2 + Math.floor(Math.random() * (CIDR_SIZE - 3)));
      if (!usedIps.has(candidate)) ip = candidate;
    }
    if (!ip) {
      throw invalid('Service', '', svc.metadata.name ?? '', [
        { type: 'FieldValueInvalid', field: 'spec.clusterIPs', value: [], detail: 'range is full' },
      ]);
    }
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
  } else if (spec.clusterIP === 'None') {
    spec.clusterIPs ??= ['None'];
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
  }
  if (needsPorts) {
    for (const p of portsOf(spec)) {
      if (p.nodePort) continue;
      for (let attempt = 0; attempt < 5000; attempt++) {
        const candidate = NODE_PORT_MIN + Math.floor(Math.random() * (NODE_PORT_MAX - NODE_PORT_MIN + 1));
        if (!usedPorts.has(candidate)) {
          usedPorts.add(candidate);
          p.nodePort = candidate;
          break;
        }
      }
    }
  }
}

/** On update, a client that omits allocated values keeps them (as `kubectl replace` expects). */
export function keepServiceAddresses(next: KObject, current: KObject): void {
  const spec = specOf(next);
  const old = isObject(current.spec) ? (current.spec as Spec) : {};
  for (const k of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy'] as const) {
    if ((spec[k] === undefined || spec[k] === '') && old[k] !== undefined) spec[k] = old[k];
  }
  const oldPorts = portsOf(old);
  for (const p of portsOf(spec)) {
    if (p.nodePort) continue;
    const match = oldPorts.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
    if (match?.nodePort && (spec.type === 'NodePort' || spec.type === 'LoadBalancer'))
      p.nodePort = match.nodePort;
  }
}
