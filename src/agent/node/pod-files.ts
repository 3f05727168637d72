/**
 * The files the kubelet (and containerd) give every pod: the kubelet-managed /etc/hosts, /etc/hostname and
 * /etc/resolv.conf following the pod's dnsPolicy/dnsConfig, and container environment resolution
 * (value, valueFrom fieldRef/resourceFieldRef/configMapKeyRef/secretKeyRef, envFrom, `$(VAR)` expansion,
 * then the service variables of service-env.ts).
 */

import { type Json, list, rec, str } from '../../api/json.js';
import type { KObject } from '../../api/types.js';
import { type Allocatable, DownwardApiError, podFieldValue, resourceFieldValue } from './downward.js';

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** The pod's hostname: spec.hostname or the pod name, at most 63 characters (kubelet GeneratePodHostNameAndDomain). */
export function podHostname(pod: KObject): { hostname: string; domain: string } {
  const spec = rec(pod.spec);
  let hostname = str(spec.hostname) || (pod.metadata.name ?? '');
  if (hostname.length > 63) hostname = hostname.slice(0, 63).replace(/[-.]+$/, '');
  const sub = str(spec.subdomain);
  return { hostname, domain: sub ? `${sub}.${pod.metadata.namespace ?? 'default'}.svc` : '' };
}

/** The kubelet-managed /etc/hosts (managedHostsHeader + pod IP line + HostAliases). */
export function hostsFile(pod: KObject, ip: string, clusterDomain = DEFAULT_CLUSTER_DOMAIN): string {
  const { hostname, domain } = podHostname(pod);
  let out =
    '# Kubernetes-managed hosts file.\n' +
    '127.0.0.1\tlocalhost\n' +
    '::1\tlocalhost ip6-localhost ip6-loopback\n' +
    'fe00::0\tip6-localnet\n' +
    'fe00::0\tip6-mcastprefix\n' +
    'fe00::1\tip6-allnodes\n' +
    'fe00::2\tip6-allrouters\n';
  out += domain ? `${ip}\t${hostname}.${domain}.${clusterDomain}\t${hostname}\n` : `${ip}\t${hostname}\n`;
  const aliases = list(rec(pod.spec).hostAliases);
  if (aliases.length > 0) {
    out += '\n# Entries added by HostAliases.\n';
    for (const a of aliases) {
      const names = Array.isArray(a.hostnames) ? a.hostnames.map(String) : [];
      out += `${str(a.ip)}\t${names.join('\t')}\n`;
    }
  }
  return out;
}

/**
 * /etc/resolv.conf as the kubelet builds it for dnsPolicy ClusterFirst (the default): the cluster DNS
 * server, `search <ns>.svc.<domain> svc.<domain> <domain>`, `options ndots:5`; `None` uses dnsConfig
 * only; `Default` copies the host's file. dnsConfig nameservers/searches/options are merged in.
 */
export function resolvConf(
  pod: KObject,
  opts: { dnsServer?: string; clusterDomain?: string; hostResolvConf?: string },
): string {
  const spec = rec(pod.spec);
  const domain = opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  const policy = str(spec.dnsPolicy) || 'ClusterFirst';
  const ns = pod.metadata.namespace ?? 'default';
  let servers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  const clusterFirst =
    policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && spec.hostNetwork !== true);
  if (clusterFirst && opts.dnsServer) {
    servers = [opts.dnsServer];
    searches = [`${ns}.svc.${domain}`, `svc.${domain}`, domain];
    options = ['ndots:5'];
  } else if (policy !== 'None') {
    for (const line of (opts.hostResolvConf ?? '').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[0] === 'nameserver' && f[1]) servers.push(f[1]);
      else if (f[0] === 'search') searches = f.slice(1);
      else if (f[0] === 'options') options.push(...f.slice(1));
    }
  }
  const cfg = rec(spec.dnsConfig);
  for (const s of Array.isArray(cfg.nameservers) ? cfg.nameservers.map(String) : []) {
    if (!servers.includes(s)) servers.push(s);
  }
  for (const s of Array.isArray(cfg.searches) ? cfg.searches.map(String) : []) {
    if (!searches.includes(s)) searches.push(s);
  }
  for (const o of list(cfg.options)) {
    const name = str(o.name);
    if (!name) continue;
    const v = o.value === undefined || o.value === null ? name : `${name}:${String(o.value)}`;
    options = options.filter((x) => x.split(':')[0] !== name);
    options.push(v);
  }
  let out = '';
  for (const s of servers.slice(0, 3)) out += `nameserver ${s}\n`;
  if (searches.length > 0) out += `search ${searches.slice(0, 32).join(' ')}\n`;
  if (options.length > 0) out += `options ${options.join(' ')}\n`;
  return out;
}

/** Thrown when a container's env cannot be built (kubelet: CreateContainerConfigError). */
export class ContainerConfigError extends Error {}

export interface EnvSources {
  podIP: string;
  hostIP: string;
  nodeName: string;
  /** The node's allocatable resources: resourceFieldRef of an unset limit resolves to these. */
  allocatable?: Allocatable;
  /**
   * The pod's service variables (service-env.ts podServiceEnv): appended after the container's own
   * variables, which win over them, and usable in `$(VAR)` references.
   */
  serviceEnv?: readonly { name: string; value: string }[];
  /** Reads a ConfigMap or Secret's key→value data (secrets decoded); undefined when it does not exist. */
  readData(
    kind: 'configmap' | 'secret',
    namespace: string,
    name: string,
  ): Promise<Record<string, string> | undefined>;
}

/** Upstream expansion.Expand: `$(VAR)` from earlier vars, `$$` → `$`, unknown references stay as written. */
export function expandVars(input: string, vars: Map<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch === '$' && i + 1 < input.length) {
      const next = input[i + 1];
      if (next === '$') {
        out += '$';
        i++;
        continue;
      }
      if (next === '(') {
        const end = input.indexOf(')', i + 2);
        if (end > 0) {
          const name = input.slice(i + 2, end);
          const v = vars.get(name);
          out += v ?? `$(${name})`;
          i = end;
          continue;
        }
      }
    }
    out += ch;
  }
  return out;
}

/**
 * Upstream ExpandContainerCommandAndArgs: `$(VAR)` in `command` and `args` expands from the container's
 * final environment (unknown references stay as written, `$$` is a literal `$`).
 */
export function expandCommandAndArgs(container: Json, env: readonly { name: string; value: string }[]): Json {
  const vars = new Map(env.map((e) => [e.name, e.value]));
  const out: Json = { ...container };
  for (const key of ['command', 'args'] as const) {
    const v = container[key];
    if (Array.isArray(v)) out[key] = v.map((x) => (typeof x === 'string' ? expandVars(x, vars) : x));
  }
  return out;
}

/**
 * Upstream ExpandContainerVolumeMounts: `$(VAR)` in a volumeMount's subPathExpr from the container's env;
 * a variable that is unset or empty fails with `missing value for A, B` (a CreateContainerConfigError).
 */
export function expandSubPathExpr(expr: string, env: readonly { name: string; value: string }[]): string {
  const missing = new Set<string>();
  class Lookup extends Map<string, string> {
    override get(key: string): string {
      const v = super.get(key);
      if (!v) missing.add(key);
      return v ?? '';
    }
  }
  const out = expandVars(expr, new Lookup(env.map((e) => [e.name, e.value])));
  if (missing.size > 0) throw new ContainerConfigError(`missing value for ${[...missing].sort().join(', ')}`);
  return out;
}

function fieldRefValue(pod: KObject, path: string, src: EnvSources): string {
  try {
    return podFieldValue(pod, path, src);
  } catch (e) {
    if (e instanceof DownwardApiError) throw new ContainerConfigError(e.message);
    throw e;
  }
}

/**
 * The container's environment as the kubelet makes it: its own variables in pod-spec order (envFrom
 * first, then env), then the service variables it does not set itself. `$(VAR)` in an env value refers
 * to the container's earlier variables, else to a service variable (upstream MappingFuncFor).
 */
export async function containerEnv(
  pod: KObject,
  container: Json,
  src: EnvSources,
): Promise<{ name: string; value: string }[]> {
  const ns = pod.metadata.namespace ?? 'default';
  const vars = new Map<string, string>();
  const serviceVars = new Map((src.serviceEnv ?? []).map((e) => [e.name, e.value]));
  class Lookup extends Map<string, string> {
    override get(key: string): string | undefined {
      return vars.get(key) ?? serviceVars.get(key);
    }
  }
  const lookup = new Lookup();
  const order: string[] = [];
  const set = (k: string, v: string): void => {
    if (!vars.has(k)) order.push(k);
    vars.set(k, v);
  };
  for (const ef of list(container.envFrom)) {
    const cm = rec(ef.configMapRef);
    const sec = rec(ef.secretRef);
    const kind = ef.configMapRef ? 'configmap' : ef.secretRef ? 'secret' : undefined;
    if (!kind) continue;
    const ref = kind === 'configmap' ? cm : sec;
    const data = await src.readData(kind, ns, str(ref.name));
    if (!data) {
      if (ref.optional === true) continue;
      throw new ContainerConfigError(`${kind} "${str(ref.name)}" not found`);
    }
    const prefix = str(ef.prefix);
    for (const [k, v] of Object.entries(data)) set(prefix + k, v);
  }
  for (const e of list(container.env)) {
    const name = str(e.name);
    if (!name) continue;
    if (e.valueFrom === undefined) {
      set(name, expandVars(str(e.value), lookup));
      continue;
    }
    const vf = rec(e.valueFrom);
    if (vf.fieldRef) {
      set(name, fieldRefValue(pod, str(rec(vf.fieldRef).fieldPath), src));
    } else if (vf.configMapKeyRef || vf.secretKeyRef) {
      const kind = vf.configMapKeyRef ? 'configmap' : 'secret';
      const ref = rec(vf.configMapKeyRef ?? vf.secretKeyRef);
      const data = await src.readData(kind, ns, str(ref.name));
      const key = str(ref.key);
      if (!data) {
        if (ref.optional === true) continue;
        throw new ContainerConfigError(`${kind} "${str(ref.name)}" not found`);
      }
      const v = data[key];
      if (v === undefined) {
        if (ref.optional === true) continue;
        throw new ContainerConfigError(
          `couldn't find key ${key} in ${kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${ns}/${str(ref.name)}`,
        );
      }
      set(name, v);
    } else if (vf.resourceFieldRef) {
      try {
        set(name, resourceFieldValue(rec(vf.resourceFieldRef), container, src.allocatable));
      } catch (e) {
        if (e instanceof DownwardApiError) throw new ContainerConfigError(e.message);
        throw e;
      }
    }
  }
  const out = order.map((k) => ({ name: k, value: vars.get(k) ?? '' }));
  for (const [name, value] of serviceVars) if (!vars.has(name)) out.push({ name, value });
  return out;
}
