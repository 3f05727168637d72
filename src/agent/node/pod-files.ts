/**
 * The files the kubelet (and containerd) give every pod: the kubelet-managed /etc/hosts, /etc/hostname and
 * /etc/resolv.conf following the pod's dnsPolicy/dnsConfig, and container environment resolution
 * (value, valueFrom fieldRef/configMapKeyRef/secretKeyRef, envFrom, `$(VAR)` expansion).
 */
import { isObject, type KObject } from '../../api/types.js';

type Json = Record<string, unknown>;

function rec(v: unknown): Json {
  return isObject(v) ? v : {};
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

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

function fieldRefValue(pod: KObject, path: string, src: EnvSources): string {
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path);
  if (m) {
    const map = m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[m[2] ?? ''] ?? '';
  }
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return src.nodeName;
    case 'spec.serviceAccountName':
      return str(rec(pod.spec).serviceAccountName);
    case 'status.podIP':
    case 'status.podIPs':
      return src.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return src.hostIP;
    default:
      throw new ContainerConfigError(`unsupported fieldRef ${path}`);
  }
}

/** The container's environment in pod-spec order (envFrom first, then env), as the kubelet makes it. */
export async function containerEnv(
  pod: KObject,
  container: Json,
  src: EnvSources,
): Promise<{ name: string; value: string }[]> {
  const ns = pod.metadata.namespace ?? 'default';
  const vars = new Map<string, string>();
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
      set(name, expandVars(str(e.value), vars));
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
      // Limits are not tracked per node yet: report the container's declared value or 0.
      const r = rec(vf.resourceFieldRef);
      const [section, res] = str(r.resource).split('.');
      const val = rec(rec(container.resources)[section === 'requests' ? 'requests' : 'limits'])[res ?? ''];
      set(name, typeof val === 'string' ? val : '0');
    }
  }
  return order.map((k) => ({ name: k, value: vars.get(k) ?? '' }));
}
