import type { Answer } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import type { KObject } from '../api/types.js';
import { ClusterDnsIndex, canonicalIp, ipFromReverse, type Resolution, reverseName } from './records.js';

const ns = (name: string): KObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

function svc(name: string, namespace: string, spec: Record<string, unknown>): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec };
}

interface Ep {
  ip: string;
  hostname?: string;
  ready?: boolean;
}

function slice(name: string, namespace: string, service: string, eps: Ep[], ports: unknown[] = []): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      ...(e.hostname ? { hostname: e.hostname } : {}),
      conditions: e.ready === undefined ? {} : { ready: e.ready },
    })),
    ports,
  };
}

function answer(r: Resolution): Extract<Resolution, { kind: 'answer' }> {
  if (r.kind !== 'answer') throw new Error('expected an answer, got forward');
  return r;
}

const data = (as: Answer[]): unknown[] => as.map((a) => ('data' in a ? a.data : undefined));

function fixture(): ClusterDnsIndex {
  const idx = new ClusterDnsIndex({ now: () => 1000 });
  idx.upsertNamespace(ns('demo'));
  idx.upsertService(
    svc('db', 'demo', { clusterIP: 'None', ports: [{ name: 'mysql', port: 3306, protocol: 'TCP' }] }),
  );
  idx.upsertSlice(
    slice(
      'db-abc',
      'demo',
      'db',
      [
        { ip: '10.244.0.5', hostname: 'db-0', ready: true },
        { ip: '10.244.0.6', hostname: 'db-1', ready: true },
        { ip: '10.244.0.7', hostname: 'db-2', ready: false },
      ],
      [{ name: 'mysql', port: 3306, protocol: 'TCP' }],
    ),
  );
  idx.upsertService(
    svc('web', 'demo', {
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
    }),
  );
  idx.upsertSlice(
    slice('web-x', 'demo', 'web', [{ ip: '10.244.0.9', ready: true }], [{ name: 'http', port: 8080 }]),
  );
  idx.upsertService(svc('ext', 'demo', { type: 'ExternalName', externalName: 'example.com' }));
  return idx;
}

describe('ClusterDnsIndex', () => {
  it('answers a headless service with its ready endpoints only', () => {
    const r = answer(fixture().resolve('db.demo.svc.cluster.local', 'A'));
    expect(r.rcode).toBe(0);
    expect(data(r.answers).sort()).toEqual(['10.244.0.5', '10.244.0.6']);
    expect(r.answers[0]).toMatchObject({ name: 'db.demo.svc.cluster.local', type: 'A', ttl: 5 });
  });

  it('includes unready endpoints with publishNotReadyAddresses', () => {
    const idx = fixture();
    idx.upsertService(
      svc('db', 'demo', {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        ports: [{ name: 'mysql', port: 3306 }],
      }),
    );
    expect(data(answer(idx.resolve('db.demo.svc.cluster.local', 'A')).answers).sort()).toEqual([
      '10.244.0.5',
      '10.244.0.6',
      '10.244.0.7',
    ]);
    expect(data(answer(idx.resolve('db-2.db.demo.svc.cluster.local', 'A')).answers)).toEqual(['10.244.0.7']);
  });

  it('resolves per-endpoint hostnames case-insensitively and keeps the asker case', () => {
    const r = answer(fixture().resolve('DB-1.db.Demo.SVC.cluster.local.', 'A'));
    expect(data(r.answers)).toEqual(['10.244.0.6']);
    expect(r.answers[0]?.name).toBe('DB-1.db.Demo.SVC.cluster.local');
  });

  it('makes an unready endpoint NXDOMAIN, and a headless service with no ready endpoint NXDOMAIN', () => {
    const idx = fixture();
    const r = answer(idx.resolve('db-2.db.demo.svc.cluster.local', 'A'));
    expect(r.rcode).toBe(3);
    expect(r.authorities[0]).toMatchObject({ type: 'SOA', name: 'cluster.local' });
    idx.upsertSlice(slice('db-abc', 'demo', 'db', [{ ip: '10.244.0.5', hostname: 'db-0', ready: false }]));
    expect(answer(idx.resolve('db.demo.svc.cluster.local', 'A')).rcode).toBe(3);
    idx.deleteSlice(slice('db-abc', 'demo', 'db', []));
    expect(answer(idx.resolve('db-0.db.demo.svc.cluster.local', 'A')).rcode).toBe(3);
  });

  it('names endpoints without hostname by their dashed IP', () => {
    const r = answer(fixture().resolve('10-244-0-9.web.demo.svc.cluster.local', 'A'));
    expect(data(r.answers)).toEqual(['10.244.0.9']);
  });

  it('answers a ClusterIP service with its cluster IP, NODATA for AAAA and TXT', () => {
    const idx = fixture();
    expect(data(answer(idx.resolve('web.demo.svc.cluster.local', 'A')).answers)).toEqual(['10.96.0.10']);
    for (const t of ['AAAA', 'TXT', 'MX']) {
      const r = answer(idx.resolve('web.demo.svc.cluster.local', t));
      expect(r.rcode).toBe(0);
      expect(r.answers).toEqual([]);
      expect(r.authorities[0]?.type).toBe('SOA');
    }
  });

  it('serves SRV for named ports: ClusterIP targets the service, headless one per endpoint', () => {
    const idx = fixture();
    const c = answer(idx.resolve('_http._tcp.web.demo.svc.cluster.local', 'SRV'));
    expect(data(c.answers)).toEqual([
      { priority: 0, weight: 100, port: 80, target: 'web.demo.svc.cluster.local' },
    ]);
    expect(c.additionals).toMatchObject([
      { name: 'web.demo.svc.cluster.local', type: 'A', data: '10.96.0.10' },
    ]);
    expect(answer(idx.resolve('_dns._udp.web.demo.svc.cluster.local', 'SRV')).answers).toHaveLength(1);
    expect(answer(idx.resolve('_dns._tcp.web.demo.svc.cluster.local', 'SRV')).rcode).toBe(3);
    expect(answer(idx.resolve('_nope._tcp.web.demo.svc.cluster.local', 'SRV')).rcode).toBe(3);

    const h = answer(idx.resolve('_mysql._tcp.db.demo.svc.cluster.local', 'SRV'));
    expect(data(h.answers)).toEqual([
      { priority: 0, weight: 50, port: 3306, target: 'db-0.db.demo.svc.cluster.local' },
      { priority: 0, weight: 50, port: 3306, target: 'db-1.db.demo.svc.cluster.local' },
    ]);
    expect(h.additionals.map((a) => [a.name, 'data' in a ? a.data : ''])).toEqual([
      ['db-0.db.demo.svc.cluster.local', '10.244.0.5'],
      ['db-1.db.demo.svc.cluster.local', '10.244.0.6'],
    ]);
    // The bare service name returns every port.
    expect(answer(idx.resolve('web.demo.svc.cluster.local', 'SRV')).answers).toHaveLength(2);
  });

  it('answers PTR for cluster IPs and ready endpoint IPs, forwards unknown reverse names', () => {
    const idx = fixture();
    expect(data(answer(idx.resolve('10.0.96.10.in-addr.arpa', 'PTR')).answers)).toEqual([
      'web.demo.svc.cluster.local',
    ]);
    expect(data(answer(idx.resolve('5.0.244.10.in-addr.arpa', 'PTR')).answers)).toEqual([
      'db-0.db.demo.svc.cluster.local',
    ]);
    expect(data(answer(idx.resolve('9.0.244.10.in-addr.arpa', 'PTR')).answers)).toEqual([
      '10-244-0-9.web.demo.svc.cluster.local',
    ]);
    expect(idx.resolve('7.0.244.10.in-addr.arpa', 'PTR').kind).toBe('forward'); // not ready
    expect(idx.resolve('8.8.8.8.in-addr.arpa', 'PTR').kind).toBe('forward');
    idx.deleteService(svc('web', 'demo', {}));
    expect(idx.resolve('10.0.96.10.in-addr.arpa', 'PTR').kind).toBe('forward');
  });

  it('answers ExternalName with a CNAME and asks the server to chase it', () => {
    const r = answer(fixture().resolve('ext.demo.svc.cluster.local', 'A'));
    expect(r.answers).toMatchObject([{ type: 'CNAME', data: 'example.com' }]);
    expect(r.chase).toEqual({ name: 'example.com', type: 'A' });
    expect(answer(fixture().resolve('ext.demo.svc.cluster.local', 'CNAME')).answers).toHaveLength(1);
  });

  it('serves dns-version, the zone apex and pod names', () => {
    const idx = fixture();
    expect(data(answer(idx.resolve('dns-version.cluster.local', 'TXT')).answers)).toEqual([['1.1.0']]);
    expect(answer(idx.resolve('cluster.local', 'SOA')).answers[0]?.type).toBe('SOA');
    expect(data(answer(idx.resolve('1-2-3-4.demo.pod.cluster.local', 'A')).answers)).toEqual(['1.2.3.4']);
    expect(data(answer(idx.resolve('fd00--1.demo.pod.cluster.local', 'AAAA')).answers)).toEqual(['fd00::1']);
    expect(answer(idx.resolve('1-2-3-4.nope.pod.cluster.local', 'A')).rcode).toBe(3);
    expect(answer(idx.resolve('not-an-ip.demo.pod.cluster.local', 'A')).rcode).toBe(3);
  });

  it('distinguishes NXDOMAIN from NODATA like CoreDNS', () => {
    const idx = fixture();
    const rc = (n: string, t = 'A'): number => answer(idx.resolve(n, t)).rcode;
    expect(rc('svc.cluster.local')).toBe(0);
    expect(rc('demo.svc.cluster.local')).toBe(0);
    expect(rc('nope.svc.cluster.local')).toBe(3);
    expect(rc('missing.demo.svc.cluster.local')).toBe(3);
    expect(rc('x.y.z.w.demo.svc.cluster.local')).toBe(3);
    expect(rc('foo.cluster.local')).toBe(3);
    expect(rc('dns-version.cluster.local')).toBe(0);
    expect(idx.resolve('example.com', 'A').kind).toBe('forward');
  });

  it('verified pod mode answers only IPs of pods in the namespace', () => {
    const idx = new ClusterDnsIndex({ pods: 'verified' });
    idx.upsertNamespace(ns('demo'));
    const pod: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'demo' },
      status: { podIP: '10.244.1.2', podIPs: [{ ip: '10.244.1.2' }] },
    };
    expect(answer(idx.resolve('10-244-1-2.demo.pod.cluster.local', 'A')).rcode).toBe(3);
    idx.upsertPod(pod);
    expect(data(answer(idx.resolve('10-244-1-2.demo.pod.cluster.local', 'A')).answers)).toEqual([
      '10.244.1.2',
    ]);
    idx.deletePod(pod);
    expect(answer(idx.resolve('10-244-1-2.demo.pod.cluster.local', 'A')).rcode).toBe(3);
  });

  it('handles a custom zone and IPv6 reverse names', () => {
    expect(ipFromReverse(reverseName('fd00::a'))).toBe(canonicalIp('fd00::a'));
    expect(reverseName('1.2.3.4')).toBe('4.3.2.1.in-addr.arpa');
    const idx = new ClusterDnsIndex({ clusterDomain: 'corp.internal', ttl: 30 });
    idx.upsertNamespace(ns('a'));
    idx.upsertService(svc('s', 'a', { clusterIP: 'fd00::a', ports: [{ port: 80 }] }));
    expect(answer(idx.resolve('s.a.svc.corp.internal', 'AAAA')).answers).toMatchObject([
      { data: 'fd00::a', ttl: 30 },
    ]);
    expect(data(answer(idx.resolve(reverseName('fd00::a'), 'PTR')).answers)).toEqual([
      's.a.svc.corp.internal',
    ]);
    expect(idx.resolve('s.a.svc.cluster.local', 'A').kind).toBe('forward');
  });

  it('looks up one name among 10,000 endpoints without scanning them', () => {
    const idx = new ClusterDnsIndex();
    idx.upsertNamespace(ns('big'));
    idx.upsertService(svc('big', 'big', { clusterIP: 'None' }));
    for (let s = 0; s < 100; s++) {
      const eps: Ep[] = [];
      for (let i = 0; i < 100; i++) {
        const n = s * 100 + i;
        eps.push({ ip: `10.1.${Math.floor(n / 256)}.${n % 256}`, hostname: `big-${n}`, ready: true });
      }
      idx.upsertSlice(slice(`big-${s}`, 'big', 'big', eps));
    }
    expect(data(answer(idx.resolve('big-9999.big.big.svc.cluster.local', 'A')).answers)).toEqual([
      '10.1.39.15',
    ]);
    expect(answer(idx.resolve('big.big.svc.cluster.local', 'A')).answers).toHaveLength(10_000);
  });
});
