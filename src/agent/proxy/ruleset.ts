/**
 * The nftables ruleset of the service proxy, as text for `nft -f` (pure; no I/O). It follows
 * kube-proxy's nftables mode, much reduced:
 *
 * - `services` (jumped from the nat prerouting and output hooks, so pods on the bridge and the
 *   host itself are both served) maps `cluster IP . protocol . port` to a per-Service-port chain;
 *   NodePorts are matched on the node's own addresses (`fib daddr type local`, not 127/8).
 * - a Service-port chain marks the connection for masquerading and picks an endpoint at random
 *   (`numgen random mod N`), after ClientIP affinity (a dynamic set of client addresses per
 *   endpoint) when the Service asks for it; an endpoint chain DNATs to `ip:port`.
 * - `masquerading` (nat postrouting) SNATs marked connections to the outgoing interface's address,
 *   so replies come back through the host's conntrack even when client and endpoint share the
 *   bridge, and a pod reaching itself through its Service (hairpin) works.
 * - Service ports without endpoints are rejected (TCP reset, ICMP port unreachable for UDP) in the
 *   filter hooks so clients fail fast, as are other ports of a cluster IP.
 * - On the bridge: forwarding is for Service traffic only (other traffic from pods that would leave
 *   through another interface is refused with host-unreachable, as when the bridge did not
 *   forward), and with `localnet` (route_localnet on the bridge, so Services whose endpoints are on
 *   127.0.0.1, like `kubernetes`, work from pods) packets for 127/8 that were not DNATed by us are
 *   dropped (upstream's CVE-2020-8558 guard).
 *
 * The whole table is rewritten in one `nft -f` transaction per sync; `syncScript` keeps the
 * affinity sets (their members are the affinity state) by flushing the table instead of deleting
 * it, and deletes the chains and sets that are gone.
 */
import { createHash } from 'node:crypto';
import type { Endpoint, ServicePortRule } from './model.js';

export interface RulesetOptions {
  /** nftables table name (family ip). */
  table: string;
  /** The pod bridge (ordinal0). */
  bridge: string;
  /** The pod CIDR; with `masqueradeAll: false`, traffic from outside it is masqueraded. */
  podCidr: string;
  /**
   * Masquerade every connection to a Service (default true): works whether or not bridged traffic
   * goes through netfilter (br_netfilter). False keeps pod source addresses, as upstream does
   * (masquerading only traffic from outside the pod CIDR, NodePorts and hairpin connections), which
   * needs `net.bridge.bridge-nf-call-iptables=1`.
   */
  masqueradeAll?: boolean;
  /** Route 127/8 endpoints from pods (route_localnet is set on the bridge); adds the input guard. */
  localnet?: boolean;
  /** The packet mark bit meaning "masquerade this connection" (default 0x4000, as kube-proxy). */
  masqueradeMark?: number;
}

/** A rendered table: its full text, and the names of the chains and sets it declares. */
export interface RenderedTable {
  text: string;
  chains: string[];
  sets: string[];
}

const PROTO: Record<ServicePortRule['protocol'], string> = { TCP: 'tcp', UDP: 'udp' };

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

/** "ns/svc/tcp/portname", kube-proxy's ServicePortName string with the protocol. */
function servicePortId(r: ServicePortRule): string {
  return `${r.namespace}/${r.service}/${PROTO[r.protocol]}/${r.portName}`;
}

/** The chain of a Service port (names are nft identifiers: letters, digits, / - _ .). */
export function serviceChainName(r: ServicePortRule): string {
  const id = servicePortId(r);
  return `service-${shortHash(id)}-${id}`;
}

/** The chain of one endpoint of a Service port. */
export function endpointChainName(r: ServicePortRule, ep: Endpoint): string {
  const id = `${servicePortId(r)}__${ep.ip}/${ep.port}`;
  return `endpoint-${shortHash(id)}-${id}`;
}

/** The ClientIP affinity set of one endpoint (the timeout is part of the name: sets cannot change it). */
export function affinitySetName(r: ServicePortRule, ep: Endpoint, seconds: number): string {
  const id = `${servicePortId(r)}__${ep.ip}/${ep.port}`;
  return `affinity-${shortHash(`${id}@${seconds}`)}-${id}`;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** One `chain NAME { ... }` block. */
function chain(name: string, lines: readonly string[]): string {
  return [`\tchain ${name} {`, ...lines.map((l) => `\t\t${l}`), '\t}'].join('\n');
}

/** `{ a, b }` spread over lines when long, as nft prints it. */
function elements(items: readonly string[]): string {
  return items.length <= 1 ? `{ ${items.join('')} }` : `{\n\t\t\t${items.join(',\n\t\t\t')}\n\t\t}`;
}

/**
 * The table for these Service ports (deterministic: equal models give equal text). Service ports
 * with endpoints get DNAT rules; the others are rejected.
 */
export function renderTable(model: readonly ServicePortRule[], opts: RulesetOptions): RenderedTable {
  const masqAll = opts.masqueradeAll ?? true;
  const mark = hex(opts.masqueradeMark ?? 0x4000);
  const bridge = JSON.stringify(opts.bridge);
  const chains: Array<[string, string[]]> = [];
  const sets: Array<[string, number]> = [];

  const serviceIps: string[] = [];
  const nodePorts: string[] = [];
  const noEndpoints: string[] = [];
  const noEndpointNodePorts: string[] = [];
  const clusterIps = new Set<string>();
  const seenChains = new Set<string>();
  const seenNodePorts = new Set<string>();
  const svcChains: Array<[string, string[]]> = [];
  const epChains: Array<[string, string[]]> = [];

  for (const r of model) {
    const proto = PROTO[r.protocol];
    clusterIps.add(r.clusterIP);
    const np = r.nodePort !== undefined ? `${proto} . ${r.nodePort}` : undefined;
    const npFresh = np !== undefined && !seenNodePorts.has(np);
    if (np !== undefined) seenNodePorts.add(np);
    if (r.endpoints.length === 0) {
      noEndpoints.push(`${r.clusterIP} . ${proto} . ${r.port} : goto reject-chain`);
      if (npFresh) noEndpointNodePorts.push(`${np} : goto reject-chain`);
      continue;
    }
    const svcChain = serviceChainName(r);
    serviceIps.push(`${r.clusterIP} . ${proto} . ${r.port} : goto ${svcChain}`);
    if (npFresh) nodePorts.push(`${np} : goto ${svcChain}`);
    if (seenChains.has(svcChain)) continue;
    seenChains.add(svcChain);

    const svcLines: string[] = [
      masqAll ? 'jump mark-for-masquerade' : `ip saddr != ${opts.podCidr} jump mark-for-masquerade`,
    ];
    const targets: string[] = [];
    r.endpoints.forEach((ep, i) => {
      const epChain = endpointChainName(r, ep);
      targets.push(`${i} : goto ${epChain}`);
      const epLines: string[] = [];
      if (!masqAll) epLines.push(`ip saddr ${ep.ip} jump mark-for-masquerade`);
      if (r.affinitySeconds !== undefined) {
        const set = affinitySetName(r, ep, r.affinitySeconds);
        sets.push([set, r.affinitySeconds]);
        svcLines.push(`ip saddr @${set} goto ${epChain}`);
        epLines.push(`update @${set} { ip saddr }`);
      }
      epLines.push(`meta l4proto ${proto} dnat to ${ep.ip}:${ep.port}`);
      epChains.push([epChain, epLines]);
    });
    svcLines.push(
      r.endpoints.length === 1
        ? targets[0]!.replace(/^0 : /, '')
        : `numgen random mod ${r.endpoints.length} vmap ${elements(targets)}`,
    );
    svcChains.push([svcChain, svcLines]);
  }

  const local = 'fib daddr type local ip daddr != 127.0.0.0/8';
  const serviceLines: string[] = [];
  if (serviceIps.length > 0)
    serviceLines.push(`ip daddr . meta l4proto . th dport vmap ${elements(serviceIps)}`);
  if (nodePorts.length > 0) serviceLines.push(`${local} jump nodeports`);
  const nodeportLines: string[] = [];
  if (nodePorts.length > 0) {
    if (!masqAll) {
      const keys = nodePorts.map((e) => e.slice(0, e.indexOf(' : ')));
      nodeportLines.push(`meta l4proto . th dport ${elements(keys)} jump mark-for-masquerade`);
    }
    nodeportLines.push(`meta l4proto . th dport vmap ${elements(nodePorts)}`);
  }
  const checkLines: string[] = [];
  if (noEndpoints.length > 0)
    checkLines.push(`ip daddr . meta l4proto . th dport vmap ${elements(noEndpoints)}`);
  if (noEndpointNodePorts.length > 0) {
    checkLines.push(`${local} meta l4proto . th dport vmap ${elements(noEndpointNodePorts)}`);
  }
  const ipsLines =
    clusterIps.size > 0
      ? [`ip daddr ${elements([...clusterIps].sort())} reject comment "no such port on this cluster IP"`]
      : [];

  const inputLines = ['ct state new jump service-endpoints-check'];
  if (opts.localnet) {
    inputLines.push(
      `iifname ${bridge} ip daddr 127.0.0.0/8 ct status & dnat == 0 drop comment "only Service traffic reaches 127/8 from pods"`,
    );
  }
  chains.push(
    ['nat-prerouting', ['type nat hook prerouting priority dstnat; policy accept;', 'jump services']],
    ['nat-output', ['type nat hook output priority -100; policy accept;', 'jump services']],
    ['nat-postrouting', ['type nat hook postrouting priority srcnat; policy accept;', 'jump masquerading']],
    ['filter-input', ['type filter hook input priority filter; policy accept;', ...inputLines]],
    [
      'filter-forward',
      [
        'type filter hook forward priority filter; policy accept;',
        'ct state new jump service-endpoints-check',
        'ct state new jump cluster-ips-check',
        `iifname ${bridge} oifname != ${bridge} ct status & dnat == 0 reject with icmp type host-unreachable comment "the bridge forwards Service traffic only"`,
      ],
    ],
    [
      'filter-output',
      [
        'type filter hook output priority filter; policy accept;',
        'ct state new jump service-endpoints-check',
        'ct state new jump cluster-ips-check',
      ],
    ],
    ['mark-for-masquerade', [`meta mark set meta mark or ${mark}`]],
    [
      'masquerading',
      [`meta mark & ${mark} == 0 return`, `meta mark set meta mark xor ${mark}`, 'masquerade fully-random'],
    ],
    ['reject-chain', ['meta l4proto tcp reject with tcp reset', 'reject']],
    ['services', serviceLines],
    ['nodeports', nodeportLines],
    ['service-endpoints-check', checkLines],
    ['cluster-ips-check', ipsLines],
    ...svcChains,
    ...epChains,
  );

  const setBlocks = sets.map(
    ([name, seconds]) =>
      `\tset ${name} {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n\t\ttimeout ${seconds}s\n\t}`,
  );
  const text = [
    `table ip ${opts.table} {`,
    [...setBlocks, ...chains.map(([name, lines]) => chain(name, lines))].join('\n\n'),
    '}',
    '',
  ].join('\n');
  return { text, chains: chains.map(([n]) => n), sets: sets.map(([n]) => n) };
}

/** Removes the table if it exists (nft 1.0.6 has no `destroy`: declaring it first makes the delete safe). */
export function deleteTableScript(table: string): string {
  return `table ip ${table} {}\ndelete table ip ${table}\n`;
}

/**
 * One `nft -f` transaction installing `next`. Without `previous` (first sync, or after a failure)
 * the table is deleted and created afresh; otherwise it is flushed (rules go, affinity sets keep
 * their members), redeclared, and the chains and sets `previous` had and `next` lacks are deleted.
 */
export function syncScript(table: string, next: RenderedTable, previous?: RenderedTable): string {
  if (!previous) return `${deleteTableScript(table)}${next.text}`;
  const keepChains = new Set(next.chains);
  const keepSets = new Set(next.sets);
  const stale = [
    ...previous.chains.filter((c) => !keepChains.has(c)).map((c) => `delete chain ip ${table} ${c}`),
    ...previous.sets.filter((s) => !keepSets.has(s)).map((s) => `delete set ip ${table} ${s}`),
  ];
  return [`add table ip ${table}`, `flush table ip ${table}`, next.text.trimEnd(), ...stale, ''].join('\n');
}
