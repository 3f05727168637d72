/**
 * The cluster DNS data model: Services, EndpointSlices, Namespaces (and, in
 * `pods verified` mode, Pods) kept in indexes keyed by name and by IP, and the
 * answer to one question computed from them, following the Kubernetes DNS
 * specification 1.1.0 (kubernetes/dns docs/specification.md) the way the
 * CoreDNS `kubernetes` plugin answers it:
 *
 * - `<svc>.<ns>.svc.<zone>`: the cluster IPs (ClusterIP Service), the ready
 *   endpoint IPs (headless; NXDOMAIN when there are none), a CNAME (ExternalName).
 * - `<host>.<svc>.<ns>.svc.<zone>`: the endpoint's IPs, where `<host>` is the
 *   endpoint's `hostname` or its IP with `.`/`:` replaced by `-`.
 * - `_<port>._<proto>.<svc>.<ns>.svc.<zone>` SRV (a bare service name returns
 *   every port), priority 0, weight 100/n, targets in Additional.
 * - `<a-b-c-d>.<ns>.pod.<zone>` (`pods insecure`: any IP-shaped name in an
 *   existing namespace; `pods verified`: only IPs of pods in that namespace).
 * - PTR for cluster IPs and ready endpoint IPs; `dns-version.<zone>` TXT.
 * - A name that exists with no record of the asked type is NOERROR/NODATA;
 *   a missing namespace, service, endpoint or port is NXDOMAIN; both carry the
 *   zone's SOA in Authority. Reverse names that are not cluster IPs, and
 *   names outside the zone, are forwarded (CoreDNS `fallthrough in-addr.arpa ip6.arpa`).
 *
 * Every lookup is a few Map reads plus the size of the answer itself.
 */
import { isIP } from 'node:net';
import type { Answer } from 'dns-packet';
import { isObject, type KObject } from '../api/types.js';

/** The TXT answer of `dns-version.<zone>` (the spec's schema version). */
export const DNS_SCHEMA_VERSION = '1.1.0';
/** CoreDNS answers dns-version with this TTL. */
const DNS_VERSION_TTL = 28800;

export type PodMode = 'insecure' | 'verified' | 'disabled';

export interface IndexOptions {
  clusterDomain?: string;
  ttl?: number;
  pods?: PodMode;
  /** Seconds since the epoch; the SOA serial is the time of the last change. */
  now?: () => number;
}

/** What to do with a question. */
export type Resolution =
  | {
      kind: 'answer';
      /** 0 NOERROR, 3 NXDOMAIN. */
      rcode: 0 | 3;
      answers: Answer[];
      authorities: Answer[];
      additionals: Answer[];
      /** An ExternalName target outside the zone: the server resolves it upstream and appends. */
      chase?: { name: string; type: 'A' | 'AAAA' };
    }
  | { kind: 'forward' };

interface PortInfo {
  name: string;
  port: number;
  protocol: string;
}

interface ServiceInfo {
  name: string;
  namespace: string;
  headless: boolean;
  clusterIPs: string[];
  externalName?: string;
  publishNotReady: boolean;
  ports: PortInfo[];
}

interface EndpointInfo {
  ips: string[];
  /** Lower-case DNS label: the hostname, or the first IP with separators as dashes. */
  host: string;
  ready: boolean;
}

interface SliceInfo {
  key: string;
  svcKey: string;
  namespace: string;
  service: string;
  ports: PortInfo[];
  endpoints: EndpointInfo[];
}

class ServiceEntry {
  svc: ServiceInfo | undefined;
  readonly slices = new Map<string, SliceInfo>();
  /** host label → slice key → number of endpoints in that slice with the label. */
  readonly hosts = new Map<string, Map<string, number>>();
}

/** A record produced by a service lookup, before it is turned into RRs of the asked type. */
type SvcRecord = { kind: 'cname'; target: string } | { kind: 'ip'; ip: string; port: number; target: string };

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (isObject(v) ? v : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Canonical text of an IP for index keys (IPv6 fully expanded, lower case). */
export function canonicalIp(ip: string): string {
  const v = isIP(ip);
  if (v === 4) return ip;
  if (v !== 6) return ip.toLowerCase();
  return expandIPv6(ip)
    .map((g) => g.toString(16).padStart(4, '0'))
    .join(':');
}

function expandIPv6(ip: string): number[] {
  let s = ip.toLowerCase();
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    // Embedded IPv4 (::ffff:1.2.3.4): rewrite the dotted tail as two hex groups.
    const p = last.split('.').map(Number);
    const hi = (((p[0] ?? 0) << 8) | (p[1] ?? 0)).toString(16);
    const lo = (((p[2] ?? 0) << 8) | (p[3] ?? 0)).toString(16);
    s = `${s.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const parse = (x: string): number[] => (x === '' ? [] : x.split(':').map((h) => Number.parseInt(h, 16)));
  const h = parse(head);
  if (rest === undefined) return h;
  const t = parse(rest);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** The IP a reverse name stands for (`4.3.2.1.in-addr.arpa` → 1.2.3.4), or undefined. */
export function ipFromReverse(name: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n.endsWith('.in-addr.arpa')) {
    const labels = n.slice(0, -'.in-addr.arpa'.length).split('.');
    if (labels.length !== 4 || !labels.every((l) => /^\d{1,3}$/.test(l) && Number(l) <= 255))
      return undefined;
    return labels.reverse().map(Number).join('.');
  }
  if (n.endsWith('.ip6.arpa')) {
    const labels = n.slice(0, -'.ip6.arpa'.length).split('.');
    if (labels.length !== 32 || !labels.every((l) => /^[0-9a-f]$/.test(l))) return undefined;
    const hex = labels.reverse().join('');
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return groups.join(':');
  }
  return undefined;
}

/** The reverse name of an IP (1.2.3.4 → 4.3.2.1.in-addr.arpa). */
export function reverseName(ip: string): string {
  if (isIP(ip) === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const hex = canonicalIp(ip).replace(/:/g, '');
  return `${hex.split('').reverse().join('.')}.ip6.arpa`;
}

/** CoreDNS's endpointHostname: the hostname, else the IP with `.`/`:` turned into `-`. */
export function endpointLabel(hostname: string | undefined, ip: string): string {
  if (hostname) return hostname.toLowerCase();
  return ip.toLowerCase().replace(/[.:]/g, '-');
}

function parsePorts(list: unknown): PortInfo[] {
  return arr(list).map((p) => {
    const r = rec(p);
    return {
      name: str(r.name),
      port: typeof r.port === 'number' ? r.port : -1,
      protocol: str(r.protocol) || 'TCP',
    };
  });
}

function addCount(m: Map<string, Map<string, number>>, k1: string, k2: string, d: number): void {
  let inner = m.get(k1);
  if (!inner) {
    if (d < 0) return;
    inner = new Map();
    m.set(k1, inner);
  }
  const n = (inner.get(k2) ?? 0) + d;
  if (n > 0) inner.set(k2, n);
  else inner.delete(k2);
  if (inner.size === 0) m.delete(k1);
}

export class ClusterDnsIndex {
  readonly zone: string;
  readonly ttl: number;
  readonly podMode: PodMode;
  private readonly now: () => number;
  private serial: number;
  private readonly namespaces = new Set<string>();
  /** "ns/svc" (lower case) → entry. */
  private readonly services = new Map<string, ServiceEntry>();
  /** slice "ns/name" → the service key it was indexed under. */
  private readonly sliceOwner = new Map<string, string>();
  /** canonical IP → service key → 1 (cluster IPs). */
  private readonly clusterIpIndex = new Map<string, Map<string, number>>();
  /** canonical IP → PTR target → count (ready endpoint IPs). */
  private readonly endpointIpIndex = new Map<string, Map<string, number>>();
  /** canonical IP → pod "ns/name" → 1 (pods verified mode). */
  private readonly podIpIndex = new Map<string, Map<string, number>>();
  private readonly podIps = new Map<string, { namespace: string; ips: string[] }>();

  constructor(opts: IndexOptions = {}) {
    this.zone = (opts.clusterDomain ?? 'cluster.local').toLowerCase().replace(/^\.|\.$/g, '');
    this.ttl = opts.ttl ?? 5;
    this.podMode = opts.pods ?? 'insecure';
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
    this.serial = this.now();
  }

  private touch(): void {
    this.serial = Math.max(this.serial, this.now());
  }

  // ---- updates ---------------------------------------------------------------------

  upsertNamespace(obj: KObject): void {
    this.namespaces.add((obj.metadata.name ?? '').toLowerCase());
    this.touch();
  }

  deleteNamespace(obj: KObject): void {
    this.namespaces.delete((obj.metadata.name ?? '').toLowerCase());
    this.touch();
  }

  private entry(key: string): ServiceEntry {
    let e = this.services.get(key);
    if (!e) {
      e = new ServiceEntry();
      this.services.set(key, e);
    }
    return e;
  }

  private gc(key: string): void {
    const e = this.services.get(key);
    if (e && !e.svc && e.slices.size === 0) this.services.delete(key);
  }

  upsertService(obj: KObject): void {
    this.deleteService(obj);
    const spec = rec(obj.spec);
    const name = (obj.metadata.name ?? '').toLowerCase();
    const namespace = (obj.metadata.namespace ?? '').toLowerCase();
    const type = str(spec.type) || 'ClusterIP';
    const ips = arr(spec.clusterIPs).map(str);
    if (ips.length === 0 && str(spec.clusterIP)) ips.push(str(spec.clusterIP));
    const info: ServiceInfo = {
      name,
      namespace,
      headless: str(spec.clusterIP) === 'None',
      clusterIPs: type === 'ExternalName' ? [] : ips.filter((ip) => isIP(ip) !== 0),
      publishNotReady: spec.publishNotReadyAddresses === true,
      ports: parsePorts(spec.ports),
    };
    if (type === 'ExternalName') info.externalName = str(spec.externalName).toLowerCase().replace(/\.$/, '');
    const key = `${namespace}/${name}`;
    this.entry(key).svc = info;
    for (const ip of info.clusterIPs) addCount(this.clusterIpIndex, canonicalIp(ip), key, 1);
    this.touch();
  }

  deleteService(obj: KObject): void {
    const key = `${(obj.metadata.namespace ?? '').toLowerCase()}/${(obj.metadata.name ?? '').toLowerCase()}`;
    const e = this.services.get(key);
    if (!e?.svc) return;
    for (const ip of e.svc.clusterIPs) addCount(this.clusterIpIndex, canonicalIp(ip), key, -1);
    e.svc = undefined;
    this.gc(key);
    this.touch();
  }

  upsertSlice(obj: KObject): void {
    this.deleteSlice(obj);
    const namespace = (obj.metadata.namespace ?? '').toLowerCase();
    const service = (obj.metadata.labels?.['kubernetes.io/service-name'] ?? '').toLowerCase();
    if (!service) return;
    const key = `${namespace}/${obj.metadata.name ?? ''}`;
    const svcKey = `${namespace}/${service}`;
    const endpoints: EndpointInfo[] = [];
    for (const raw of arr(obj.endpoints)) {
      const ep = rec(raw);
      const ips = arr(ep.addresses)
        .map(str)
        .filter((ip) => isIP(ip) !== 0);
      if (ips.length === 0) continue;
      // A nil `ready` means unknown, which consumers treat as ready (EndpointConditions docs).
      const ready = rec(ep.conditions).ready !== false;
      endpoints.push({ ips, host: endpointLabel(str(ep.hostname) || undefined, ips[0]!), ready });
    }
    const slice: SliceInfo = { key, svcKey, namespace, service, ports: parsePorts(obj.ports), endpoints };
    const e = this.entry(svcKey);
    e.slices.set(key, slice);
    this.sliceOwner.set(key, svcKey);
    for (const ep of endpoints) {
      addCount(e.hosts, ep.host, key, 1);
      if (ep.ready) {
        for (const ip of ep.ips)
          addCount(this.endpointIpIndex, canonicalIp(ip), this.epTarget(slice, ep, ip), 1);
      }
    }
    this.touch();
  }

  deleteSlice(obj: KObject): void {
    const key = `${(obj.metadata.namespace ?? '').toLowerCase()}/${obj.metadata.name ?? ''}`;
    const svcKey = this.sliceOwner.get(key);
    if (svcKey === undefined) return;
    this.sliceOwner.delete(key);
    const e = this.services.get(svcKey);
    const slice = e?.slices.get(key);
    if (!e || !slice) return;
    for (const ep of slice.endpoints) {
      addCount(e.hosts, ep.host, key, -1);
      if (ep.ready) {
        for (const ip of ep.ips)
          addCount(this.endpointIpIndex, canonicalIp(ip), this.epTarget(slice, ep, ip), -1);
      }
    }
    e.slices.delete(key);
    this.gc(svcKey);
    this.touch();
  }

  upsertPod(obj: KObject): void {
    this.deletePod(obj);
    const status = rec(obj.status);
    const ips = arr(status.podIPs)
      .map((p) => str(rec(p).ip))
      .filter((ip) => isIP(ip) !== 0);
    if (ips.length === 0 && isIP(str(status.podIP)) !== 0) ips.push(str(status.podIP));
    if (ips.length === 0) return;
    const namespace = (obj.metadata.namespace ?? '').toLowerCase();
    const key = `${namespace}/${obj.metadata.name ?? ''}`;
    this.podIps.set(key, { namespace, ips });
    for (const ip of ips) addCount(this.podIpIndex, canonicalIp(ip), key, 1);
  }

  deletePod(obj: KObject): void {
    const key = `${(obj.metadata.namespace ?? '').toLowerCase()}/${obj.metadata.name ?? ''}`;
    const p = this.podIps.get(key);
    if (!p) return;
    for (const ip of p.ips) addCount(this.podIpIndex, canonicalIp(ip), key, -1);
    this.podIps.delete(key);
  }

  private epTarget(slice: SliceInfo, ep: EndpointInfo, ip: string): string {
    return `${ep.host || endpointLabel(undefined, ip)}.${slice.service}.${slice.namespace}.svc.${this.zone}`;
  }

  // ---- queries ---------------------------------------------------------------------

  /** True when `name` is in the cluster zone (or is the zone). */
  inZone(name: string): boolean {
    const n = name.toLowerCase().replace(/\.$/, '');
    return n === this.zone || n.endsWith(`.${this.zone}`);
  }

  soa(): Answer {
    const ttl = Math.min(this.ttl, 300);
    return {
      name: this.zone,
      type: 'SOA',
      class: 'IN',
      ttl,
      data: {
        mname: `ns.dns.${this.zone}`,
        rname: `hostmaster.${this.zone}`,
        serial: this.serial >>> 0,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.ttl,
      },
    };
  }

  private negative(rcode: 0 | 3): Resolution {
    return { kind: 'answer', rcode, answers: [], authorities: [this.soa()], additionals: [] };
  }

  private ok(answers: Answer[], additionals: Answer[] = []): Resolution {
    if (answers.length === 0) return this.negative(0);
    return { kind: 'answer', rcode: 0, answers, authorities: [], additionals };
  }

  /** Answers one question. `qname` keeps the asker's case in the answers. */
  resolve(qname: string, qtype: string): Resolution {
    const owner = qname.replace(/\.$/, '');
    const name = owner.toLowerCase();
    if (ipFromReverse(name) !== undefined || name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa')) {
      return this.resolveReverse(owner, name, qtype);
    }
    if (!this.inZone(name)) return { kind: 'forward' };
    const base = name === this.zone ? '' : name.slice(0, -(this.zone.length + 1));
    if (base === '') {
      if (qtype === 'SOA') return this.ok([{ ...this.soa(), name: owner }]);
      if (qtype === 'NS') {
        return this.ok([
          { name: owner, type: 'NS', class: 'IN', ttl: this.ttl, data: `ns.dns.${this.zone}` },
        ]);
      }
      return this.negative(0);
    }
    if (base === 'dns-version') {
      if (qtype !== 'TXT') return this.negative(0);
      return this.ok([
        { name: owner, type: 'TXT', class: 'IN', ttl: DNS_VERSION_TTL, data: [DNS_SCHEMA_VERSION] },
      ]);
    }
    const segs = base.split('.');
    const podOrSvc = segs[segs.length - 1];
    if (podOrSvc !== 'svc' && podOrSvc !== 'pod') return this.negative(3);
    if (segs.length === 1) return this.negative(0);
    const namespace = segs[segs.length - 2]!;
    if (!this.namespaces.has(namespace)) return this.negative(3);
    if (segs.length === 2) return this.negative(0);
    if (podOrSvc === 'pod') return this.resolvePod(owner, segs, namespace, qtype);
    return this.resolveService(owner, segs, namespace, qtype);
  }

  private resolvePod(owner: string, segs: string[], namespace: string, qtype: string): Resolution {
    if (this.podMode === 'disabled' || segs.length !== 3) return this.negative(3);
    const label = segs[0]!;
    const ip =
      (label.match(/-/g) ?? []).length === 3 && !label.includes('--')
        ? label.replace(/-/g, '.')
        : label.replace(/-/g, ':');
    const family = isIP(ip);
    if (family === 0) return this.negative(3);
    if (this.podMode === 'verified') {
      const pods = this.podIpIndex.get(canonicalIp(ip));
      if (!pods || ![...pods.keys()].some((k) => k.startsWith(`${namespace}/`))) return this.negative(3);
    }
    if ((qtype === 'A' && family === 4) || (qtype === 'AAAA' && family === 6)) {
      return this.ok([{ name: owner, type: qtype, class: 'IN', ttl: this.ttl, data: ip }]);
    }
    return this.negative(0);
  }

  /** CoreDNS findServices: the records a service-side name stands for, or undefined (NXDOMAIN). */
  private findServices(segs: string[], namespace: string): SvcRecord[] | undefined {
    // segs: [...prefix, service, namespace, 'svc']
    const service = segs[segs.length - 3]!;
    const prefix = segs.slice(0, -3);
    let endpoint = '';
    let port = '';
    let protocol = '';
    if (prefix.length === 1) endpoint = prefix[0]!;
    else if (prefix.length === 2) {
      port = prefix[0]!.replace(/^_/, '');
      protocol = prefix[1]!.replace(/^_/, '');
    } else if (prefix.length > 2) return undefined;
    const e = this.services.get(`${namespace}/${service}`);
    const svc = e?.svc;
    if (!e || !svc) return undefined;
    const svcName = `${svc.name}.${svc.namespace}.svc.${this.zone}`;
    const portMatches = (p: PortInfo): boolean =>
      (port === '' || p.name.toLowerCase() === port) &&
      (protocol === '' || p.protocol.toLowerCase() === protocol);

    if (svc.externalName !== undefined) {
      if (endpoint || port || protocol) return undefined;
      if (!svc.externalName || isIP(svc.externalName) !== 0) return undefined;
      return [{ kind: 'cname', target: svc.externalName }];
    }
    const out: SvcRecord[] = [];
    if (svc.headless || endpoint) {
      const sliceKeys = endpoint ? [...(e.hosts.get(endpoint)?.keys() ?? [])] : [...e.slices.keys()];
      for (const sk of sliceKeys) {
        const slice = e.slices.get(sk);
        if (!slice) continue;
        const ports = slice.ports.length === 0 ? [{ name: '', port: -1, protocol: '' }] : slice.ports;
        const matching = ports.filter((p) =>
          p.port === -1 ? port === '' && protocol === '' : portMatches(p),
        );
        if (matching.length === 0) continue;
        for (const ep of slice.endpoints) {
          if (endpoint && ep.host !== endpoint) continue;
          if (!ep.ready && !svc.publishNotReady) continue;
          const target = `${ep.host}.${svcName}`;
          for (const p of matching)
            for (const ip of ep.ips) out.push({ kind: 'ip', ip, port: p.port, target });
        }
      }
      return out.length > 0 ? out : undefined;
    }
    for (const p of svc.ports) {
      if (!portMatches(p)) continue;
      for (const ip of svc.clusterIPs) out.push({ kind: 'ip', ip, port: p.port, target: svcName });
    }
    return out.length > 0 ? out : undefined;
  }

  private resolveService(owner: string, segs: string[], namespace: string, qtype: string): Resolution {
    const records = this.findServices(segs, namespace);
    if (!records) return this.negative(3);
    const ttl = this.ttl;
    if (qtype === 'A' || qtype === 'AAAA') {
      const family = qtype === 'A' ? 4 : 6;
      const seen = new Set<string>();
      const answers: Answer[] = [];
      let chase: { name: string; type: 'A' | 'AAAA' } | undefined;
      for (const r of records) {
        if (r.kind === 'cname') {
          answers.push({ name: owner, type: 'CNAME', class: 'IN', ttl, data: r.target });
          if (this.inZone(r.target)) {
            const inner = this.resolve(r.target, qtype);
            if (inner.kind === 'answer') answers.push(...inner.answers);
          } else chase = { name: r.target, type: qtype };
          continue;
        }
        if (isIP(r.ip) !== family || seen.has(r.ip)) continue;
        seen.add(r.ip);
        answers.push({ name: owner, type: qtype, class: 'IN', ttl, data: r.ip });
      }
      const res = this.ok(answers);
      if (chase && res.kind === 'answer') res.chase = chase;
      return res;
    }
    if (qtype === 'SRV') {
      const srvs = new Map<string, { target: string; port: number }>();
      const additionals: Answer[] = [];
      const seenAdd = new Set<string>();
      for (const r of records) {
        if (r.kind === 'cname') {
          srvs.set(`${r.target}\u0000${0}`, { target: r.target, port: 0 });
          continue;
        }
        if (r.port < 0) continue;
        srvs.set(`${r.target}\u0000${r.port}`, { target: r.target, port: r.port });
        const ak = `${r.target}\u0000${r.ip}`;
        if (!seenAdd.has(ak)) {
          seenAdd.add(ak);
          additionals.push({
            name: r.target,
            type: isIP(r.ip) === 6 ? 'AAAA' : 'A',
            class: 'IN',
            ttl,
            data: r.ip,
          });
        }
      }
      const weight = srvs.size > 0 ? Math.floor(100 / srvs.size) : 0;
      const answers: Answer[] = [...srvs.values()].map((s) => ({
        name: owner,
        type: 'SRV',
        class: 'IN',
        ttl,
        data: { priority: 0, weight, port: s.port, target: s.target },
      }));
      return this.ok(answers, answers.length > 0 ? additionals : []);
    }
    if (qtype === 'CNAME' || qtype === 'ANY') {
      const answers: Answer[] = [];
      for (const r of records) {
        if (r.kind === 'cname')
          answers.push({ name: owner, type: 'CNAME', class: 'IN', ttl, data: r.target });
      }
      return this.ok(answers);
    }
    return this.negative(0);
  }

  private resolveReverse(owner: string, name: string, qtype: string): Resolution {
    const ip = ipFromReverse(name);
    if (qtype !== 'PTR' || ip === undefined) return { kind: 'forward' };
    const key = canonicalIp(ip);
    const svcs = this.clusterIpIndex.get(key);
    let targets: string[] = [];
    if (svcs && svcs.size > 0) {
      const svcKey = svcs.keys().next().value as string;
      const [ns, svc] = svcKey.split('/') as [string, string];
      targets = [`${svc}.${ns}.svc.${this.zone}`];
    } else {
      targets = [...(this.endpointIpIndex.get(key)?.keys() ?? [])];
    }
    if (targets.length === 0) return { kind: 'forward' };
    return this.ok(targets.map((t) => ({ name: owner, type: 'PTR', class: 'IN', ttl: this.ttl, data: t })));
  }
}
