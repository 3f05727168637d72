/**
 * The DNS server over real UDP/TCP on 127.0.0.1, fed by an in-process cluster
 * (controllers + simulated nodes), plus forwarding to a fake upstream.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import type { Answer, DecodedPacket } from 'dns-packet';
import * as dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster, waitFor } from '../../test/integration/harness.js';
import type { KObject } from '../api/types.js';
import { ENDPOINTSLICES, PODS, SERVICES, STATEFULSETS } from '../controllers/util/resources.js';
import { type ClusterDns, resolvConfNameservers, startClusterDns, truncate } from './server.js';
import { query } from './testing.js';

const HOST = '127.0.0.1';
const data = (as: Answer[] | undefined): unknown[] =>
  (as ?? []).map((a) => ('data' in a ? a.data : undefined));
const ips = (p: DecodedPacket): string[] => data(p.answers).map(String).sort();

function podIP(p: KObject | undefined): string {
  const s = (p?.status ?? {}) as { podIP?: string };
  return s.podIP ?? '';
}

describe('cluster DNS against an in-process cluster', () => {
  let cluster: TestCluster;
  let dns: ClusterDns;
  let ns: string;
  const q = (name: string, type: dnsPacket.RecordType, tcp = false) =>
    query(HOST, dns.port, name, type, { tcp });

  beforeAll(async () => {
    cluster = await startTestCluster();
    dns = await startClusterDns(cluster.client, { upstreams: [] });
    ns = await cluster.namespace('dns');
    const c = cluster.client;
    await c.create(SERVICES, ns, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db' },
      spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'mysql', port: 3306 }] },
    });
    await c.create(SERVICES, ns, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'db' }, ports: [{ name: 'http', port: 80, targetPort: 3306 }] },
    });
    await c.create(STATEFULSETS, ns, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db',
        replicas: 3,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: { containers: [{ name: 'db', image: 'mysql:8' }] },
        },
      },
    });
    await waitFor(
      async () => {
        const r = await q(`db.${ns}.svc.cluster.local`, 'A');
        return r.answers?.length === 3;
      },
      20_000,
      'three db endpoints in DNS',
    );
  });

  afterAll(async () => {
    await dns?.stop();
    await cluster?.stop();
  });

  it('resolves a StatefulSet pod by its stable name and follows it when recreated', async () => {
    const pod = await cluster.client.get(PODS, ns, 'db-0');
    const before = podIP(pod);
    expect(before).not.toBe('');
    const r = await q(`db-0.db.${ns}.svc.cluster.local`, 'A');
    expect(r.rcode).toBe('NOERROR');
    expect(r.flag_aa).toBe(true);
    expect(ips(r)).toEqual([before]);

    await cluster.client.delete(PODS, ns, 'db-0', { gracePeriodSeconds: 0 });
    const after = await waitFor(
      async () => {
        const p = await cluster.client.get(PODS, ns, 'db-0').catch(() => undefined);
        const ip = podIP(p);
        return ip !== '' && ip !== before && p?.metadata.uid !== pod.metadata.uid ? ip : undefined;
      },
      20_000,
      'db-0 recreated with a new IP',
    );
    await waitFor(
      async () => {
        const a = await q(`db-0.db.${ns}.svc.cluster.local`, 'A');
        return ips(a).join() === after;
      },
      20_000,
      'DNS follows db-0 to its new IP',
    );
  });

  it('returns every ready pod for the headless service; unready pods drop out unless published', async () => {
    const pods = (await cluster.client.list(PODS, ns)).items;
    const all = pods.map(podIP).sort();
    await waitFor(async () => ips(await q(`db.${ns}.svc.cluster.local`, 'A')).join() === all.join());

    const db1 = pods.find((p) => p.metadata.name === 'db-1')!;
    await cluster.client.patch(PODS, ns, 'db-1', 'merge', {
      metadata: { annotations: { 'sim.ordinal.dev/ready': 'false' } },
    });
    const rest = all.filter((ip) => ip !== podIP(db1));
    await waitFor(async () => ips(await q(`db.${ns}.svc.cluster.local`, 'A')).join() === rest.join());
    expect((await q(`db-1.db.${ns}.svc.cluster.local`, 'A')).rcode).toBe('NXDOMAIN');

    await cluster.client.patch(SERVICES, ns, 'db', 'merge', { spec: { publishNotReadyAddresses: true } });
    await waitFor(async () => ips(await q(`db.${ns}.svc.cluster.local`, 'A')).join() === all.join());
    expect(ips(await q(`db-1.db.${ns}.svc.cluster.local`, 'A'))).toEqual([podIP(db1)]);

    await cluster.client.patch(SERVICES, ns, 'db', 'merge', { spec: { publishNotReadyAddresses: false } });
    await cluster.client.patch(PODS, ns, 'db-1', 'merge', {
      metadata: { annotations: { 'sim.ordinal.dev/ready': 'true' } },
    });
    await waitFor(async () => ips(await q(`db.${ns}.svc.cluster.local`, 'A')).join() === all.join());
  });

  it('answers a ClusterIP service, SRV and PTR records', async () => {
    const web = await cluster.client.get(SERVICES, ns, 'web');
    const clusterIP = String((web.spec as { clusterIP: string }).clusterIP);
    expect(ips(await q(`WEB.${ns}.svc.Cluster.Local`, 'A'))).toEqual([clusterIP]);

    const srv = await q(`_http._tcp.web.${ns}.svc.cluster.local`, 'SRV');
    expect(data(srv.answers)).toEqual([
      { priority: 0, weight: 100, port: 80, target: `web.${ns}.svc.cluster.local` },
    ]);
    expect(data(srv.additionals)).toContain(clusterIP);

    const hs = await q(`_mysql._tcp.db.${ns}.svc.cluster.local`, 'SRV', true);
    const targets = data(hs.answers)
      .map((d) => (d as { target: string }).target)
      .sort();
    expect(targets).toEqual([0, 1, 2].map((i) => `db-${i}.db.${ns}.svc.cluster.local`));

    const rev = (ip: string): string => `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
    expect(data((await q(rev(clusterIP), 'PTR')).answers)).toEqual([`web.${ns}.svc.cluster.local`]);
    const db2 = podIP(await cluster.client.get(PODS, ns, 'db-2'));
    expect(data((await q(rev(db2), 'PTR')).answers)).toContain(`db-2.db.${ns}.svc.cluster.local`);
  });

  it('returns NXDOMAIN with the SOA for missing names, NODATA for other types', async () => {
    for (const name of [
      `nope.${ns}.svc.cluster.local`,
      `db-9.db.${ns}.svc.cluster.local`,
      'web.no-such-ns.svc.cluster.local',
      `_nope._tcp.web.${ns}.svc.cluster.local`,
    ]) {
      const r = await q(name, 'A');
      expect(r.rcode, name).toBe('NXDOMAIN');
      expect(r.authorities?.[0]?.type, name).toBe('SOA');
    }
    const nodata = await q(`web.${ns}.svc.cluster.local`, 'AAAA');
    expect(nodata.rcode).toBe('NOERROR');
    expect(nodata.answers).toEqual([]);
    expect(nodata.authorities?.[0]?.type).toBe('SOA');
    expect(data((await q('dns-version.cluster.local', 'TXT')).answers)).toEqual([[Buffer.from('1.1.0')]]);
    // No upstreams: names outside the zone fail.
    expect((await q('example.com', 'A')).rcode).toBe('SERVFAIL');
  });

  it('answers a malformed query with FORMERR, ignores runts, and keeps serving', async () => {
    const sock = createSocket('udp4');
    try {
      const replies: Buffer[] = [];
      sock.on('message', (m) => replies.push(m));
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      // A 12-byte header claiming one question that is not there, then a 3-byte runt.
      const bad = Buffer.from([0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xff]);
      sock.send(bad, dns.port, '127.0.0.1');
      sock.send(Buffer.from([1, 2, 3]), dns.port, '127.0.0.1');
      await waitFor(() => replies.length >= 1, 5_000, 'FORMERR reply');
      const reply = replies[0]!;
      expect(reply.readUInt16BE(0)).toBe(0xabcd);
      expect(reply.readUInt16BE(2) & 0x8000).toBe(0x8000);
      expect(reply.readUInt16BE(2) & 0xf).toBe(1); // FORMERR
    } finally {
      sock.close();
    }
    expect((await q(`web.${ns}.svc.cluster.local`, 'A')).rcode).toBe('NOERROR');
  });

  it('truncates a large UDP answer and serves it whole over TCP', async () => {
    const c = cluster.client;
    await c.create(SERVICES, ns, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'big' },
      spec: { clusterIP: 'None', ports: [{ name: 'p', port: 1 }] },
    });
    await c.create(ENDPOINTSLICES, ns, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'big-1', labels: { 'kubernetes.io/service-name': 'big' } },
      addressType: 'IPv4',
      ports: [{ name: 'p', port: 1, protocol: 'TCP' }],
      endpoints: Array.from({ length: 60 }, (_, i) => ({
        addresses: [`10.200.0.${i + 1}`],
        conditions: { ready: true },
      })),
    });
    const name = `big.${ns}.svc.cluster.local`;
    await waitFor(async () => ((await q(name, 'A', true)).answers?.length ?? 0) === 60);
    const udp = await q(name, 'A');
    expect(udp.flag_tc).toBe(true);
    expect(udp.raw.length).toBeLessThanOrEqual(512);
    expect(udp.answers?.length ?? 0).toBeLessThan(60);
    const edns = await query(HOST, dns.port, name, 'A', { edns: 4096 });
    expect(edns.flag_tc).toBe(false);
    expect(edns.answers).toHaveLength(60);
    const tcp = await q(name, 'A', true);
    expect(tcp.flag_tc).toBe(false);
    expect(tcp.answers).toHaveLength(60);
  });
});

// ---- forwarding ---------------------------------------------------------------------------

interface FakeUpstream {
  port: number;
  udpQueries: string[];
  tcpQueries: string[];
  stop(): Promise<void>;
}

/** A loopback DNS server answering `<n>.example.test` with n A records (TC over UDP when > 512 bytes). */
async function startFakeUpstream(): Promise<FakeUpstream> {
  const udpQueries: string[] = [];
  const tcpQueries: string[] = [];
  const reply = (raw: Buffer): Buffer => {
    const qp = dnsPacket.decode(raw);
    const name = qp.questions?.[0]?.name ?? '';
    const n = Number(name.split('.')[0]) || 1;
    return dnsPacket.encode({
      type: 'response',
      id: qp.id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: qp.questions,
      answers: Array.from({ length: n }, (_, i) => ({
        name,
        type: 'A' as const,
        ttl: 60,
        data: `192.0.2.${i + 1}`,
      })),
    });
  };
  const udp: Socket = createSocket('udp4');
  udp.on('message', (msg, r) => {
    udpQueries.push(dnsPacket.decode(msg).questions?.[0]?.name ?? '');
    const out = reply(msg);
    udp.send(out.length > 512 ? truncate(dnsPacket.decode(out), 512) : out, r.port, r.address);
  });
  await new Promise<void>((res) => udp.bind(0, HOST, () => res()));
  const port = udp.address().port;
  const tcp: Server = createServer((c) => {
    c.on('data', (buf: Buffer) => {
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
      tcpQueries.push(dnsPacket.decode(msg).questions?.[0]?.name ?? '');
      const out = reply(msg);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(out.length);
      c.end(Buffer.concat([len, out]));
    });
  });
  await new Promise<void>((res) => tcp.listen(port, HOST, () => res()));
  return {
    port,
    udpQueries,
    tcpQueries,
    async stop() {
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ]);
    },
  };
}

describe('forwarding names outside the zone', () => {
  let cluster: TestCluster;
  let up: FakeUpstream;
  let silent: Socket;
  let dns: ClusterDns;

  beforeAll(async () => {
    cluster = await startTestCluster({ nodes: 0 });
    up = await startFakeUpstream();
    silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, HOST, () => r()));
    // The silent upstream comes first: the server must give up on it and try the next.
    dns = await startClusterDns(cluster.client, {
      upstreams: [`${HOST}:${silent.address().port}`, `${HOST}:${up.port}`],
      upstreamTimeoutMs: 300,
    });
  });

  afterAll(async () => {
    await dns?.stop();
    await up?.stop();
    silent?.close();
    await cluster?.stop();
  });

  it('forwards to the upstream and relays its answer', async () => {
    const r = await query(HOST, dns.port, '2.example.test', 'A');
    expect(r.rcode).toBe('NOERROR');
    expect(ips(r)).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(up.udpQueries).toContain('2.example.test');
  });

  it('retries over TCP when the upstream truncates, and truncates again for a small UDP client', async () => {
    const tcp = await query(HOST, dns.port, '60.example.test', 'A', { tcp: true });
    expect(tcp.answers).toHaveLength(60);
    expect(up.tcpQueries).toContain('60.example.test');
    const udp = await query(HOST, dns.port, '60.example.test', 'A');
    expect(udp.flag_tc).toBe(true);
    expect(udp.raw.length).toBeLessThanOrEqual(512);
  });

  it('forwards reverse lookups of addresses that are not in the cluster', async () => {
    const r = await query(HOST, dns.port, '1.2.0.192.in-addr.arpa', 'PTR');
    expect(up.udpQueries).toContain('1.2.0.192.in-addr.arpa');
    expect(r.rcode).toBe('NOERROR');
  });

  it('answers an ExternalName service with a CNAME and the target resolved upstream', async () => {
    const ns = await cluster.namespace('dnsext');
    await cluster.client.create(SERVICES, ns, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ext' },
      spec: { type: 'ExternalName', externalName: '3.example.test' },
    });
    const name = `ext.${ns}.svc.cluster.local`;
    const r = await waitFor(async () => {
      const a = await query(HOST, dns.port, name, 'A');
      return a.rcode === 'NOERROR' && (a.answers?.length ?? 0) > 0 ? a : undefined;
    });
    expect(r.answers?.map((a) => a.type)).toEqual(['CNAME', 'A', 'A', 'A']);
    expect(data(r.answers)[0]).toBe('3.example.test');
  });

  it('answers SERVFAIL when no upstream answers', async () => {
    const lone = await startClusterDns(cluster.client, {
      upstreams: [`${HOST}:${silent.address().port}`],
      upstreamTimeoutMs: 200,
    });
    try {
      expect((await query(HOST, lone.port, 'example.test', 'A')).rcode).toBe('SERVFAIL');
    } finally {
      await lone.stop();
    }
  });

  it('reads upstreams from resolv.conf text', () => {
    expect(resolvConfNameservers('# x\nnameserver 10.0.0.2\nsearch a\nnameserver fe80::1%eth0\n')).toEqual([
      '10.0.0.2',
      'fe80::1',
    ]);
  });
});
