/**
 * Service environment variables, as the kubelet gives every container (upstream
 * pkg/kubelet/kubelet_pods.go getServiceEnvVarMap and pkg/kubelet/envvars FromServices).
 *
 * Which services: the `kubernetes` Service of the `default` namespace always (in-cluster clients such as
 * client-go's InClusterConfig find the API server through KUBERNETES_SERVICE_HOST/_PORT), and, when the
 * pod's `enableServiceLinks` is not false, every Service of the pod's own namespace (one of them named
 * `kubernetes` replaces the default one). Services without a cluster IP (headless, ExternalName) give
 * nothing.
 *
 * Per service, named after the service upper-cased with `-` → `_`: `<NAME>_SERVICE_HOST`,
 * `<NAME>_SERVICE_PORT` (the first port), `<NAME>_SERVICE_PORT_<PORTNAME>` per named port, and the Docker
 * link variables `<NAME>_PORT=tcp://ip:port` (first port) and, per port,
 * `<NAME>_PORT_<port>_<PROTO>` (`tcp://ip:port`) with `_PROTO`, `_PORT` and `_ADDR`.
 */

import { rec } from '../../api/json.js';
import { isObject, type KObject } from '../../api/types.js';

export interface EnvVar {
  name: string;
  value: string;
}

/** Services always exposed to every pod, from the `default` namespace (upstream masterServices). */
const MASTER_SERVICES = new Set(['kubernetes']);

/** Upstream IsServiceIPSet: a cluster IP that is neither empty nor `None`. */
function clusterIp(svc: KObject): string | undefined {
  const ip = rec(svc.spec).clusterIP;
  return typeof ip === 'string' && ip !== '' && ip !== 'None' ? ip : undefined;
}

/** Upstream makeEnvVariableName: upper case, `-` → `_`. */
export function envVarName(name: string): string {
  return name.replaceAll('-', '_').toUpperCase();
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The variables of one service (upstream FromServices for a single service); none without a cluster IP. */
export function serviceVars(svc: KObject): EnvVar[] {
  const ip = clusterIp(svc);
  const ports = (Array.isArray(rec(svc.spec).ports) ? (rec(svc.spec).ports as unknown[]) : []).filter(
    isObject,
  );
  const first = ports[0];
  if (!ip || !first) return [];
  const prefix = envVarName(svc.metadata.name ?? '');
  const out: EnvVar[] = [
    { name: `${prefix}_SERVICE_HOST`, value: ip },
    { name: `${prefix}_SERVICE_PORT`, value: String(first.port) },
  ];
  for (const p of ports) {
    if (typeof p.name === 'string' && p.name !== '') {
      out.push({ name: `${prefix}_SERVICE_PORT_${envVarName(p.name)}`, value: String(p.port) });
    }
  }
  ports.forEach((p, i) => {
    const proto = typeof p.protocol === 'string' && p.protocol !== '' ? p.protocol : 'TCP';
    const url = `${proto.toLowerCase()}://${hostPort(ip, Number(p.port))}`;
    if (i === 0) out.push({ name: `${prefix}_PORT`, value: url });
    const pp = `${prefix}_PORT_${String(p.port)}_${proto.toUpperCase()}`;
    out.push(
      { name: pp, value: url },
      { name: `${pp}_PROTO`, value: proto.toLowerCase() },
      { name: `${pp}_PORT`, value: String(p.port) },
      { name: `${pp}_ADDR`, value: ip },
    );
  });
  return out;
}

/**
 * The service variables a pod's containers get, from every Service the agent knows (any namespace; the
 * ones that do not apply are ignored). Services are taken in name order so the result is stable.
 */
export function podServiceEnv(pod: KObject, services: Iterable<KObject>): EnvVar[] {
  const ns = pod.metadata.namespace ?? 'default';
  const links = rec(pod.spec).enableServiceLinks !== false;
  const chosen = new Map<string, KObject>();
  for (const svc of services) {
    const name = svc.metadata.name ?? '';
    if (!clusterIp(svc)) continue;
    const svcNs = svc.metadata.namespace ?? '';
    if (svcNs === 'default' && MASTER_SERVICES.has(name)) {
      // The pod's own namespace's service of the same name wins (when ns is default, it is this one).
      if (!chosen.has(name)) chosen.set(name, svc);
    } else if (svcNs === ns && links) {
      chosen.set(name, svc);
    }
  }
  return [...chosen.keys()].sort().flatMap((name) => serviceVars(chosen.get(name)!));
}
