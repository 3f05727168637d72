import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { which } from '../oci/util.js';
import type { ServicePortRule } from './model.js';
import {
  affinitySetName,
  deleteTableScript,
  endpointChainName,
  type RulesetOptions,
  renderTable,
  serviceChainName,
  syncScript,
} from './ruleset.js';

const OPTS: RulesetOptions = { table: 'ordinal', bridge: 'ordinal0', podCidr: '10.244.0.0/24' };

function rule(
  over: Partial<ServicePortRule> & Pick<ServicePortRule, 'service' | 'clusterIP'>,
): ServicePortRule {
  return { namespace: 'ns', portName: '', protocol: 'TCP', port: 80, endpoints: [], ...over };
}

const WEB = rule({
  service: 'web',
  clusterIP: '10.96.0.20',
  portName: 'http',
  endpoints: [
    { ip: '10.244.0.3', port: 8080 },
    { ip: '10.244.0.5', port: 8080 },
  ],
});

/** The lines of one chain of a rendered table (without indentation). */
function chainLines(text: string, name: string): string[] {
  const start = text.indexOf(`\tchain ${name} {\n`);
  if (start < 0) throw new Error(`no chain ${name} in:\n${text}`);
  const end = text.indexOf('\n\t}', start);
  return text
    .slice(start, end)
    .split('\n')
    .slice(1)
    .map((l) => l.trim());
}

describe('renderTable', () => {
  it('renders one Service port with two endpoints as the whole table', () => {
    const svcChain = serviceChainName(WEB);
    const ep3 = endpointChainName(WEB, { ip: '10.244.0.3', port: 8080 });
    const ep5 = endpointChainName(WEB, { ip: '10.244.0.5', port: 8080 });
    expect(svcChain).toMatch(/^service-[0-9a-f]{8}-ns\/web\/tcp\/http$/);
    expect(ep3).toMatch(/^endpoint-[0-9a-f]{8}-ns\/web\/tcp\/http__10\.244\.0\.3\/8080$/);
    expect(renderTable([WEB], OPTS).text).toBe(`table ip ordinal {
\tchain nat-prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tjump services
\t}

\tchain nat-output {
\t\ttype nat hook output priority -100; policy accept;
\t\tjump services
\t}

\tchain nat-postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tjump masquerading
\t}

\tchain filter-input {
\t\ttype filter hook input priority filter; policy accept;
\t\tct state new jump service-endpoints-check
\t}

\tchain filter-forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tct state new jump service-endpoints-check
\t\tct state new jump cluster-ips-check
\t\tiifname "ordinal0" oifname != "ordinal0" ct status & dnat == 0 reject with icmp type host-unreachable comment "the bridge forwards Service traffic only"
\t}

\tchain filter-output {
\t\ttype filter hook output priority filter; policy accept;
\t\tct state new jump service-endpoints-check
\t\tct state new jump cluster-ips-check
\t}

\tchain mark-for-masquerade {
\t\tmeta mark set meta mark or 0x4000
\t}

\tchain masquerading {
\t\tmeta mark & 0x4000 == 0 return
\t\tmeta mark set meta mark xor 0x4000
\t\tmasquerade fully-random
\t}

\tchain reject-chain {
\t\tmeta l4proto tcp reject with tcp reset
\t\treject
\t}

\tchain services {
\t\tip daddr . meta l4proto . th dport vmap { 10.96.0.20 . tcp . 80 : goto ${svcChain} }
\t}

\tchain nodeports {
\t}

\tchain service-endpoints-check {
\t}

\tchain cluster-ips-check {
\t\tip daddr { 10.96.0.20 } reject comment "no such port on this cluster IP"
\t}

\tchain ${svcChain} {
\t\tjump mark-for-masquerade
\t\tnumgen random mod 2 vmap {
\t\t\t0 : goto ${ep3},
\t\t\t1 : goto ${ep5}
\t\t}
\t}

\tchain ${ep3} {
\t\tmeta l4proto tcp dnat to 10.244.0.3:8080
\t}

\tchain ${ep5} {
\t\tmeta l4proto tcp dnat to 10.244.0.5:8080
\t}
}
`);
  });

  it('gives each port of a Service its own chain and UDP its own protocol', () => {
    const dns = rule({
      service: 'dns',
      clusterIP: '10.96.0.10',
      portName: 'dns',
      protocol: 'UDP',
      port: 53,
      endpoints: [{ ip: '10.244.0.9', port: 5353 }],
    });
    const dnsTcp = {
      ...dns,
      portName: 'dns-tcp',
      protocol: 'TCP' as const,
      endpoints: [{ ip: '10.244.0.9', port: 5354 }],
    };
    const { text, chains } = renderTable([dns, dnsTcp], OPTS);
    expect(chainLines(text, 'services')).toEqual([
      'ip daddr . meta l4proto . th dport vmap {',
      `10.96.0.10 . udp . 53 : goto ${serviceChainName(dns)},`,
      `10.96.0.10 . tcp . 53 : goto ${serviceChainName(dnsTcp)}`,
      '}',
    ]);
    // One endpoint: no numgen, straight to it.
    expect(chainLines(text, serviceChainName(dns))).toEqual([
      'jump mark-for-masquerade',
      `goto ${endpointChainName(dns, { ip: '10.244.0.9', port: 5353 })}`,
    ]);
    expect(chainLines(text, endpointChainName(dns, { ip: '10.244.0.9', port: 5353 }))).toEqual([
      'meta l4proto udp dnat to 10.244.0.9:5353',
    ]);
    expect(chainLines(text, endpointChainName(dnsTcp, { ip: '10.244.0.9', port: 5354 }))).toEqual([
      'meta l4proto tcp dnat to 10.244.0.9:5354',
    ]);
    expect(serviceChainName(dns)).not.toBe(serviceChainName(dnsTcp));
    expect(chains).toContain(serviceChainName(dnsTcp));
    expect(chainLines(text, 'cluster-ips-check')).toEqual([
      'ip daddr { 10.96.0.10 } reject comment "no such port on this cluster IP"',
    ]);
  });

  it('rejects Service ports without endpoints instead of routing them, NodePorts included', () => {
    const empty = rule({ service: 'empty', clusterIP: '10.96.0.30', nodePort: 30030 });
    const emptyUdp = rule({
      service: 'empty',
      clusterIP: '10.96.0.30',
      portName: 'u',
      protocol: 'UDP',
      port: 53,
    });
    const { text, chains } = renderTable([empty, emptyUdp], OPTS);
    expect(chainLines(text, 'services')).toEqual([]);
    expect(chainLines(text, 'service-endpoints-check')).toEqual([
      'ip daddr . meta l4proto . th dport vmap {',
      '10.96.0.30 . tcp . 80 : goto reject-chain,',
      '10.96.0.30 . udp . 53 : goto reject-chain',
      '}',
      'fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap { tcp . 30030 : goto reject-chain }',
    ]);
    expect(chains.some((c) => c.startsWith('service-') && c !== 'service-endpoints-check')).toBe(false);
    expect(chainLines(text, 'reject-chain')).toEqual(['meta l4proto tcp reject with tcp reset', 'reject']);
  });

  it('routes NodePorts on the node addresses to the Service chain', () => {
    const np = { ...WEB, nodePort: 30080 };
    const text = renderTable([np], OPTS).text;
    expect(chainLines(text, 'services')).toContain(
      'fib daddr type local ip daddr != 127.0.0.0/8 jump nodeports',
    );
    expect(chainLines(text, 'nodeports')).toEqual([
      `meta l4proto . th dport vmap { tcp . 30080 : goto ${serviceChainName(np)} }`,
    ]);
  });

  it('masquerades like upstream when asked: off-CIDR clients, NodePorts and hairpin only', () => {
    const np = { ...WEB, nodePort: 30080 };
    const text = renderTable([np], { ...OPTS, masqueradeAll: false }).text;
    expect(chainLines(text, serviceChainName(np))[0]).toBe(
      'ip saddr != 10.244.0.0/24 jump mark-for-masquerade',
    );
    expect(chainLines(text, endpointChainName(np, { ip: '10.244.0.3', port: 8080 }))).toEqual([
      'ip saddr 10.244.0.3 jump mark-for-masquerade',
      'meta l4proto tcp dnat to 10.244.0.3:8080',
    ]);
    expect(chainLines(text, 'nodeports')[0]).toBe(
      'meta l4proto . th dport { tcp . 30080 } jump mark-for-masquerade',
    );
  });

  it('keeps ClientIP affinity in one dynamic set per endpoint, consulted before the random pick', () => {
    const sticky = { ...WEB, affinitySeconds: 60 };
    const { text, sets } = renderTable([sticky], OPTS);
    const e3 = { ip: '10.244.0.3', port: 8080 };
    const e5 = { ip: '10.244.0.5', port: 8080 };
    expect(sets).toEqual([affinitySetName(sticky, e3, 60), affinitySetName(sticky, e5, 60)]);
    expect(text).toContain(
      `\tset ${affinitySetName(sticky, e3, 60)} {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n\t\ttimeout 60s\n\t}`,
    );
    const lines = chainLines(text, serviceChainName(sticky));
    expect(lines.slice(0, 3)).toEqual([
      'jump mark-for-masquerade',
      `ip saddr @${affinitySetName(sticky, e3, 60)} goto ${endpointChainName(sticky, e3)}`,
      `ip saddr @${affinitySetName(sticky, e5, 60)} goto ${endpointChainName(sticky, e5)}`,
    ]);
    expect(lines[3]).toMatch(/^numgen random mod 2 vmap/);
    expect(chainLines(text, endpointChainName(sticky, e5))).toEqual([
      `update @${affinitySetName(sticky, e5, 60)} { ip saddr }`,
      'meta l4proto tcp dnat to 10.244.0.5:8080',
    ]);
    // A new timeout is a new set (nft cannot change the timeout of an existing set).
    expect(affinitySetName(sticky, e3, 61)).not.toBe(affinitySetName(sticky, e3, 60));
  });

  it('guards 127/8 on the bridge when route_localnet is used', () => {
    const text = renderTable([], { ...OPTS, localnet: true }).text;
    expect(chainLines(text, 'filter-input')).toContain(
      'iifname "ordinal0" ip daddr 127.0.0.0/8 ct status & dnat == 0 drop comment "only Service traffic reaches 127/8 from pods"',
    );
    expect(chainLines(text, 'cluster-ips-check')).toEqual([]);
  });

  it('is deterministic', () => {
    const other = rule({
      service: 'other',
      clusterIP: '10.96.0.21',
      endpoints: [{ ip: '10.244.0.8', port: 80 }],
    });
    expect(renderTable([WEB, other], OPTS)).toEqual(
      renderTable([structuredClone(WEB), structuredClone(other)], OPTS),
    );
  });
});

describe('syncScript', () => {
  const a = renderTable([WEB], OPTS);
  const gone = { ...WEB, endpoints: [{ ip: '10.244.0.3', port: 8080 }] };
  const b = renderTable([gone], OPTS);

  it('creates the table afresh on the first sync', () => {
    expect(syncScript('ordinal', a)).toBe(`table ip ordinal {}\ndelete table ip ordinal\n${a.text}`);
    expect(deleteTableScript('ordinal')).toBe('table ip ordinal {}\ndelete table ip ordinal\n');
  });

  it('flushes and redeclares the table later, deleting the chains that went away', () => {
    const s = syncScript('ordinal', b, a);
    const lines = s.split('\n');
    expect(lines.slice(0, 2)).toEqual(['add table ip ordinal', 'flush table ip ordinal']);
    expect(s).toContain(b.text.trimEnd());
    expect(lines.filter((l) => l.startsWith('delete '))).toEqual([
      `delete chain ip ordinal ${endpointChainName(WEB, { ip: '10.244.0.5', port: 8080 })}`,
    ]);
  });

  it('deletes affinity sets that went away', () => {
    const sticky = renderTable([{ ...WEB, affinitySeconds: 60 }], OPTS);
    const s = syncScript('ordinal', a, sticky);
    expect(s.split('\n').filter((l) => l.startsWith('delete set'))).toEqual(
      sticky.sets.map((n) => `delete set ip ordinal ${n}`),
    );
  });
});

const CAN_CHECK = process.getuid?.() === 0 && which('nft') !== undefined;

/** `nft -c` parses and validates against the kernel without changing anything (needs root). */
describe.skipIf(!CAN_CHECK)('rulesets nft accepts (nft -c, root)', () => {
  const nftCheck = (script: string) =>
    spawnSync('nft', ['-c', '-f', '-'], { input: script, encoding: 'utf8' });
  const t = 'ordinal-check';
  const model: ServicePortRule[] = [
    { ...WEB, nodePort: 30080 },
    { ...WEB, service: 'sticky', clusterIP: '10.96.0.21', affinitySeconds: 10_800 },
    rule({ service: 'empty', clusterIP: '10.96.0.22', nodePort: 30081 }),
    rule({
      service: 'dns',
      clusterIP: '10.96.0.10',
      protocol: 'UDP',
      port: 53,
      endpoints: [{ ip: '10.244.0.9', port: 53 }],
    }),
    rule({
      service: 'kubernetes',
      clusterIP: '10.96.0.1',
      port: 443,
      endpoints: [{ ip: '127.0.0.1', port: 6443 }],
    }),
  ];

  it.each([true, false])(
    'accepts a full table (masqueradeAll %s) and its incremental update',
    (masqueradeAll) => {
      const opts = { ...OPTS, table: t, localnet: true, masqueradeAll };
      const first = renderTable(model, opts);
      const r1 = nftCheck(syncScript(t, first));
      expect(r1.stderr).toBe('');
      expect(r1.status).toBe(0);
      // An incremental script needs the table to exist; check it on its own declared table.
      const second = renderTable(model.slice(1), opts);
      const r2 = nftCheck(`${first.text}\n${syncScript(t, second, first)}`);
      expect(r2.stderr).toBe('');
      expect(r2.status).toBe(0);
    },
  );

  it('accepts an empty table', () => {
    const r = nftCheck(syncScript(t, renderTable([], { ...OPTS, table: t })));
    expect(r.status).toBe(0);
  });
});
